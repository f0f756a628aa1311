"""The 25 CCS phenotypes of the MIMIC-III benchmark and ICD-9 -> phenotype mapping.

The table ships as package data (``ctk/data/phenotypes.json``): each phenotype's
CCS single-level category id, its benchmark name (the ``listfile.csv`` column),
a short name used in generated text, acute/chronic kind, synonyms and its ICD-9-CM
code set (from the benchmark's ``hcup_ccs_2015_definitions.yaml``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = [
    "PHENOTYPE_NAMES",
    "SAME_DISEASE_CCS",
    "Phenotype",
    "icd9_to_phenotypes",
    "normalise_icd9",
    "phenotype_by_name",
    "phenotypes",
]


@dataclass(frozen=True, slots=True)
class Phenotype:
    """One of the 25 benchmark phenotypes.

    Attributes:
        ccs: HCUP CCS single-level category id.
        name: The benchmark's name, also the ``listfile.csv`` column.
        short_name: A short lower-case name for generated text.
        kind: ``"acute"`` or ``"chronic"``.
        synonyms: Other names a note or paper may use.
        icd9_codes: ICD-9-CM diagnosis codes (no dots) in this category.
    """

    ccs: int
    name: str
    short_name: str
    kind: str
    synonyms: tuple[str, ...]
    icd9_codes: frozenset[str]


@cache
def phenotypes() -> tuple[Phenotype, ...]:
    """Return the 25 phenotypes in the benchmark's column order (alphabetical)."""
    raw = json.loads(
        resources.files("ctk.data").joinpath("phenotypes.json").read_text(encoding="utf-8")
    )
    return tuple(
        Phenotype(
            ccs=int(p["ccs"]),
            name=p["name"],
            short_name=p["short_name"],
            kind=p["kind"],
            synonyms=tuple(p["synonyms"]),
            icd9_codes=frozenset(p["icd9_codes"]),
        )
        for p in raw["phenotypes"]
    )


PHENOTYPE_NAMES: tuple[str, ...] = tuple(p.name for p in phenotypes())

#: Phenotypes (CCS category ids) that split one disease into mutually exclusive
#: groups: diabetes mellitus without (49) / with (50) complications, essential
#: hypertension (98) / hypertension with complications and secondary
#: hypertension (99). An ICD-9 code falls in exactly one group of each set.
SAME_DISEASE_CCS: tuple[frozenset[int], ...] = (frozenset({49, 50}), frozenset({98, 99}))


@cache
def _by_lower_name() -> dict[str, Phenotype]:
    table: dict[str, Phenotype] = {}
    for p in phenotypes():
        table[p.name.lower()] = p
        table[p.short_name.lower()] = p
    return table


def phenotype_by_name(name: str) -> Phenotype | None:
    """Find a phenotype by its benchmark name or short name (case-insensitive)."""
    return _by_lower_name().get(name.strip().lower())


@cache
def _icd9_index() -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for p in phenotypes():
        for code in p.icd9_codes:
            index.setdefault(code, []).append(p.name)
    return {code: tuple(names) for code, names in index.items()}


def normalise_icd9(code: str) -> str:
    """Normalise an ICD-9-CM code as MIMIC stores it: upper case, no dot, no spaces."""
    return code.strip().upper().replace(".", "")


def icd9_to_phenotypes(codes: Iterable[str]) -> set[str]:
    """Map ICD-9-CM diagnosis codes to the benchmark phenotype names they belong to.

    Args:
        codes: ICD-9-CM codes, with or without dots.

    Returns:
        The set of phenotype names (benchmark spelling) hit by any code.

    Example:
        >>> sorted(icd9_to_phenotypes(["4280", "4019"]))
        ['Congestive heart failure; nonhypertensive', 'Essential hypertension']
    """
    index = _icd9_index()
    hits: set[str] = set()
    for code in codes:
        hits.update(index.get(normalise_icd9(code), ()))
    return hits
