"""Check teacher rationales against the knowledge graph (``ctk rationale check``).

For each ``ok`` rationale:

- **citations**: every cited id must exist in the graph: a fact id
  (``a|causes|b``) must be a stored relation; a chunk id (``a|causes|b#e0``) must
  be a stored relation with that evidence sentence;
- **claims**: each sentence of Rm and Rt (and each citation's claim) is scanned
  for graph concepts (names and synonyms, whole words, the longest mention winning:
  :mod:`ctk.teacher.concepts`); every pair of distinct concepts named in one
  sentence is a claim that the two are related, supported when the graph has an
  edge between them in either direction. The gate's ``unsupported_pair`` reason
  applies the same rule, so a record it kept counts no unsupported pair here.

The report gives per-admission and overall rates: citation validity (found /
cited) and claim support (supported pairs / pairs). A rationale naming no
concept pair has no support rate (it is neither good nor bad evidence).

It also counts the quality gate's reasons (:mod:`ctk.teacher.gate`): rejected
records by reason, and, in ``ok`` records (older files, or ``--no-gate`` runs), the
problems the gate would have refused on its own: a cut-off sentence
(``truncated``) and one claim given for two facts (``repeated_claim``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from ctk.records import Rationale
from ctk.retrieval import fact_id_of
from ctk.teacher.concepts import ConceptLexicon
from ctk.teacher.gate import is_cut_off

if TYPE_CHECKING:
    from ctk.graph import GraphReader

__all__ = [
    "AdmissionCheck",
    "CheckReport",
    "UnsupportedClaim",
    "check_rationales",
]


class UnsupportedClaim(BaseModel):
    """A concept pair named in one sentence with no edge between them."""

    model_config = ConfigDict(extra="forbid")

    field: str
    sentence: str
    concepts: tuple[str, str]
    names: tuple[str, str]


class AdmissionCheck(BaseModel):
    """The check of one rationale.

    Attributes:
        admission_id: The admission.
        status: The rationale's status (failed and rejected ones are counted, not checked).
        cited: Citations.
        cited_found: Citations that exist in the graph.
        missing_citations: The ones that do not.
        pairs: Concept pairs claimed.
        supported_pairs: Pairs with an edge.
        unsupported: The pairs without one, with their sentence.
        reasons: The gate's reasons of a rejected record; for an ``ok`` record, the
            problems found in it (``truncated``, ``repeated_claim``).
        words: Words in Rm and Rt.
    """

    model_config = ConfigDict(extra="forbid")

    admission_id: str
    status: str = "ok"
    reasons: list[str] = Field(default_factory=list)
    words: int = 0
    cited: int = 0
    cited_found: int = 0
    missing_citations: list[str] = Field(default_factory=list)
    pairs: int = 0
    supported_pairs: int = 0
    unsupported: list[UnsupportedClaim] = Field(default_factory=list)

    @property
    def citation_rate(self) -> float | None:
        """Found / cited (None when nothing is cited)."""
        return self.cited_found / self.cited if self.cited else None

    @property
    def support_rate(self) -> float | None:
        """Supported / claimed pairs (None when no pair is claimed)."""
        return self.supported_pairs / self.pairs if self.pairs else None


class CheckReport(BaseModel):
    """The check of a rationale file.

    Attributes:
        rationales: Records read.
        checked: ``ok`` records checked.
        failed: ``failed`` records (not checked).
        rejected: ``rejected`` records (not checked).
        rejected_reasons: Rejected records by gate reason (once per record and reason).
        kept_issues: ``ok`` records with a cut-off sentence (``truncated``) or a repeated
            claim (``repeated_claim``), by problem.
        repaired: ``ok`` records that passed the gate after the repair turn.
        mean_words: Mean words in Rm + Rt over ``ok`` records.
        cited / cited_found: Citations over all records.
        pairs / supported_pairs: Claimed concept pairs over all records.
        citation_rate: cited_found / cited.
        support_rate: supported_pairs / pairs.
        mean_admission_support_rate: Mean of the per-admission support rates.
        admissions: Per-admission results.
    """

    model_config = ConfigDict(extra="forbid")

    rationales: int = 0
    checked: int = 0
    failed: int = 0
    rejected: int = 0
    rejected_reasons: dict[str, int] = Field(default_factory=dict)
    kept_issues: dict[str, int] = Field(default_factory=dict)
    repaired: int = 0
    mean_words: float | None = None
    cited: int = 0
    cited_found: int = 0
    pairs: int = 0
    supported_pairs: int = 0
    citation_rate: float | None = None
    support_rate: float | None = None
    mean_admission_support_rate: float | None = None
    admissions: list[AdmissionCheck] = Field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The overall figures without the per-admission list."""
        return self.model_dump(exclude={"admissions"})


