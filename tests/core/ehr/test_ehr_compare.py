"""``ctk data compare``: a benchmark-exact cohort against the benchmark's listfiles."""

from __future__ import annotations

from pathlib import Path

import pytest
from mimic3_tables import write_benchmark_case

from ctk.cli.main import main
from ctk.ehr.compare import compare_with_benchmark
from ctk.ehr.importer import SourceOptions, import_cohort
from ctk.errors import ConfigError
from ctk.phenotypes import PHENOTYPE_NAMES

CHF = "Congestive heart failure; nonhypertensive"
RESP = "Respiratory failure; insufficiency; arrest (adult)"
HTN = "Essential hypertension"

# What the benchmark's create_phenotyping writes for write_benchmark_case's tables
# (worked out by hand from its rules; see test_ehr_benchmark_cohort.py).
BENCHMARK = {
    "train": {"100_episode1": [HTN], "203_episode1": [RESP], "207_episode2": [HTN]},
    "test": {"10000_episode1": [CHF], "10000_episode2": [HTN]},
}


def _listfiles(root: Path, rows: dict[str, dict[str, list[str]]]) -> Path:
    for split, stays in rows.items():
        folder = root / split
        folder.mkdir(parents=True)
        lines = ["stay,period_length," + ",".join(PHENOTYPE_NAMES)]
        for stay, labels in stays.items():
            flags = ",".join("1" if n in labels else "0" for n in PHENOTYPE_NAMES)
            lines.append(f"{stay}_timeseries.csv,48.000000,{flags}")
        (folder / "listfile.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("raw")
    write_benchmark_case(raw)
    out = tmp_path_factory.mktemp("cohort")
    import_cohort("mimic3", raw, out, overwrite=True)
    return out


def test_identical_cohort(cohort: Path, tmp_path: Path) -> None:
    result = compare_with_benchmark(cohort, benchmark_root=_listfiles(tmp_path, BENCHMARK))
    assert result.identical and result.matched == 5


def test_added_missing_and_label_difference(cohort: Path, tmp_path: Path) -> None:
    theirs = {
        "train": {"100_episode1": [HTN], "203_episode1": [RESP], "999_episode1": [CHF]},
        "test": {"10000_episode1": [CHF, RESP], "10000_episode2": [HTN]},
    }  # 207_episode2 missing (added in ctk), 999_episode1 extra, 10000_episode1 has RESP
    result = compare_with_benchmark(cohort, benchmark_root=_listfiles(tmp_path, theirs))
    assert not result.identical and result.matched == 4
    assert [a.admission_id for a in result.only_in_cohort] == ["207_episode2"]
    assert result.only_in_cohort[0].codes == ["icd9:4019"]
    assert [a.admission_id for a in result.only_in_benchmark] == ["999_episode1"]
    (diff,) = result.label_differences
    assert (diff.admission_id, diff.phenotype, diff.positive_in) == (
        "10000_episode1",
        RESP,
        "benchmark",
    )
    assert diff.cohort_codes == [] and diff.benchmark_codes is None  # no data/root given


def test_benchmark_codes_from_its_subject_folders(cohort: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    theirs = {"train": {}, "test": {"10000_episode1": [CHF, RESP], "10000_episode2": [HTN]}}
    _listfiles(data / "phenotyping", theirs)
    subject = data / "root" / "test" / "10000"
    subject.mkdir(parents=True)
    (subject / "stays.csv").write_text(
        "SUBJECT_ID,HADM_ID,ICUSTAY_ID\n10000,2001,3001\n10000,2006,3006\n"
    )
    (subject / "diagnoses.csv").write_text(
        "SUBJECT_ID,HADM_ID,SEQ_NUM,ICD9_CODE,ICUSTAY_ID\n10000,2001,1,4280,3001\n10000,2001,2,5185,3001\n"
    )
    result = compare_with_benchmark(cohort, benchmark_root=data)
    diff = next(d for d in result.label_differences if d.phenotype == RESP)
    assert diff.benchmark_codes == ["5185"]  # the code ctk dropped (not in D_ICD_DIAGNOSES)
    assert "5185" in " ".join(result.lines())


def test_cli_exit_codes(cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    same = _listfiles(tmp_path / "same", BENCHMARK)
    other = {"train": BENCHMARK["train"], "test": {"10000_episode1": [CHF]}}
    differs = _listfiles(tmp_path / "differs", other)

    def run(argv: list[str]) -> int:
        try:
            main(argv)
        except SystemExit as e:
            return int(e.code or 0)
        return 0

    assert run(["data", "compare", str(cohort), "--benchmark-root", str(same)]) == 0
    assert "identical" in capsys.readouterr().out
    listfile = str(differs / "test" / "listfile.csv")
    assert run(["data", "compare", str(cohort), "--listfile", listfile]) == 1
    out = capsys.readouterr().out
    assert "only in cohort: 10000_episode2" in out and "DIFFERENT" in out
    assert run(["data", "compare", str(cohort)]) == 2  # neither source: a user error


def test_wide_cohort_is_refused(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_benchmark_case(raw)
    import_cohort("mimic3", raw, tmp_path / "wide", options=SourceOptions(cohort="wide"))
    with pytest.raises(ConfigError, match="benchmark stays"):
        compare_with_benchmark(
            tmp_path / "wide", benchmark_root=_listfiles(tmp_path / "b", BENCHMARK)
        )
