"""Versioned records exchanged between ctk's parts.

Every record is a pydantic v2 model with a ``schema_version``; files written by
ctk carry it so that a later ctk can read them or refuse with a clear error
(see ``docs/formats.md``).

EHR side: :class:`Admission` (one hospital admission: note, lab series,
phenotype labels, split), :class:`ClinicalNote`, :class:`LabSeries`.
Knowledge side: :class:`Concept`, :class:`Relation`, :class:`Evidence`.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ctk.phenotypes import PHENOTYPE_NAMES

__all__ = [
    "CONCEPT_TYPES",
    "RELATION_TYPES",
    "TEMPLATE_LABEL",
    "Admission",
    "CitedFact",
    "ClinicalNote",
    "Concept",
    "ConceptType",
    "Evidence",
    "GateFinding",
    "LabSeries",
    "PluginStamp",
    "Rationale",
    "Relation",
    "RelationType",
    "Split",
    "VocabEntry",
    "strip_template_label",
]

Split = Literal["train", "val", "test"]

#: Prefix of every rationale the ``template`` backend writes: provenance (no language
#: model wrote this), not rationale text.
TEMPLATE_LABEL = "[template rationale, no language model]"


def strip_template_label(text: str) -> str:
    """``text`` without the template backend's provenance label, whitespace tidied.

    What a student learns from (and is scored against) is the rationale, not the
    label; the record's ``backend`` field keeps the provenance.
    """
    if TEMPLATE_LABEL not in text:
        return text
    return " ".join(text.replace(TEMPLATE_LABEL, " ").split())


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, validate_assignment=False)


class ClinicalNote(_Record):
    """A clinical note and the sections ctk found in it.

    Attributes:
        text: The full note text (what the model reads when no section is chosen).
        sections: Section title (lower case, e.g. ``"brief hospital course"``) -> text.
        category: Note category as the source names it ("Discharge summary").
    """

    text: str
    sections: dict[str, str] = Field(default_factory=dict)
    category: str | None = None

    def main_text(self, section: str = "brief hospital course") -> str:
        """The named section if present and not empty, else the whole text."""
        body = self.sections.get(section, "").strip()
        return body or self.text


class LabSeries(_Record):
    """Lab and vital-sign values of one admission on an hourly grid.

    ``values[i][t]`` is variable ``variables[i]`` at hour ``hours[t]``; ``None``
    means not measured. NaN and infinite values are refused: loaders turn them into
    ``None`` and report them.

    Attributes:
        variables: Variable names (benchmark spelling), one row each.
        hours: Hours since ICU admission (or admission), ascending.
        values: A ``len(variables) x len(hours)`` grid, ``None`` where missing.
    """

    variables: list[str]
    hours: list[float]
    values: list[list[float | None]]

    @model_validator(mode="after")
    def _check_shape(self) -> LabSeries:
        if len(self.values) != len(self.variables):
            raise ValueError(
                f"values has {len(self.values)} rows but there are {len(self.variables)} variables"
            )
        n = len(self.hours)
        for name, row in zip(self.variables, self.values, strict=True):
            if len(row) != n:
                raise ValueError(f"variable {name!r} has {len(row)} values for {n} hours")
            for v in row:
                if v is not None and not math.isfinite(v):
                    raise ValueError(f"variable {name!r} holds a non-finite value ({v})")
        if any(b < a for a, b in zip(self.hours, self.hours[1:], strict=False)):
            raise ValueError("hours must be ascending")
        return self

    @property
    def n_hours(self) -> int:
        """Number of time steps."""
        return len(self.hours)

    def series(self, variable: str) -> list[float | None]:
        """The values of one variable (raises KeyError when absent)."""
        try:
            return self.values[self.variables.index(variable)]
        except ValueError:
            raise KeyError(variable) from None

    def observed_fraction(self, variable: str) -> float:
        """Share of time steps where the variable was measured (0 when no steps)."""
        row = self.series(variable)
        return sum(v is not None for v in row) / len(row) if row else 0.0


class Admission(_Record):
    """One hospital admission (or ICU episode) of a cohort.

    Attributes:
        schema_version: Record format version.
        admission_id: Unique id within the cohort (``hadm_id``, or the benchmark's
            ``{subject}_episode{n}`` stay name).
        subject_id: Patient id, where known.
        source: Where the record came from (``mimic3-benchmark``, ``mimic3``,
            ``mimic4``, ``synthetic``).
        split: ``train``/``val``/``test``, where assigned.
        note: The clinical note, where available.
        labs: The lab series, where available.
        phenotypes: Names of the positive phenotypes (benchmark spelling).
        icd_codes: The diagnosis codes behind the labels (``icd9:4280``), where known.
        hadm_id: The hospital admission id, where known (raw MIMIC sources; with the
            benchmark-exact cohort ``admission_id`` is the benchmark's stay name).
    """

    schema_version: Literal[1] = 1
    admission_id: str
    subject_id: str | None = None
    source: str = "unknown"
    split: Split | None = None
    note: ClinicalNote | None = None
    labs: LabSeries | None = None
    phenotypes: list[str] = Field(default_factory=list)
    icd_codes: list[str] = Field(default_factory=list)
    hadm_id: str | None = None

    @field_validator("phenotypes")
    @classmethod
    def _known_phenotypes(cls, names: list[str]) -> list[str]:
        unknown = [n for n in names if n not in PHENOTYPE_NAMES]
        if unknown:
            raise ValueError(f"unknown phenotype name(s): {unknown}")
        # canonical order, no duplicates
        return [n for n in PHENOTYPE_NAMES if n in set(names)]

    def label_vector(self) -> list[int]:
        """The 25 labels as 0/1 in the benchmark's column order."""
        positives = set(self.phenotypes)
        return [int(n in positives) for n in PHENOTYPE_NAMES]


# --------------------------------------------------------------------------- knowledge

ConceptType = Literal["disease", "symptom", "finding", "lab_test", "drug", "procedure", "other"]
CONCEPT_TYPES: tuple[str, ...] = (
    "disease",
    "symptom",
    "finding",
    "lab_test",
    "drug",
    "procedure",
    "other",
)

RelationType = Literal["causes", "symptom_of", "treats", "diagnosed_by", "associated_with"]
RELATION_TYPES: tuple[str, ...] = (
    "causes",
    "symptom_of",
    "treats",
    "diagnosed_by",
    "associated_with",
)


class Concept(_Record):
    """A medical concept, a node of the knowledge graph.

    Attributes:
        id: Stable id, ``namespace:local`` (``ctk:heart_failure``, ``icd9:4280``).
        name: Canonical name.
        type: Concept type.
        synonyms: Other surface forms.
        mentions: How many sentences mention it in the corpus built so far.
    """

    id: str
    name: str
    type: ConceptType
    synonyms: list[str] = Field(default_factory=list)
    mentions: int = 0


class Evidence(_Record):
    """Where a relation was seen: one sentence of one document.

    Attributes:
        source: ``pubmed``, ``wikipedia`` or ``text``.
        document_id: PMID, Wikipedia page title, or the text document's id.
        sentence: The sentence itself.
        year: Publication year, where known.
    """

    source: str
    document_id: str
    sentence: str
    year: int | None = None


class Relation(_Record):
    """A typed, weighted edge between two concepts, with its evidence.

    Attributes:
        id: Stable fact id, ``source_id|type|target_id`` (:meth:`make_id`), cited by
            rationales.
        source_id: Id of the subject concept.
        target_id: Id of the object concept.
        type: Relation type.
        count: Number of documents supporting it (a document that pairs the two
            concepts in several sentences counts once; see docs/knowledge-graph.md).
        weight: Association weight (NPMI in [-1, 1] for co-occurrence edges).
        evidence: Up to a capped number of supporting sentences.
    """

    id: str
    source_id: str
    target_id: str
    type: RelationType
    count: int = 1
    weight: float = 0.0
    evidence: list[Evidence] = Field(default_factory=list)

    @staticmethod
    def make_id(source_id: str, type: str, target_id: str) -> str:
        """The fact id of an edge: stable across builds and stores."""
        return f"{source_id}|{type}|{target_id}"


class VocabEntry(_Record):
    """One concept of the knowledge vocabulary V_k the student attends to.

    A V_k file (``ctk kg vocab --out FILE``) is JSONL: a header line
    ``{"kind": "ctk.vocab", "format_version": 1, ...}`` then one entry per line,
    best first.

    Attributes:
        id: Concept id in the graph.
        name: The name the student's tokenizer embeds.
        type: Concept type.
        weight: Ranking score (see ``docs/formats.md``).
    """

    id: str
    name: str
    type: ConceptType
    weight: float


class CitedFact(_Record):
    """A graph fact a rationale relies on."""

    fact_id: str
    claim: str = ""


class PluginStamp(_Record):
    """Which plugin made something: its name, distribution, version and options.

    Attributes:
        name: The plugin's registry name (``graph``, ``openai``).
        distribution: The installed package that ships it; None for a class
            registered in Python without being installed.
        version: That package's version, where known.
        options: The plugin's options that shape its output, as JSON; options that
            hold secrets (API keys) are never written.
        settings: Its options that only change how it runs (timeouts, retries,
            batch sizes, a server's address); not compared on resume.
    """

    name: str
    distribution: str | None = None
    version: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)

    def same_setup(self, other: PluginStamp) -> bool:
        """Same plugin and options (versions and run settings may differ)."""
        return self.name == other.name and self.options == other.options


