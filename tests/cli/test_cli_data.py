"""``ctk data`` through the real entry point: synth -> import -> stats, and user errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctk.cli.main import main
from ctk.phenotypes import PHENOTYPE_NAMES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ehr"
_OUT = ("--out", "{tmp}/C")


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = 0
    try:
        main(argv)
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_synth_import_stats_prints_all_25_phenotypes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("ctk.synth")
    s, c = str(tmp_path / "S"), str(tmp_path / "C")
    assert _run(["data", "synth", "--n", "40", "--seed", "1", "--out", s], capsys)[0] == 0
    code, out, _ = _run(["data", "import", "--format", "mimic3-benchmark", s, "--out", c], capsys)
    assert code == 0 and "imported 40 admissions" in out
    code, out, _ = _run(["data", "stats", c, "--json"], capsys)
    assert code == 0
    stats = json.loads(out)
    assert [p["name"] for p in stats["phenotypes"]] == list(PHENOTYPE_NAMES)
    assert stats["admissions"] == 40 and stats["notes_present"] == 40
    code, out, _ = _run(["data", "stats", c], capsys)
    assert code == 0 and "Lab missingness" in out
    flat = " ".join(out.split())
    assert all(name.split(" (")[0].split(";")[0] in flat for name in PHENOTYPE_NAMES)
    code, out, _ = _run(["data", "anomalies", c, "--limit", "2"], capsys)
    assert code == 0 and out.count("_episode") == 2


def test_import_prints_the_problem_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = str(tmp_path / "C")
    code, out, _ = _run(
        [
            "data",
            "import",
            "--format",
            "mimic3",
            "--cohort",
            "wide",
            str(FIXTURES / "mimic3_demo"),
            "--out",
            out_dir,
        ],
        capsys,
    )
    assert code == 0
    assert "imported 2 admissions" in out and "2 x non-finite value" in out
    assert "1 x events of admissions not imported" in out  # the counts are printed too
    manifest = json.loads((tmp_path / "C" / "manifest.json").read_text())
    assert manifest["problems"]["total"] == 15 and manifest["source"] == "mimic3"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["data", "import", "{tmp}/nope", "--out", "{tmp}/C"], "does not exist"),
        (["data", "import", "--format", "mimic5", "{tmp}", "--out", "{tmp}/C"], "unknown source"),
        (
            ["data", "import", "--format", "mimic3", "--cohort", "wide", "{tmp}/m3", *_OUT],
            "icd9_code",
        ),
        (["data", "import", "--format", "mimic3", "{tmp}/m3", "--out", "{tmp}/C"], "ICUSTAYS"),
        (
            ["data", "import", "--format", "mimic4", "--cohort", "wide", "{tmp}", *_OUT],
            "--cohort",
        ),
        (["data", "stats", "{tmp}/nope"], "does not exist"),
        (["data", "anomalies", "{tmp}", "--limit", "0"], "--limit"),
        (
            [
                "data",
                "import",
                "--format",
                "mimic3",
                "{tmp}/m3",
                "--note-root",
                "{tmp}",
                "--out",
                "{tmp}/C",
            ],
            "--note-root",
        ),
    ],
)
def test_user_errors_exit_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    m3 = tmp_path / "m3"
    m3.mkdir()
    (m3 / "ADMISSIONS.csv").write_text("subject_id,hadm_id,admittime\n1,2,2100-01-01 00:00:00\n")
    (m3 / "DIAGNOSES_ICD.csv").write_text("hadm_id,code\n2,4280\n")
    code, out, err = _run([a.replace("{tmp}", str(tmp_path)) for a in argv], capsys)
    assert code == 2
    assert message in " ".join((out + err).split())
    assert "Traceback" not in out + err


def test_import_help_lists_each_formats_options_under_its_heading(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    code, out, _ = _run(["data", "import", "--help"], capsys)
    assert code == 0
    benchmark = out.index("Options of --format mimic3-benchmark")
    raw = out.index("Options of --format mimic3 and mimic4")
    assert benchmark < out.index("--stays-root") < raw < out.index("--note-root")
    assert out.index("--overwrite") < benchmark  # the options of every format come first