class _Checker:
    def __init__(self, store: GraphReader) -> None:
        self.store = store
        self.lexicon = ConceptLexicon(store)
        self._facts: dict[str, int | None] = {}

    def fact_exists(self, evidence_id: str) -> bool:
        fact, index = fact_id_of(evidence_id)
        if fact not in self._facts:
            rel = self.store.get_relation(fact)
            self._facts[fact] = None if rel is None else len(rel.evidence)
        n = self._facts[fact]
        if n is None:
            return False
        return index is None or index < n

    def check(self, r: Rationale) -> AdmissionCheck:
        out = AdmissionCheck(admission_id=r.admission_id, status=r.status)
        if r.status == "rejected":
            out.reasons = sorted({f.reason for f in r.gate_reasons})
        if r.status != "ok":
            return out
        out.words = len(f"{r.note_rationale} {r.lab_rationale}".split())
        if any(is_cut_off(t) for t in (r.note_rationale, r.lab_rationale)):
            out.reasons.append("truncated")
        claims = [" ".join(sorted(c.claim.lower().split())) for c in r.cited_facts]
        if len([c for c in claims if c]) > len({c for c in claims if c}):
            out.reasons.append("repeated_claim")
        for cf in r.cited_facts:
            out.cited += 1
            if self.fact_exists(cf.fact_id):
                out.cited_found += 1
            else:
                out.missing_citations.append(cf.fact_id)
        texts = [("note_rationale", r.note_rationale), ("lab_rationale", r.lab_rationale)]
        texts += [("cited_facts.claim", cf.claim) for cf in r.cited_facts]
        seen: set[tuple[str, str]] = set()
        for field, body in texts:
            for pair in self.lexicon.pairs(body):
                if pair.concepts in seen:
                    continue
                seen.add(pair.concepts)
                out.pairs += 1
                if pair.supported:
                    out.supported_pairs += 1
                else:
                    a, b = pair.concepts
                    out.unsupported.append(
                        UnsupportedClaim(
                            field=field,
                            sentence=pair.sentence,
                            concepts=pair.concepts,
                            names=(self.lexicon.name(a), self.lexicon.name(b)),
                        )
                    )
        return out


def check_rationales(rationales: Iterable[Rationale], store: GraphReader) -> CheckReport:
    """Check rationales against a graph; see the module docstring.

    Args:
        rationales: The records (e.g. :func:`ctk.teacher.read_rationales`).
        store: The knowledge graph.

    Returns:
        The report.
    """
    checker = _Checker(store)
    report = CheckReport()
    rates: list[float] = []
    words: list[int] = []
    rejected: Counter[str] = Counter()
    issues: Counter[str] = Counter()
    for r in rationales:
        report.rationales += 1
        result = checker.check(r)
        if r.status == "rejected":
            report.rejected += 1
            rejected.update(result.reasons)
        elif r.status != "ok":
            report.failed += 1
        else:
            issues.update(result.reasons)
            words.append(result.words)
            report.repaired += r.repaired
            report.checked += 1
            report.cited += result.cited
            report.cited_found += result.cited_found
            report.pairs += result.pairs
            report.supported_pairs += result.supported_pairs
            if result.support_rate is not None:
                rates.append(result.support_rate)
        report.admissions.append(result)
    report.citation_rate = report.cited_found / report.cited if report.cited else None
    report.support_rate = report.supported_pairs / report.pairs if report.pairs else None
    report.mean_admission_support_rate = sum(rates) / len(rates) if rates else None
    report.rejected_reasons = dict(rejected.most_common())
    report.kept_issues = dict(issues.most_common())
    report.mean_words = sum(words) / len(words) if words else None
    return report
