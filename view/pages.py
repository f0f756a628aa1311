"""What each page of the viewer shows, assembled from the inputs (no HTML here).

:class:`Viewer` holds the open inputs: the admission index, the graph store (with
its concept matcher, built once), the evaluation run. Its methods return plain
page models that the templates render; a Python user can call them too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ctk.distill.evaluation import AdmissionPrediction
from ctk.distill.rationale_claims import ShownRationale, shown_rationale
from ctk.distill.targets import split_generation
from ctk.graph import DEFAULT_MIN_SUPPORT, Neighbour
from ctk.kg.matching import ConceptMatcher
from ctk.kg.stores import GraphStore
from ctk.records import Admission, Concept, Rationale, Relation
from ctk.retrieval import fact_id_of
from ctk.teacher.concepts import ConceptLexicon
from ctk.view.index import AdmissionIndex, AdmissionRow
from ctk.view.lab_plot import LabPlot, lab_plots
from ctk.view.note import NoteSegment, highlight_concepts
from ctk.view.run import EvalRun

__all__ = [
    "AdmissionPage",
    "CitedClaim",
    "ConceptPage",
    "FactView",
    "GateReason",
    "ListPage",
    "ListRow",
    "Viewer",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FactView:
    """A graph fact with its two concepts.

    Attributes:
        relation: The relation (with its evidence).
        source: Its subject concept (None: not in the graph).
        target: Its object concept.
        supported: Whether it rests on at least the support floor of documents.
    """

    relation: Relation
    source: Concept | None
    target: Concept | None
    supported: bool


@dataclass(frozen=True, slots=True)
class CitedClaim:
    """One claim of a rationale beside the fact it cites.

    Attributes:
        claim: The claim as the teacher wrote it.
        cited_id: The id cited (a fact id, or ``fact#eN`` for one evidence sentence).
        fact: The fact (None: not in the graph, or no graph given).
        evidence_index: The evidence sentence cited, when the id names one.
    """

    claim: str
    cited_id: str
    fact: FactView | None
    evidence_index: int | None


@dataclass(frozen=True, slots=True)
class GateReason:
    """Why the teacher's answer gate rejected (or repaired) a record."""

    reason: str
    detail: str
    fact_id: str | None


@dataclass(frozen=True, slots=True)
class ListRow:
    """A row of the admission list.

    Attributes:
        row: The index row.
        support_share: Share of the rationale's cited facts found in the graph on at
            least the support floor of documents (None: no citations, or no graph).
        cited: Facts the rationale cites.
    """

    row: AdmissionRow
    support_share: float | None
    cited: int


@dataclass
class ListPage:
    """A page of the admission list."""

    rows: list[ListRow]
    total: int
    offset: int
    limit: int


@dataclass
class AdmissionPage:
    """Everything the admission page shows.

    Attributes:
        admission: The admission.
        note: The note, cut around recognised concepts.
        note_concepts: Distinct concepts recognised in the note.
        note_rationale: The rationale's Rm, cut around recognised concepts.
        lab_rationale: Its Rt, likewise.
        concepts: Id -> concept, of the concepts recognised in the note and the rationale.
        plots: One lab plot per measured variable.
        rationale: The teacher's rationale record, if any.
        claims: Its claims beside their cited facts.
        gate_reasons: Why the record was rejected or repaired (schema 3 records).
        repaired: Whether the gate repaired the record.
        prediction: The student's output, when an evaluation run holds it.
        student: Its rationale as ``ctk diagnose`` prints it (None: no prediction).
        student_rationale: That rationale, cut around recognised concepts.
        previous_id: The admission before it in the cohort.
        next_id: The admission after it.
    """

    admission: Admission
    note: list[NoteSegment]
    note_concepts: int
    note_rationale: list[NoteSegment]
    lab_rationale: list[NoteSegment]
    concepts: dict[str, Concept]
    plots: list[LabPlot]
    rationale: Rationale | None
    claims: list[CitedClaim]
    gate_reasons: list[GateReason]
    repaired: bool
    prediction: AdmissionPrediction | None
    student: ShownRationale | None
    student_rationale: list[NoteSegment]
    previous_id: str | None
    next_id: str | None


@dataclass
class ConceptPage:
    """A concept and its neighbourhood (the support floor applied)."""

    concept: Concept
    neighbours: list[Neighbour]
    min_count: int
    hidden_below_floor: bool


@dataclass
class Viewer:
    """The open inputs of the viewer.

    Args:
        index: The cohort's admission index (with its rationales).
        store: The knowledge graph (None: no graph pages, no concept highlighting).
        run: The evaluation run (None: no run page, no predictions).
        min_count: The support floor (documents per edge), as ``ctk kg query`` applies it.
    """

    index: AdmissionIndex
    store: GraphStore | None = None
    run: EvalRun | None = None
    min_count: int = DEFAULT_MIN_SUPPORT
    matcher: ConceptMatcher | None = field(default=None, init=False)
    _concepts: dict[str, Concept | None] = field(default_factory=dict, init=False)
    _lexicon: ConceptLexicon | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.store is not None:
            self.matcher = self.store.concept_finder()
            self._lexicon = ConceptLexicon(self.store)

    def student_rationale(self, prediction: AdmissionPrediction) -> ShownRationale:
        """The student's generated rationale as ``ctk diagnose --store`` shows it."""
        rationale = split_generation(prediction.text)[1]
        return shown_rationale(rationale, prediction.predicted, self._lexicon)

    # ---------------------------------------------------------------- graph look-ups
    def concept(self, concept_id: str) -> Concept | None:
        """A concept by id (cached; None without a graph or when absent)."""
        if self.store is None:
            return None
        if concept_id not in self._concepts:
            self._concepts[concept_id] = self.store.get_concept(concept_id)
        return self._concepts[concept_id]

    def fact(self, fact_id: str) -> FactView | None:
        """A fact with its concepts (None: not in the graph, or no graph)."""
        if self.store is None:
            return None
        rel = self.store.get_relation(fact_id)
        if rel is None:
            return None
        return FactView(
            relation=rel,
            source=self.concept(rel.source_id),
            target=self.concept(rel.target_id),
            supported=rel.count >= self.min_count,
        )

    def concept_page(self, concept_id: str, *, min_count: int | None = None) -> ConceptPage | None:
        """A concept's neighbourhood, edges under the support floor left out.

        Args:
            concept_id: The concept's id (else its name or synonym).
            min_count: The floor (None: the viewer's).
        """
        if self.store is None:
            return None
        floor = self.min_count if min_count is None else min_count
        concept = self.concept(concept_id)
        if concept is None:
            found = self.store.find_concepts(concept_id, limit=1)
            if not found:
                return None
            concept = found[0]
        neighbours = self.store.neighbours(concept.id, limit=24, min_count=floor)
        hidden = (
            not neighbours
            and floor > 1
            and bool(self.store.neighbours(concept.id, limit=1, min_count=1))
        )
        return ConceptPage(concept, neighbours, floor, hidden)

    # ---------------------------------------------------------------- admissions
    def cited_claims(self, rationale: Rationale) -> list[CitedClaim]:
        """The rationale's claims, each with the fact it cites."""
        claims: list[CitedClaim] = []
        for cf in rationale.cited_facts:
            fact_id, index = fact_id_of(cf.fact_id)
            claims.append(CitedClaim(cf.claim, cf.fact_id, self.fact(fact_id), index))
        return claims

    def support_share(self, rationale: Rationale | None) -> tuple[float | None, int]:
        """(share of cited facts in the graph on the support floor, facts cited)."""
        if rationale is None or not rationale.cited_facts:
            return None, 0
        cited = len(rationale.cited_facts)
        if self.store is None:
            return None, cited
        supported = 0
        for cf in rationale.cited_facts:
            rel = self.store.get_relation(fact_id_of(cf.fact_id)[0])
            supported += rel is not None and rel.count >= self.min_count
        return supported / cited, cited

    def list_page(
        self,
        *,
        phenotype: str | None = None,
        split: str | None = None,
        status: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> ListPage:
        """A page of the admission list (read from the index; one rationale read per row)."""
        rows, total = self.index.page(
            phenotype=phenotype, split=split, status=status, offset=offset, limit=limit
        )
        out: list[ListRow] = []
        for row in rows:
            rationale = self.index.rationale(row.admission_id) if row.status != "none" else None
            share, cited = self.support_share(rationale)
            out.append(ListRow(row, share, cited))
        return ListPage(out, total, offset, limit)

    def admission_page(self, admission_id: str) -> AdmissionPage | None:
        """Everything about one admission (None: not in the cohort)."""
        admission = self.index.admission(admission_id)
        if admission is None:
            return None
        text = admission.note.text if admission.note is not None else ""
        segments = highlight_concepts(text, self.matcher)
        rationale = self.index.rationale(admission_id)
        rm = highlight_concepts(rationale.note_rationale, self.matcher) if rationale else []
        rt = highlight_concepts(rationale.lab_rationale, self.matcher) if rationale else []
        prediction = self.run.predictions.get(admission_id) if self.run is not None else None
        student = self.student_rationale(prediction) if prediction is not None else None
        said = highlight_concepts(student.text, self.matcher) if student is not None else []
        concepts: dict[str, Concept] = {}
        for seg in (*segments, *rm, *rt, *said):
            for cid in seg.concept_ids:
                c = self.concept(cid)
                if c is not None:
                    concepts[cid] = c
        claims = self.cited_claims(rationale) if rationale is not None else []
        prev_id, next_id = self.index.neighbours_of(admission_id)
        return AdmissionPage(
            admission=admission,
            note=segments,
            note_concepts=len({cid for seg in segments for cid in seg.concept_ids}),
            note_rationale=rm,
            lab_rationale=rt,
            concepts=concepts,
            plots=lab_plots(admission.labs),
            rationale=rationale,
            claims=claims,
            gate_reasons=_gate_reasons(rationale),
            repaired=bool(getattr(rationale, "repaired", False)),
            prediction=prediction,
            student=student,
            student_rationale=said,
            previous_id=prev_id,
            next_id=next_id,
        )


def _gate_reasons(rationale: Rationale | None) -> list[GateReason]:
    # schema 3 records (the teacher's answer gate) carry gate_reasons; older ones do not
    raw: Any = getattr(rationale, "gate_reasons", None) or []
    reasons: list[GateReason] = []
    for item in raw:
        data: Mapping[str, Any] = (
            item if isinstance(item, Mapping) else getattr(item, "model_dump", dict)()
        )
        reasons.append(
            GateReason(
                reason=str(data.get("reason", "")),
                detail=str(data.get("detail", "")),
                fact_id=data.get("fact_id"),
            )
        )
    return reasons
