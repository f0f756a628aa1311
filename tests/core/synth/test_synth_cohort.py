"""The planted-signal synthetic cohort (ctk.synth): layout, determinism, signal."""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path

import pytest

from ctk.anomalies import detect_anomalies
from ctk.errors import ConfigError
from ctk.lab_variables import BENCHMARK_VARIABLES, PAPER_VARIABLES
from ctk.phenotypes import PHENOTYPE_NAMES, phenotype_by_name
from ctk.records import LabSeries
from ctk.synth import LAB_ONLY_PHENOTYPES, SynthSummary, load_profiles, write_synthetic_benchmark

HTN = "Essential hypertension"
DM = "Diabetes mellitus without complication"
RESP = "Respiratory failure; insufficiency; arrest (adult)"
SHOCK = "Shock"


@cache
def _pattern(name: str) -> re.Pattern[str]:
    p = phenotype_by_name(name)
    assert p is not None
    terms = sorted({p.name, p.short_name, *p.synonyms}, key=len, reverse=True)
    return re.compile("|".join(rf"\b{re.escape(t)}\b" for t in terms), re.IGNORECASE)


def _named(text: str) -> set[str]:
    return {n for n in PHENOTYPE_NAMES if _pattern(n).search(text)}


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _cohort(root: Path) -> list[tuple[Path, set[str], str]]:
    """(timeseries path, positive phenotypes, note text) of every stay."""
    out = []
    for split in ("train", "test"):
        notes = {r["stay"]: r["text"] for r in _read(root / split / "notes.csv")}
        for row in _read(root / split / "listfile.csv"):
            positives = {n for n in PHENOTYPE_NAMES if row[n] == "1"}
            out.append((root / split / row["stay"], positives, notes[row["stay"]]))
    return out


def _lab_series(path: Path) -> LabSeries:
    rows = _read(path)
    return LabSeries(
        variables=list(PAPER_VARIABLES),
        hours=[float(r["Hours"]) for r in rows],
        values=[[float(r[v]) if r[v] else None for r in rows] for v in PAPER_VARIABLES],
    )


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    root = tmp_path_factory.mktemp("synth300")
    return root, write_synthetic_benchmark(root, n=300, seed=7, note_noise=0.3)


