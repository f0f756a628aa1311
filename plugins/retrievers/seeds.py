"""Which graph concepts an admission is about: a building block for retrievers.

ctk does **not** fill :attr:`ctk.retrieval.RetrievalQuery.concept_ids` or
``concept_names`` when it builds a query (``ctk rationale generate`` gives the note
section, the lab anomaly captions and, at training time, the true diagnoses); a
retriever finds the concepts it needs itself. :class:`ConceptSeeder` is how the
built-in ``graph`` retriever does it, offered as a supported API::

    from ctk.plugins.retrievers.seeds import ConceptSeeder

    seeder = ConceptSeeder(store)              # any GraphReader (ctk.kg.stores)
    seeder.seeds(query, max_seeds=16)          # ["ctk:heart_failure", "ctk:dyspnea", ...]
    seeder.find("worsening shortness of breath")   # ["ctk:dyspnea"]

Seeds come, in this order, from the ids the query already carries, the diagnoses
and concept names (exact name or synonym; a phenotype's short name and synonyms
too), the findings a lab caption implies (:data:`CAPTION_FINDINGS`: "Heart rate is
higher than normal" -> *tachycardia*), concept names in the captions, then concept
names in the note (whole words, case-insensitive; most-mentioned concepts first).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from ctk.graph import ConceptFinder, GraphReader
from ctk.phenotypes import phenotype_by_name
from ctk.records import Concept
from ctk.retrieval import RetrievalQuery

__all__ = ["CAPTION_FINDINGS", "ConceptSeeder"]

logger = logging.getLogger(__name__)

#: (lab variable as captions spell it, direction) -> finding names to look up.
CAPTION_FINDINGS: dict[tuple[str, str], tuple[str, ...]] = {
    ("heart rate", "higher"): ("tachycardia",),
    ("heart rate", "lower"): ("bradycardia",),
    ("glucose", "higher"): ("hyperglycemia", "hyperglycaemia"),
    ("glucose", "lower"): ("hypoglycemia", "hypoglycaemia"),
    ("temperature", "higher"): ("fever", "hyperthermia"),
    ("temperature", "lower"): ("hypothermia",),
    ("oxygen saturation", "lower"): ("hypoxemia", "hypoxia"),
    ("respiratory rate", "higher"): ("tachypnea", "tachypnoea"),
    ("respiratory rate", "lower"): ("bradypnea", "respiratory depression"),
    ("systolic blood pressure", "higher"): ("hypertension",),
    ("systolic blood pressure", "lower"): ("hypotension",),
    ("diastolic blood pressure", "higher"): ("hypertension",),
    ("diastolic blood pressure", "lower"): ("hypotension",),
    ("mean blood pressure", "higher"): ("hypertension",),
    ("mean blood pressure", "lower"): ("hypotension", "shock"),
    ("ph", "lower"): ("acidosis", "acidemia"),
    ("ph", "higher"): ("alkalosis", "alkalemia"),
    ("fraction of inspired oxygen", "higher"): ("hypoxemia", "respiratory failure"),
    ("weight", "higher"): ("obesity",),
    ("weight", "lower"): ("cachexia", "malnutrition"),
}


class ConceptSeeder:
    """Finds the graph concepts of an admission: note, lab captions, diagnoses.

    The name matcher (an Aho-Corasick automaton over every concept name and synonym)
    is built from the store on first use, once; a seeder is thread-safe and meant to
    be kept for the life of a retriever.

    Args:
        store: The knowledge graph.
        min_name_length: Shortest concept name matched in text.

    Example:
        >>> seeder = ConceptSeeder(store)  # doctest: +SKIP
        >>> seeder.seeds(RetrievalQuery(note_text="Diuresed with lasix."))  # doctest: +SKIP
        ['ctk:furosemide']
    """

    def __init__(self, store: GraphReader, *, min_name_length: int = 3) -> None:
        self.store = store
        self.min_name_length = min_name_length
        self._matcher: ConceptFinder | None = None
        self._lock = threading.Lock()

    def matcher(self) -> ConceptFinder:
        """The store's concept-name finder (:meth:`~ctk.graph.GraphReader.concept_finder`),
        built on first use."""
        with self._lock:
            if self._matcher is None:
                self._matcher = self.store.concept_finder(min_length=self.min_name_length)
                logger.info("concept seeder: the graph's concept names indexed")
            return self._matcher

    def find(self, text: str) -> list[str]:
        """Concept ids named in ``text`` (whole words), in order of first mention."""
        return self.matcher().find(text)

    def named(self, name: str) -> list[Concept]:
        """Concepts whose name or a synonym is exactly ``name`` (case-insensitive)."""
        key = name.lower().strip()
        return [
            c
            for c in self.store.find_concepts(name, limit=5)
            if c.name.lower() == key or key in (s.lower() for s in c.synonyms)
        ]

    def seeds(self, query: RetrievalQuery, *, max_seeds: int = 16) -> list[str]:
        """Concept ids of an admission, most important first, without duplicates.

        Args:
            query: The admission's query.
            max_seeds: Most ids returned.

        Returns:
            Ids in this order: ``query.concept_ids``; diagnoses and concept names;
            findings implied by lab captions; names in the captions; names in the
            note, most-mentioned first.
        """
        ordered: dict[str, None] = {}  # an ordered set

        def add(ids: Iterable[str]) -> None:
            for cid in ids:
                ordered.setdefault(cid, None)

        add(query.concept_ids)
        for name in (*query.diagnoses, *query.concept_names):
            names = [name]
            pheno = phenotype_by_name(name)
            if pheno is not None:
                names += [pheno.short_name, *pheno.synonyms]
            for n in names:
                add(c.id for c in self.named(n))
        matcher = self.matcher()
        for caption in query.anomaly_captions:
            low = caption.lower()
            for (variable, direction), findings in CAPTION_FINDINGS.items():
                if low.startswith(variable) and direction in low:
                    for finding in findings:
                        add(c.id for c in self.named(finding))
            add(matcher.find(caption))
        note_ids = matcher.find(query.note_text)
        note_ids.sort(key=lambda cid: -matcher.mentions.get(cid, 0))
        add(note_ids)
        return list(ordered)[:max_seeds]
