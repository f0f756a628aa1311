"""LoRA on the student's LM (peft), merged into plain weights on export."""

from __future__ import annotations

import warnings
from typing import Any

from ctk.distill.config import LoraSettings
from ctk.distill.modeling.student import ClinRaGenStudent
from ctk.errors import ConfigError

__all__ = ["EXTRA_TARGET_MODULES", "add_lora", "default_target_modules", "is_lora", "merge_lora"]

#: LoRA targets of the architectures peft's own table
#: (``TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING``) lacks; peft's table wins
#: where it has the model type.
EXTRA_TARGET_MODULES: dict[str, list[str]] = {
    "umt5": ["q", "v"],
    "phi3": ["qkv_proj"],
}


def is_lora(lm: Any) -> bool:
    """Whether ``lm`` is a peft model."""
    return hasattr(lm, "peft_config")


def default_target_modules(lm: Any) -> list[str]:
    """The LoRA targets of ``lm``'s architecture: peft's default, else :data:`EXTRA_TARGET_MODULES`.

    Raises:
        ConfigError: Neither has the architecture (set ``train.lora.target_modules``).
    """
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as PEFT

    model_type = str(getattr(lm.config, "model_type", ""))
    targets = PEFT.get(model_type) or EXTRA_TARGET_MODULES.get(model_type)
    if not targets:
        raise ConfigError(
            f"no default LoRA target modules for model type {model_type!r}",
            hint="set train.lora.target_modules to the LM's attention projection names",
        )
    return list(targets)


def add_lora(student: ClinRaGenStudent, settings: LoraSettings) -> ClinRaGenStudent:
    """Wrap the student's LM with LoRA adapters (in place).

    Args:
        student: The student.
        settings: Rank, alpha, dropout, target modules (None: the architecture's default).

    Returns:
        The same student, its ``lm`` now a peft model (seq2seq or causal).

    Raises:
        ConfigError: No module of the LM matches the target modules.
    """
    from peft import LoraConfig, get_peft_model

    if is_lora(student.lm):
        return student
    targets = list(settings.target_modules or default_target_modules(student.lm))
    config = LoraConfig(
        task_type="CAUSAL_LM" if student.is_causal else "SEQ_2_SEQ_LM",
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=targets,
    )
    try:
        with warnings.catch_warnings():
            # peft reads transformers' deprecated `is_gradient_checkpointing` (a FutureWarning
            # on every LoRA start that the user can do nothing about)
            warnings.filterwarnings(
                "ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning
            )
            student.lm = get_peft_model(student.lm, config)
    except ValueError as e:
        raise ConfigError(
            f"LoRA target modules {targets} do not match the LM: {e}",
            hint="T5 names its projections q, k, v, o, wi, wo; Llama/Qwen q_proj, v_proj, ...",
        ) from e
    return student


def merge_lora(student: ClinRaGenStudent) -> ClinRaGenStudent:
    """Merge the adapters into the LM weights and drop peft (in place)."""
    if is_lora(student.lm):
        student.lm = student.lm.merge_and_unload()
    return student