def test_layout_headers_and_summary(cohort: tuple[Path, SynthSummary]) -> None:
    root, summary = cohort
    assert (summary.admissions, summary.train, summary.test, summary.seed) == (300, 240, 60, 7)
    assert "seed: 7" in (root / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in (root / "README.md").read_text(encoding="utf-8")
    counts = dict.fromkeys(PHENOTYPE_NAMES, 0)
    for split, expected in (("train", 240), ("test", 60)):
        with (root / split / "listfile.csv").open(encoding="utf-8") as f:
            header = next(csv.reader(f))
        assert header == ["stay", "period_length", *PHENOTYPE_NAMES]
        rows = _read(root / split / "listfile.csv")
        assert len(rows) == expected
        assert [r["stay"] for r in _read(root / split / "notes.csv")] == [r["stay"] for r in rows]
        for r in rows:
            assert re.fullmatch(r"\d+_episode1_timeseries\.csv", r["stay"])
            for n in PHENOTYPE_NAMES:
                assert r[n] in ("0", "1")
                counts[n] += int(r[n])
    assert counts == summary.phenotype_counts
    assert 0.3 < counts[HTN] / 300 < 0.55


def test_timeseries_files(cohort: tuple[Path, SynthSummary]) -> None:
    root, _ = cohort
    gcs_text = 0
    for path, _, _ in _cohort(root)[:40]:
        with path.open(encoding="utf-8") as f:
            header = next(csv.reader(f))
        assert header == ["Hours", *BENCHMARK_VARIABLES]
        rows = _read(path)
        hours = [float(r["Hours"]) for r in rows]
        assert hours == sorted(hours) and len(set(hours)) == len(hours)
        period = float(
            next(
                r["period_length"]
                for r in _read(path.parent / "listfile.csv")
                if r["stay"] == path.name
            )
        )
        assert hours[-1] < period
        for r in rows:
            for v in BENCHMARK_VARIABLES:
                cell = r[v]
                if not cell:
                    continue
                if v.startswith("Glascow") and v != "Glascow coma scale total":
                    gcs_text += 1
                    assert re.fullmatch(r"\d(\.0)? [A-Za-z].*", cell), cell
                else:
                    float(cell)
        hr = [r["Heart Rate"] for r in rows]
        assert 0.5 < sum(bool(c) for c in hr) / len(hr) < 1.0  # vitals hourly-ish with gaps
    assert gcs_text > 0


def test_deterministic_from_the_seed(tmp_path: Path) -> None:
    a = write_synthetic_benchmark(tmp_path / "a", n=25, seed=3)
    write_synthetic_benchmark(tmp_path / "b", n=25, seed=3)
    write_synthetic_benchmark(tmp_path / "c", n=25, seed=4)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.csv"))
    assert len(files) == 25 + 4
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    assert (tmp_path / "a/README.md").read_bytes() == (tmp_path / "b/README.md").read_bytes()
    for name in ("train/listfile.csv", "train/notes.csv"):
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes()
    stay = next((tmp_path / "a/train").glob("*_timeseries.csv")).name
    assert (tmp_path / "a/train" / stay).read_bytes() != (tmp_path / "c/train" / stay).read_bytes()
    assert a.test == 5


def test_note_noise_changes_notes_only(tmp_path: Path) -> None:
    write_synthetic_benchmark(tmp_path / "a", n=20, seed=5, note_noise=0.0, test_fraction=0.0)
    write_synthetic_benchmark(tmp_path / "b", n=20, seed=5, note_noise=0.5, test_fraction=0.0)
    same = ["train/listfile.csv", "train/10003_episode1_timeseries.csv"]
    for rel in same:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    assert (tmp_path / "a/train/notes.csv").read_bytes() != (
        tmp_path / "b/train/notes.csv"
    ).read_bytes()


def test_lab_only_phenotypes_are_never_named(cohort: tuple[Path, SynthSummary]) -> None:
    root, _ = cohort
    assert len(LAB_ONLY_PHENOTYPES) >= 4
    assert {HTN, DM, RESP, SHOCK} <= set(LAB_ONLY_PHENOTYPES)
    stays = _cohort(root)
    assert any(HTN in pos for _, pos, _ in stays)
    for _, _, text in stays:
        assert not (_named(text) & set(LAB_ONLY_PHENOTYPES))


def test_without_noise_notes_name_exactly_the_positives(tmp_path: Path) -> None:
    write_synthetic_benchmark(tmp_path, n=80, seed=11, note_noise=0.0)
    for _, positives, text in _cohort(tmp_path):
        assert _named(text) == positives - set(LAB_ONLY_PHENOTYPES)
        words = len(text.split())
        assert 120 < words < 500
        for header in (
            "Admission Date:",
            "Chief Complaint:",
            "History of Present Illness:",
            "Brief Hospital Course:",
            "Discharge Medications:",
            "Discharge Diagnosis:",
        ):
            assert header in text


def test_noise_leaves_out_positives_and_adds_negated_mentions(
    cohort: tuple[Path, SynthSummary],
) -> None:
    root, _ = cohort
    missed = extra = total = 0
    for _, positives, text in _cohort(root):
        named = _named(text)
        expected = positives - set(LAB_ONLY_PHENOTYPES)
        missed += len(expected - named)
        extra += len(named - expected)
        total += len(expected)
    assert 0.15 < missed / total < 0.45  # note_noise=0.3
    assert extra > 0


def test_planted_lab_signal(cohort: tuple[Path, SynthSummary]) -> None:
    root, _ = cohort
    checks = {
        HTN: ("Systolic blood pressure", "high"),
        DM: ("Glucose", "high"),
        RESP: ("Oxygen saturation", "low"),
        SHOCK: ("Mean blood pressure", "low"),
    }
    hits: dict[str, list[bool]] = {f"{n}{sign}": [] for n in checks for sign in "+-"}
    for path, positives, _ in _cohort(root):
        found = {(a.variable, a.direction) for a in detect_anomalies(_lab_series(path))}
        for name, key in checks.items():
            hits[f"{name}{'+' if name in positives else '-'}"].append(key in found)
    for name in checks:
        pos, neg = hits[f"{name}+"], hits[f"{name}-"]
        assert len(pos) >= 5, name
        assert sum(pos) / len(pos) > 0.7, name
        assert sum(neg) / len(neg) < 0.2, name


def test_profile_terms_name_their_own_phenotype_only() -> None:
    for profile in load_profiles().phenotypes:
        for term in profile.terms:
            assert _named(term) == {profile.name}, term
        for sentence in profile.course + profile.medications + profile.complaints:
            assert not _named(sentence.replace("{term}", "").replace("{Term}", "")), sentence


@pytest.mark.parametrize(
    "kwargs",
    [{"n": 0}, {"note_noise": 1.5}, {"test_fraction": -0.1}, {"max_hours": 5}],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, float]) -> None:
    args: dict[str, float] = {"n": 5, **kwargs}
    with pytest.raises(ConfigError):
        write_synthetic_benchmark(tmp_path, n=int(args.pop("n")), seed=0, **args)  # type: ignore[arg-type]
