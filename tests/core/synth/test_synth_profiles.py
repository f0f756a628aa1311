"""The planted-signal table (ctk.synth.profiles) and the docs that describe it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctk.errors import ConfigError
from ctk.phenotypes import PHENOTYPE_NAMES
from ctk.synth import LAB_ONLY_PHENOTYPES, load_profiles

DOCS = Path(__file__).resolve().parents[3] / "docs" / "synthetic.md"


def test_builtin_table_covers_every_phenotype() -> None:
    table = load_profiles()
    assert sorted(p.name for p in table.phenotypes) == sorted(PHENOTYPE_NAMES)
    assert table.lab_only == LAB_ONLY_PHENOTYPES
    for name in LAB_ONLY_PHENOTYPES:
        profile = table.by_name()[name]
        assert profile.labs and any(e.kind == "episode" for e in profile.labs)


def test_docs_list_the_lab_only_phenotypes() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name in LAB_ONLY_PHENOTYPES:
        assert name in text


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace("  - name: Shock\n", "  - name: Shocks\n"), "unknown phenotype"),
        (lambda s: s.replace("{Glucose: [195, 330]}", "{Glucose: [330, 195]}"), "low, high"),
        (lambda s: s.replace("Heart Rate: [30, 39]", "Pulse: [30, 39]"), "unknown lab variable"),
        (lambda s: s.replace("boost: {Disorders of lipid", "boost: {Shock"), "not listed before"),
        (lambda s: s + "\n  - [unclosed", "invalid"),
    ],
)
def test_bad_tables_are_refused(tmp_path: Path, edit: object, message: str) -> None:
    builtin = Path(__file__).resolve().parents[3] / "toolkit" / "data" / "synth_profiles.yaml"
    bad = tmp_path / "profiles.yaml"
    bad.write_text(edit(builtin.read_text(encoding="utf-8")), encoding="utf-8")  # type: ignore[operator]
    with pytest.raises(ConfigError, match=message):
        load_profiles(bad)
