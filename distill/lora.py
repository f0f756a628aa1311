"""LoRA on the student's LM (peft), merged into plain weights on export."""

from __future__ import annotations

from typing import Any

from ctk.distill.config import LoraSettings
from ctk.distill.modeling.student import ClinRaGenStudent
from ctk.errors import ConfigError

__all__ = ["add_lora", "is_lora", "merge_lora"]


def is_lora(lm: Any) -> bool:
    """Whether ``lm`` is a peft model."""
    return hasattr(lm, "peft_config")


def add_lora(student: ClinRaGenStudent, settings: LoraSettings) -> ClinRaGenStudent:
    """Wrap the student's LM with LoRA adapters (in place).

    Args:
        student: The student.
        settings: Rank, alpha, dropout, target modules.

    Returns:
        The same student, its ``lm`` now a ``PeftModelForSeq2SeqLM``.

    Raises:
        ConfigError: No module of the LM matches ``target_modules``.
    """
    from peft import LoraConfig, get_peft_model

    if is_lora(student.lm):
        return student
    config = LoraConfig(
        task_type="SEQ_2_SEQ_LM",
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=list(settings.target_modules),
    )
    try:
        student.lm = get_peft_model(student.lm, config)
    except ValueError as e:
        raise ConfigError(
            f"LoRA target modules {settings.target_modules} do not match the LM: {e}",
            hint="T5 names its projections q, k, v, o, wi, wo; BART q_proj, v_proj, ...",
        ) from e
    return student


def merge_lora(student: ClinRaGenStudent) -> ClinRaGenStudent:
    """Merge the adapters into the LM weights and drop peft (in place)."""
    if is_lora(student.lm):
        student.lm = student.lm.merge_and_unload()
    return student
