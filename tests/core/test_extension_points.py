"""A new graph store and a new EHR source are added without editing any ctk file.

Each is one class and one registration (``STORES.register`` / ``EHR_SOURCES.register``,
or an entry point under ``ctk.stores`` / ``ctk.ehr_sources`` in another package);
``open_store``, ``ctk kg build``, ``import_cohort`` and ``ctk data import`` then use it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from cli_run import run

from ctk.ehr.sources import EHR_SOURCES, EHRSource, SourceOptions
from ctk.errors import ConfigError
from ctk.kg.stores import STORES, StoreOptions, open_store
from ctk.kg.stores.embedded import EmbeddedStore
from ctk.records import Admission, ClinicalNote
from ctk.report import ProblemReport

REPO = Path(__file__).resolve().parents[2]
PUBMED = REPO / "samples" / "corpora" / "pubmed_efetch_sample.xml"


class ToyStore(EmbeddedStore):
    """A store of the ``toy://`` scheme: an embedded store under a folder named in the URI."""

    opened: ClassVar[list[str]] = []

    @classmethod
    def from_spec(cls, spec: str, options: StoreOptions) -> ToyStore:
        cls.opened.append(spec)
        return cls(spec.removeprefix("toy://"), read_only=options.read_only)


class ToySource(EHRSource):
    """A format of one JSON file per admission: ``{"id": ..., "note": ...}``."""

    name: ClassVar[str] = "toy"
    options_taken: ClassVar[frozenset[str]] = frozenset({"testset"})

    def admissions(
        self,
        path: Path,
        options: SourceOptions,
        *,
        report: ProblemReport,
        details: dict[str, Any],
    ) -> Iterator[Admission]:
        for file in sorted(path.glob("*.json")):
            row = json.loads(file.read_text(encoding="utf-8"))
            details["files"] = details.get("files", 0) + 1
            yield Admission(
                admission_id=row["id"],
                subject_id=row["id"],
                source="toy",
                split="train",
                note=ClinicalNote(category="discharge", text=row["note"]),
            )


@pytest.fixture
def toy_store() -> Iterator[type[ToyStore]]:
    STORES.register("toy", ToyStore)
    ToyStore.opened.clear()
    yield ToyStore
    STORES.unregister("toy")


@pytest.fixture
def toy_source() -> Iterator[type[ToySource]]:
    EHR_SOURCES.register("toy", ToySource)
    yield ToySource
    EHR_SOURCES.unregister("toy")


def test_a_toy_store_is_opened_by_its_scheme(tmp_path: Path, toy_store: type[ToyStore]) -> None:
    with open_store(f"toy://{tmp_path / 'kg.db'}") as store:
        assert isinstance(store, ToyStore)
        assert store.stats().concepts == 0
    assert toy_store.opened == [f"toy://{tmp_path / 'kg.db'}"]


def test_ctk_kg_build_writes_into_a_toy_store(
    tmp_path: Path, toy_store: type[ToyStore], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = f"toy://{tmp_path / 'kg.db'}"
    code, _, err = run(["kg", "build", "--source", f"pubmed:{PUBMED}", "--store", spec], capsys)
    assert code == 0, err
    assert toy_store.opened == [spec]
    with EmbeddedStore(tmp_path / "kg.db", read_only=True) as store:
        assert store.stats().relations > 0


def test_an_unknown_scheme_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"no graph store for nosuch://") as e:
        open_store("nosuch://x")
    assert e.value.hint is not None and "bolt://" in e.value.hint


def _toy_files(folder: Path) -> Path:
    folder.mkdir()
    for i in (1, 2):
        (folder / f"{i}.json").write_text(
            json.dumps({"id": f"a{i}", "note": f"Note {i}: chest pain."}), encoding="utf-8"
        )
    return folder


def test_a_toy_ehr_source_imports_a_cohort(
    tmp_path: Path, toy_source: type[ToySource], capsys: pytest.CaptureFixture[str]
) -> None:
    from ctk.cohort import iter_admissions

    source = _toy_files(tmp_path / "toy")
    code, out, err = run(
        ["data", "import", str(source), "--format", "toy", "--out", str(tmp_path / "cohort")],
        capsys,
    )
    assert code == 0, err
    assert "imported 2 admissions" in out
    assert [a.admission_id for a in iter_admissions(tmp_path / "cohort")] == ["a1", "a2"]


def test_a_toy_source_refuses_an_option_it_does_not_take(
    tmp_path: Path, toy_source: type[ToySource]
) -> None:
    from ctk.ehr.importer import import_cohort

    source = _toy_files(tmp_path / "toy")
    with pytest.raises(ConfigError, match="--note-root does not apply to --format toy"):
        import_cohort("toy", source, tmp_path / "c", options=SourceOptions(note_root=source))


def test_an_unknown_format_lists_the_installed_ones(tmp_path: Path) -> None:
    from ctk.ehr.importer import import_cohort

    with pytest.raises(ConfigError, match="unknown source format 'nosuch'") as e:
        import_cohort("nosuch", tmp_path, tmp_path / "c")
    assert e.value.hint is not None and "mimic3-benchmark" in e.value.hint
