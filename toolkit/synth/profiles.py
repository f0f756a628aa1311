"""The planted-signal table: phenotype -> prevalence, note phrases, lab effects.

The table is data (``ctk/data/synth_profiles.yaml``), read into the typed models
below and checked on load: every benchmark phenotype appears once, boosts only
name earlier phenotypes, every course sentence has a ``{term}`` slot, and lab
effects name benchmark variables. ``docs/synthetic.md`` explains the design.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ctk.errors import ConfigError
from ctk.lab_variables import BENCHMARK_VARIABLES
from ctk.phenotypes import PHENOTYPE_NAMES

__all__ = [
    "LAB_ONLY_PHENOTYPES",
    "LabEffect",
    "PhenotypeProfile",
    "SynthProfiles",
    "load_profiles",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LabEffect(_Model):
    """One lab effect of a phenotype (or of the background).

    Attributes:
        kind: ``shift`` moves the stay's baseline by the given amount;
            ``episode`` sets runs of consecutive measurements to values drawn
            uniformly from ``[low, high]``.
        p: Probability that an ``episode`` effect shows in a positive stay.
        variables: Variable -> shift (``shift``) or ``[low, high]`` (``episode``).
            All variables of one episode effect share a measurement schedule.
    """

    kind: Literal["shift", "episode"]
    p: float = Field(default=1.0, ge=0.0, le=1.0)
    variables: dict[str, float | tuple[float, float]]

    @model_validator(mode="after")
    def _check(self) -> LabEffect:
        for name, value in self.variables.items():
            if name not in BENCHMARK_VARIABLES:
                raise ValueError(f"unknown lab variable {name!r}")
            if self.kind == "shift" and not isinstance(value, float | int):
                raise ValueError(f"a shift effect needs a number for {name!r}")
            if self.kind == "episode" and (not isinstance(value, tuple) or value[0] > value[1]):
                raise ValueError(f"an episode effect needs [low, high] for {name!r}")
        return self


class PhenotypeProfile(_Model):
    """How one phenotype is sampled and how it shows in notes and labs.

    Attributes:
        name: Benchmark phenotype name.
        prevalence: Base probability of being positive.
        lab_only: Never named in a note; only the labs reveal it.
        boost: Earlier phenotype -> factor on ``prevalence`` when that one is positive.
        terms: Surface forms used in notes (each holds a synonym of the phenotype).
        course: Hospital-course sentences with a ``{term}`` slot.
        medications: Discharge medications listed when the phenotype is mentioned.
        complaints: Chief complaints it can cause.
        labs: Lab effects in positive stays.
    """

    name: str
    prevalence: float = Field(ge=0.0, le=1.0)
    lab_only: bool = False
    boost: dict[str, float] = Field(default_factory=dict)
    terms: tuple[str, ...] = ()
    course: tuple[str, ...] = ()
    medications: tuple[str, ...] = ()
    complaints: tuple[str, ...] = ()
    labs: tuple[LabEffect, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> PhenotypeProfile:
        if self.name not in PHENOTYPE_NAMES:
            raise ValueError(f"unknown phenotype {self.name!r}")
        if self.lab_only and (self.terms or self.course or self.medications or self.complaints):
            raise ValueError(f"lab-only phenotype {self.name!r} must have no note phrases")
        if not self.lab_only and not (self.terms and self.course):
            raise ValueError(f"phenotype {self.name!r} needs terms and course sentences")
        for sentence in self.course:
            if "{term}" not in sentence and "{Term}" not in sentence:
                raise ValueError(f"course sentence without {{term}} for {self.name!r}")
        return self


class SynthProfiles(_Model):
    """The whole planted-signal table.

    Attributes:
        format_version: Table format version (1).
        phenotypes: The 25 profiles in sampling order.
        background: Spurious lab episodes any stay may show.
    """

    format_version: Literal[1] = 1
    phenotypes: tuple[PhenotypeProfile, ...]
    background: tuple[LabEffect, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> SynthProfiles:
        names = [p.name for p in self.phenotypes]
        if sorted(names) != sorted(PHENOTYPE_NAMES):
            missing = sorted(set(PHENOTYPE_NAMES) - set(names))
            raise ValueError(f"every phenotype must appear exactly once (missing: {missing})")
        seen: set[str] = set()
        for p in self.phenotypes:
            for driver in p.boost:
                if driver not in seen:
                    raise ValueError(
                        f"{p.name!r} boosts on {driver!r}, which is not listed before it"
                    )
            seen.add(p.name)
        return self

    def by_name(self) -> dict[str, PhenotypeProfile]:
        """Profiles keyed by phenotype name."""
        return {p.name: p for p in self.phenotypes}

    @property
    def lab_only(self) -> tuple[str, ...]:
        """Lab-only phenotypes in the benchmark's column order."""
        flagged = {p.name for p in self.phenotypes if p.lab_only}
        return tuple(n for n in PHENOTYPE_NAMES if n in flagged)


def load_profiles(path: str | Path | None = None) -> SynthProfiles:
    """Read a planted-signal table; the built-in one when ``path`` is None.

    Args:
        path: A YAML file in the format of ``ctk/data/synth_profiles.yaml``.

    Returns:
        The validated table.

    Raises:
        ConfigError: The file is not valid YAML or breaks the table's rules.
    """
    if path is None:
        return _builtin_profiles()
    return _parse(Path(path).read_text(encoding="utf-8"), str(path))


@cache
def _builtin_profiles() -> SynthProfiles:
    text = resources.files("ctk.data").joinpath("synth_profiles.yaml").read_text(encoding="utf-8")
    return _parse(text, "ctk/data/synth_profiles.yaml")


def _parse(text: str, source: str) -> SynthProfiles:
    try:
        raw = yaml.safe_load(text)
        return SynthProfiles.model_validate(raw)
    except (yaml.YAMLError, ValidationError) as e:
        raise ConfigError(
            f"{source}: invalid planted-signal table: {e}",
            hint="compare with ctk/data/synth_profiles.yaml and docs/synthetic.md",
        ) from e


#: Phenotypes the notes never name (positive or negated): only the labs reveal them.
LAB_ONLY_PHENOTYPES: tuple[str, ...] = _builtin_profiles().lab_only
