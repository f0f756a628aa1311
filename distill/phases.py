"""Which parts of the student each phase trains (the paper's freezing).

=====  =====================  ========================================  ==============
phase  trains                 frozen                                    default lr
=====  =====================  ========================================  ==============
1      LM                     lab encoder, KA attention / projection    2e-5
2      lab encoder + fusion   LM (all of it, embeddings included)       5e-5
3      LM + fusion            lab encoder                               2e-5
=====  =====================  ========================================  ==============

The ``single_phase`` schedule (an ablation) runs phase 3 alone and trains every
group (``train_all=True``). A phase's ``train`` setting
(:class:`ctk.distill.config.PhaseConfig`) replaces the table's groups: ``init-tiny``
configs train the LM in phase 2 as well, because a tiny LM trained from scratch
in phase 1 has never modelled the lab rationale and the captions phase 2 asks of
it (frozen, its phase-2 losses stay above a uniform guess).

"fusion" is the KA attention (and the lab projection where the student has
one); "head" is the diagnosis classifier, where the student has one (not in
the paper: it trains in every phase). With LoRA, "LM" means the LoRA adapters
only; the base weights stay frozen in every phase.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from torch import nn

from ctk.distill.config import RunConfig
from ctk.distill.modeling.student import ClinRaGenStudent
from ctk.errors import ConfigError

__all__ = ["ALL_GROUPS", "PHASE_GROUPS", "PHASE_NAMES", "apply_phase", "check_phase_plan"]

logger = logging.getLogger(__name__)

PHASE_GROUPS: dict[int, tuple[str, ...]] = {
    1: ("lm", "head"),
    2: ("lab_encoder", "fusion", "head"),
    3: ("lm", "fusion", "head"),
}
ALL_GROUPS: tuple[str, ...] = ("lm", "lab_encoder", "fusion", "head")
PHASE_NAMES: dict[int, str] = {
    1: "note -> diagnosis + Rm",
    2: "labs + knowledge -> diagnosis + Rt",
    3: "note + KA tokens -> diagnosis + Rm + Rt",
}


def _is_lora(module: nn.Module) -> bool:
    return hasattr(module, "peft_config")


def apply_phase(
    student: ClinRaGenStudent,
    phase: int,
    *,
    train_all: bool = False,
    groups: Sequence[str] | None = None,
) -> list[str]:
    """Set ``requires_grad`` for a phase; return the names of the trainable parameters.

    Args:
        student: The student (its ``lm`` may be a peft model).
        phase: 1, 2 or 3.
        train_all: Train every group (LM, lab encoder, fusion, head): the single-phase
            schedule.
        groups: The groups to train instead of the phase's default (``PhaseConfig.train``).

    Raises:
        ConfigError: Unknown phase, or the phase has nothing to train (phase 2 on a
            notes-only student, or an empty ``groups``).
    """
    if phase not in PHASE_GROUPS:
        raise ConfigError(f"unknown phase {phase}", hint="use --phase 1, 2, 3 or all")
    student.requires_grad_(False)
    modules = student.module_groups()
    chosen = ALL_GROUPS if train_all else (PHASE_GROUPS[phase] if groups is None else groups)
    for name in chosen:
        for module in modules.get(name, []):
            if name == "lm" and _is_lora(module):
                for pname, param in module.named_parameters():
                    param.requires_grad_("lora_" in pname)
            else:
                module.requires_grad_(True)
    names = [n for n, p in student.named_parameters() if p.requires_grad]
    if not names:
        what = ", ".join(chosen) if chosen else "no group"
        raise ConfigError(
            f"phase {phase} trains nothing on this student ({what}: every parameter frozen)",
            hint="phases 2 and 3 need a student with labs (student.use_labs: true); "
            "train.phases.N.train must name at least one part the student has",
        )
    logger.info("phase %d (%s): %d trainable tensors", phase, PHASE_NAMES[phase], len(names))
    return names


def check_phase_plan(cfg: RunConfig, phases: Sequence[int]) -> None:
    """Refuse, before any step, a run whose phases would train nothing.

    A phase trains nothing when its ``train`` groups name none of the parts this
    student has (``lab_encoder`` and ``fusion`` need ``use_labs``, ``head`` needs
    ``classifier``): every parameter would be frozen.

    Args:
        cfg: The run config.
        phases: The phases about to run.

    Raises:
        ConfigError: A phase would train nothing (names the phase and its groups).
    """
    s = cfg.student
    present = {"lm"}
    if s.use_labs:
        present |= {"lab_encoder", "fusion"}
    if s.classifier:
        present.add("head")
    single = cfg.train.schedule == "single_phase"
    for p in phases:
        configured = cfg.train.phases[p].train
        chosen = (
            ALL_GROUPS
            if single and p == 3
            else (PHASE_GROUPS[p] if configured is None else tuple(configured))
        )
        if not present & set(chosen):
            listed = ", ".join(chosen) if chosen else "nothing"
            raise ConfigError(
                f"phase {p} would train nothing: train.phases.{p}.train lists {listed}, "
                f"and this student has {', '.join(sorted(present))}",
                hint=f"name at least one of {', '.join(sorted(present))} in "
                f"train.phases.{p}.train (or drop the setting for the paper's default)",
            )
