"""The student's rationales held to the knowledge graph: how much of what it writes the graph holds.

Reads a ``ctk distill eval`` folder (its ``predictions.jsonl``: the text each test
admission's student generated) and the knowledge graph, and applies what
``ctk diagnose --store`` applies to one admission: the rationale is restricted to
the predicted diagnoses (:func:`ctk.distill.rationale_consistency.restrict_rationale`),
then held to the graph (:func:`ctk.distill.rationale_claims.check_claims`), an
unfinished last sentence (cut by the length limit) dropped first. Per
split: sentences generated, rationales cut off, removed for naming an unpredicted phenotype, removed
for claiming what the graph does not hold, kept; concept pairs claimed and
supported in the restricted text, before the graph check (after it, every pair
left is supported). With ``--rationales`` the teacher's records of the same
admissions are held to the graph too (not restricted: they were written for the
true diagnoses), as the reference the student learnt from. Sentences are counted
by a plain split at ``.``, ``!`` and ``?``.

Usage::

    bash tools/demo.sh     # writes demo-output/eval and demo-output/kg.db
    python benchmarks/student_rationale_claims.py --eval demo-output/eval \\
        --store demo-output/kg.db --rationales demo-output/test-rationales.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ctk.distill.rationale_claims import shown_rationale
from ctk.distill.targets import split_generation
from ctk.kg.stores import StoreOptions, open_store
from ctk.records import strip_template_label
from ctk.teacher.concepts import ConceptLexicon


def _sentences(text: str) -> int:
    return len([s for s in text.replace("? ", ". ").replace("! ", ". ").split(". ") if s.strip()])


def count(texts: list[tuple[str, list[str] | None]], lexicon: ConceptLexicon) -> dict[str, Any]:
    """Sentences and concept pairs of rationales, before and after the restrictions.

    ``(rationale, predicted diagnoses)`` per admission; None instead of the diagnoses:
    the rationale is only held to the graph (the teacher's, written for the true
    diagnoses, may name related phenotypes in its graph facts).
    """
    totals = {
        "rationales": 0,
        "sentences": 0,
        "sentences_kept": 0,
        "unfinished": 0,
        "names_unpredicted": 0,
        "sentences_unsupported": 0,
        "pairs": 0,
        "pairs_supported": 0,
        "empty_after": 0,
    }
    for rationale, predicted in texts:
        shown = shown_rationale(rationale, predicted, lexicon)
        totals["rationales"] += 1
        totals["sentences"] += _sentences(rationale)
        totals["unfinished"] += int(bool(shown.unfinished))
        totals["names_unpredicted"] += int(bool(shown.unpredicted))
        totals["sentences_unsupported"] += len(shown.unsupported)
        totals["pairs"] += shown.pairs
        totals["pairs_supported"] += shown.supported
        totals["sentences_kept"] += _sentences(shown.text)
        totals["empty_after"] += int(not shown.text.strip())
    return totals


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Count, print a table, return the counts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval", type=Path, required=True, help="a `ctk distill eval` folder")
    parser.add_argument("--store", required=True, help="the knowledge graph (file or URI)")
    parser.add_argument("--rationales", type=Path, help="teacher rationale JSONL (reference)")
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in (args.eval / "predictions.jsonl").open()]
    student: list[tuple[str, list[str] | None]] = [
        (split_generation(r["text"])[1], r["predicted"]) for r in rows
    ]
    results: dict[str, Any] = {}
    with open_store(args.store, StoreOptions(read_only=True)) as store:
        lexicon = ConceptLexicon(store)
        results["student"] = count(student, lexicon)
        if args.rationales is not None:
            ids = {r["admission_id"] for r in rows}
            teacher: list[tuple[str, list[str] | None]] = []
            for line in args.rationales.open():
                rec = json.loads(line)
                if rec.get("admission_id") in ids and rec.get("status", "ok") == "ok":
                    rm = strip_template_label(rec.get("note_rationale", ""))
                    rt = strip_template_label(rec.get("lab_rationale", ""))
                    teacher.append((f"{rm} {rt}".strip(), None))
            results["teacher"] = count(teacher, lexicon)
    print(
        "| text | rationales | sentences | cut off (rationales) | naming an unpredicted "
        "phenotype (rationales) | sentences the graph does not hold | kept | empty after | "
        "pairs supported |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for who, t in results.items():
        share = f"{t['pairs_supported']}/{t['pairs']}" if t["pairs"] else "0/0"
        print(
            f"| {who} | {t['rationales']} | {t['sentences']} | {t['unfinished']} | "
            f"{t['names_unpredicted']} | "
            f"{t['sentences_unsupported']} | {t['sentences_kept']} | {t['empty_after']} | {share} |"
        )
    return results


if __name__ == "__main__":
    main()
