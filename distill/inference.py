"""Diagnose one admission with a trained student (``ctk diagnose``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, Field
from transformers import LogitsProcessorList

from ctk.distill.constrained import DiagnosisConstraint, FactConstraint, vocabulary_index
from ctk.distill.data.collator import PhaseCollator
from ctk.distill.data.examples import DistillExample, example_from_admission
from ctk.distill.modeling.student import ClinRaGenStudent
from ctk.distill.rationale_claims import shown_rationale
from ctk.distill.targets import PhenotypeMatcher, parse_diagnoses, split_generation
from ctk.graph import GraphFact
from ctk.phenotypes import phenotype_by_name, phenotypes
from ctk.records import Admission

__all__ = [
    "GENERATION_DEFAULTS",
    "DiagnosisResult",
    "diagnose_admission",
    "generate_texts",
    "head_decisions",
    "head_probabilities",
    "load_student",
]


#: Generation defaults: no 6-token phrase twice and a mild repetition penalty, so that a
#: small student does not loop ("... and electrolyte disorders. and electrolyte ...").
#: Six tokens, not three: captions legitimately repeat "is higher than normal".
GENERATION_DEFAULTS: dict[str, Any] = {"no_repeat_ngram_size": 6, "repetition_penalty": 1.1}


class DiagnosisResult(BaseModel):
    """What the student says about one admission.

    Attributes:
        admission_id: The admission.
        diagnoses: Phenotypes recognised in the output (benchmark names).
        diagnoses_short: The same, short names.
        rationale: The generated rationale, restricted to the predicted diagnoses: the
            parts that name a phenotype outside ``diagnoses`` are removed
            (:func:`ctk.distill.rationale_consistency.restrict_rationale`).
        rationale_removed: The unpredicted phenotypes (benchmark names) the generated
            rationale named, whose parts were removed from ``rationale``.
        rationale_unfinished: An unfinished last sentence (cut by the length limit),
            removed from ``rationale``.
        rationale_unsupported: Sentences removed from ``rationale`` because the knowledge
            graph does not hold what they claim, filled in by the diagnose layer when a
            graph is given (:func:`ctk.distill.rationale_claims.check_claims`;
            ``ctk diagnose --store``).
        generated_text: The raw generated text (diagnoses and rationale as decoded).
        anomaly_captions: The lab anomalies of the admission (from its labs).
        knowledge_used: V_k concepts behind the prototypes the KA attention attended to most.
        graph_facts: Graph facts about the diagnoses, filled in by the diagnose layer
            when a knowledge graph is given (:func:`ctk.kg.facts.graph_facts_for`;
            ``ctk diagnose --store``): distill itself never reads the graph.
    """

    admission_id: str
    diagnoses: list[str] = Field(default_factory=list)
    diagnoses_short: list[str] = Field(default_factory=list)
    rationale: str = ""
    rationale_removed: list[str] = Field(default_factory=list)
    rationale_unfinished: str = ""
    rationale_unsupported: list[str] = Field(default_factory=list)
    generated_text: str = ""
    anomaly_captions: list[str] = Field(default_factory=list)
    knowledge_used: list[str] = Field(default_factory=list)
    graph_facts: list[GraphFact] = Field(default_factory=list)


def load_student(model_dir: str | Path, device: str | None = None) -> ClinRaGenStudent:
    """Load a saved student for inference (eval mode).

    Raises:
        CheckpointError: Not a student folder.
    """
    return ClinRaGenStudent.from_pretrained(model_dir, device=device)


def _device(student: ClinRaGenStudent) -> torch.device:
    return next(student.parameters()).device


def generate_texts(
    student: ClinRaGenStudent,
    examples: Sequence[DistillExample],
    *,
    batch_size: int = 16,
    max_new_tokens: int = 128,
    max_source_len: int = 512,
    num_beams: int = 1,
    phase: int | None = None,
    generation: dict[str, Any] | None = None,
    constrain: bool = True,
    use_head: bool | None = None,
) -> list[str]:
    """Generate the output text of each example (phase-3 inputs: note + lab tokens).

    The diagnosis part is decoded under :class:`ctk.distill.constrained.DiagnosisConstraint`
    (only the 25 phenotype names or ``none``); the rationale after it is free. A student
    with a diagnosis head chooses the diagnoses with the head and writes them as a forced
    prefix.

    Args:
        student: A student in eval mode.
        examples: Examples to read.
        batch_size: Examples per generate call.
        max_new_tokens: Generation length limit.
        max_source_len: Token limit of the note.
        num_beams: Beam width (1: greedy).
        phase: Whose inputs to build: 3 (note + labs), 2 (``lab_prompt`` + labs, no note)
            or 1 (note only); None: 3 when the student reads labs, else 1.
        generation: More ``generate`` keyword arguments (default
            :data:`GENERATION_DEFAULTS`: repetition control).
        constrain: Decode the diagnosis part under the phenotype grammar and, for a
            student with ``constrain_facts``, each stated fact under the grammar of its
            taught facts (False: free text, the paper's decoding).
        use_head: Let the diagnosis head choose the diagnoses (None: when the student has
            one; False: the text-only path, the decoder chooses).

    Returns:
        One decoded text per example, in order.
    """
    head = student.head is not None if use_head is None else use_head
    if head and student.head is None:
        raise ValueError("use_head=True, but this student has no diagnosis head")
    texts: list[str] = []
    for inputs in _input_batches(student, examples, batch_size, max_source_len, phase):
        extra: dict[str, Any] = {}
        if constrain or head:
            forced = head_decisions(student, *inputs) if head else None
            index = vocabulary_index(student.tokenizer)
            processors: list[Any] = [DiagnosisConstraint(index, forced=forced, num_beams=num_beams)]
            facts = student.config.student.rationale_facts
            if constrain and student.config.student.constrain_facts and facts:
                processors.append(FactConstraint(index, facts))
            extra["logits_processor"] = LogitsProcessorList(processors)
        ids = student.generate(
            *inputs,
            max_new_tokens=max_new_tokens,
            num_beams=num_beams,
            **{**GENERATION_DEFAULTS, **(generation or {}), **extra},
        )
        texts.extend(student.tokenizer.batch_decode(ids, skip_special_tokens=True))
    return texts


_Inputs = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]


def _input_batches(
    student: ClinRaGenStudent,
    examples: Sequence[DistillExample],
    batch_size: int,
    max_source_len: int,
    phase: int | None,
) -> Iterator[_Inputs]:
    """``(input_ids, attention_mask, labs, lab_mask)`` per batch, on the student's device.

    Also puts the student in eval mode. ``phase``: whose inputs (None: 3 with labs, else 1).
    """
    s = student.config.student
    collator = PhaseCollator(
        student.tokenizer,
        phase if phase is not None else (3 if student.uses_labs else 1),
        n_variables=len(s.lab_variables),
        use_labs=student.uses_labs,
        lab_prompt=s.lab_prompt,
        max_source_len=max_source_len,
        with_targets=False,
        causal=student.is_causal,
    )
    device = _device(student)
    student.eval()
    for i in range(0, len(examples), batch_size):
        batch = collator(examples[i : i + batch_size])
        yield (
            batch["input_ids"].to(device),
            batch["attention_mask"].to(device),
            batch["labs"].to(device) if "labs" in batch else None,
            batch["lab_mask"].to(device) if "lab_mask" in batch else None,
        )


def head_probabilities(
    student: ClinRaGenStudent,
    examples: Sequence[DistillExample],
    *,
    batch_size: int = 32,
    max_source_len: int = 512,
) -> torch.Tensor:
    """The diagnosis head's probabilities for each example (phase-3 inputs: note + labs).

    For choosing ``student.classifier_threshold`` on a validation split, or for scores
    that need no generation.

    Args:
        student: A student with a diagnosis head.
        examples: Examples to read.
        batch_size: Examples per forward pass.
        max_source_len: Token limit of the note.

    Returns:
        ``[len(examples), 25]`` probabilities (benchmark phenotype order), on the CPU.

    Raises:
        ValueError: The student has no diagnosis head.
    """
    rows = [
        student.classify(*inputs).cpu()
        for inputs in _input_batches(student, examples, batch_size, max_source_len, None)
    ]
    return torch.cat(rows) if rows else torch.zeros(0, len(phenotypes()))


def head_decisions(
    student: ClinRaGenStudent,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    labs: torch.Tensor | None = None,
    lab_mask: torch.Tensor | None = None,
) -> list[list[str]]:
    """Per example, the short names of the phenotypes the diagnosis head names.

    A phenotype is named when its probability exceeds ``student.classifier_threshold``.
    """
    probs = student.classify(input_ids, attention_mask, labs, lab_mask)
    threshold = student.config.student.classifier_threshold
    short = [p.short_name for p in phenotypes()]
    return [[short[j] for j in range(len(short)) if float(row[j]) > threshold] for row in probs]


def diagnose_admission(
    student: ClinRaGenStudent,
    admission: Admission,
    *,
    max_new_tokens: int = 128,
    matcher: PhenotypeMatcher | None = None,
    knowledge_top: int = 3,
    generation: dict[str, Any] | None = None,
) -> DiagnosisResult:
    """Diagnose one admission: diagnoses, rationale and the knowledge attended to.

    The rationale is kept consistent with the diagnoses: its parts that name a
    phenotype the student did not predict are removed (and listed in
    ``rationale_removed``), as is an unfinished last sentence cut by the length limit
    (``rationale_unfinished``); ``generated_text`` keeps the text as decoded.

    Args:
        student: A loaded student.
        admission: The admission (note and/or labs).
        max_new_tokens: Generation length limit.
        matcher: Phenotype name matcher (default exact + fuzzy).
        knowledge_top: Prototypes whose V_k names are reported.
        generation: More ``generate`` settings (default :data:`GENERATION_DEFAULTS`).

    Returns:
        The result.

    Example:
        >>> result = diagnose_admission(load_student("out/model"), admission)  # doctest: +SKIP
        >>> result.graph_facts = graph_facts_for(  # doctest: +SKIP
        ...     store, result.diagnoses, knowledge_used=result.knowledge_used)
    """
    s = student.config.student
    example = example_from_admission(admission, s.lab_variables, s.max_hours)
    text = generate_texts(
        student, [example], batch_size=1, max_new_tokens=max_new_tokens, generation=generation
    )[0]
    names = parse_diagnoses(text, matcher)
    _, generated_rationale = split_generation(text)
    shown = shown_rationale(generated_rationale, names)
    short: list[str] = []
    for n in names:
        p: Any = phenotype_by_name(n)
        short.append(p.short_name if p is not None else n)
    knowledge: list[str] = []
    if student.uses_labs and admission.labs is not None:
        knowledge = student.knowledge_used(top_prototypes=knowledge_top)
    return DiagnosisResult(
        admission_id=admission.admission_id,
        diagnoses=names,
        diagnoses_short=short,
        rationale=shown.text,
        rationale_removed=shown.unpredicted,
        rationale_unfinished=shown.unfinished,
        generated_text=text,
        anomaly_captions=example.captions,
        knowledge_used=knowledge,
    )
