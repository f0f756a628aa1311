"""Which parts of the student each phase trains (the paper's freezing).

=====  =====================  ========================================  ==============
phase  trains                 frozen                                    default lr
=====  =====================  ========================================  ==============
1      LM                     lab encoder, KA attention / projection    2e-5
2      lab encoder + fusion   LM (all of it, embeddings included)       5e-5
3      LM + fusion            lab encoder                               2e-5
=====  =====================  ========================================  ==============

The ``single_phase`` schedule (an ablation) runs phase 3 alone and trains every
group (``train_all=True``).

"fusion" is the KA attention (and the lab projection where the student has
one). With LoRA, "LM" means the LoRA adapters only; the base weights stay frozen
in every phase.
"""

from __future__ import annotations

import logging

from torch import nn

from ctk.distill.modeling.student import ClinRaGenStudent
from ctk.errors import ConfigError

__all__ = ["PHASE_GROUPS", "PHASE_NAMES", "apply_phase"]

logger = logging.getLogger(__name__)

PHASE_GROUPS: dict[int, tuple[str, ...]] = {
    1: ("lm",),
    2: ("lab_encoder", "fusion"),
    3: ("lm", "fusion"),
}
PHASE_NAMES: dict[int, str] = {
    1: "note -> diagnosis + Rm",
    2: "labs + knowledge -> diagnosis + Rt",
    3: "note + KA tokens -> diagnosis + Rm + Rt",
}


def _is_lora(module: nn.Module) -> bool:
    return hasattr(module, "peft_config")


def apply_phase(student: ClinRaGenStudent, phase: int, *, train_all: bool = False) -> list[str]:
    """Set ``requires_grad`` for a phase; return the names of the trainable parameters.

    Args:
        student: The student (its ``lm`` may be a peft model).
        phase: 1, 2 or 3.
        train_all: Train every group (LM, lab encoder, fusion): the single-phase schedule.

    Raises:
        ConfigError: Unknown phase, or the phase has nothing to train (phase 2 on a
            notes-only student).
    """
    if phase not in PHASE_GROUPS:
        raise ConfigError(f"unknown phase {phase}", hint="use --phase 1, 2, 3 or all")
    student.requires_grad_(False)
    groups = student.module_groups()
    for name in ("lm", "lab_encoder", "fusion") if train_all else PHASE_GROUPS[phase]:
        for module in groups.get(name, []):
            if name == "lm" and _is_lora(module):
                for pname, param in module.named_parameters():
                    param.requires_grad_("lora_" in pname)
            else:
                module.requires_grad_(True)
    names = [n for n, p in student.named_parameters() if p.requires_grad]
    if not names:
        raise ConfigError(
            f"phase {phase} trains nothing on this student (no lab pathway?)",
            hint="phases 2 and 3 need a student with labs (student.use_labs: true)",
        )
    logger.info("phase %d (%s): %d trainable tensors", phase, PHASE_NAMES[phase], len(names))
    return names