class GateFinding(_Record):
    """Why the quality gate refused a teacher answer (one reason, one place).

    Attributes:
        reason: A short code: ``truncated``, ``repeated_claim``, ``claim_off_fact``,
            ``no_concept``, ``diagnosis_outside_labels``, ``empty_answer``, ``not_json``,
            ``wrong_shape``, ``unknown_fact``, ``no_evidence``, ``unsupported_pair``,
            ``no_graph_claim``, ``repeated_phrase``, ... (see
            :mod:`ctk.teacher.gate`).
        detail: What was wrong, for a person; quotes at most a short piece of the
            model's own output, never note text.
        fact_id: The cited fact concerned, where the finding is about one.
    """

    reason: str = Field(min_length=1)
    detail: str = ""
    fact_id: str | None = None


class Rationale(_Record):
    """A teacher's rationale for one admission: one line of a rationale file.

    Version 2 adds ``retriever`` and ``llm`` (provenance); version 3 adds the
    ``rejected`` status, ``gate_reasons`` and ``repaired``. Records of versions 1
    and 2 are still read.

    Attributes:
        schema_version: Record format version (1, 2 or 3; ctk writes 3).
        admission_id: The admission explained.
        status: ``ok`` (passed the quality gate); ``failed`` with ``error`` saying why
            (the backend could not answer; the run goes on); ``rejected``: the backend
            answered, but the answer failed the quality gate even after one repair
            (``gate_reasons`` says why). Training reads ``ok`` records only.
        diagnoses: Phenotype names the rationale explains (the true ones at training time).
        note_rationale: Rm, the explanation from the clinical note.
        lab_rationale: Rt, the explanation from the lab anomalies.
        cited_facts: Graph facts cited; each must be among the evidence given.
        evidence_ids: Ids of all evidence records the teacher was given.
        anomaly_captions: The lab anomaly captions the teacher saw.
        backend: LLM backend name (``template`` marks model-free rationales).
        model: Model name, where any.
        prompt_version: Prompt template id and version.
        input_hash: Hash of the full input (cache key).
        usage: Token accounting (prompt_tokens, completion_tokens).
        error: Why a failed record failed.
        retriever: The retriever that found the evidence, with its version and options.
        llm: The LLM backend that wrote the answer, with its version and options.
        gate_reasons: Why the quality gate refused the (last) answer. For ``ok``
            records: empty, except the grounded prompt's sentences of the model's own
            that ctk dropped (details starting ``dropped:``).
        repaired: The answer went through the repair prompt.
    """

    schema_version: Literal[1, 2, 3] = 3
    admission_id: str
    status: Literal["ok", "failed", "rejected"] = "ok"
    diagnoses: list[str] = Field(default_factory=list)
    note_rationale: str = ""
    lab_rationale: str = ""
    cited_facts: list[CitedFact] = Field(default_factory=list)
    evidence_ids: list[str] = Field(default_factory=list)
    anomaly_captions: list[str] = Field(default_factory=list)
    backend: str = ""
    model: str | None = None
    prompt_version: str = ""
    input_hash: str = ""
    usage: dict[str, int] = Field(default_factory=dict)
    error: str | None = None
    retriever: PluginStamp | None = None
    llm: PluginStamp | None = None
    gate_reasons: list[GateFinding] = Field(default_factory=list)
    repaired: bool = False
