"""Document-level co-occurrence counting: documents -> one chunk's :class:`GraphDelta`.

Each document's sentences go to the extractor together
(:meth:`~ctk.extraction.ConceptExtractor.extract_document`, so that
abbreviations the document defines are resolved); negated mentions are left out.
Then, counting **documents, not sentences** (an abstract that repeats a pair in
five sentences is one piece of support):

* each concept's ``mentions`` grows by one per document that mentions it;
* a pair of distinct concepts in one sentence adds 1, once per document, to an
  undirected ``associated_with`` edge (stored with the smaller id as source),
  unless every sentence that pairs them merely lists them (an *enumeration*, see
  :mod:`ctk.kg.extraction.enumerations`): such a pair is discounted to nothing
  for that document;
* a pair linked by a cue phrase (:mod:`ctk.kg.extraction.cues`) also adds 1 per
  document to the typed, directed edge the cue states;
* each edge keeps up to ``max_evidence`` evidence sentences per chunk (source,
  document id, sentence, year): one per document, the first non-enumeration
  sentence;
* a document whose title and abstract repeat one already counted in this chunk
  (the same article under two PMIDs) is counted once (``notes`` says how often);
  a document with a title and no abstract is never a duplicate (different
  articles share generic titles: "Case for diagnosis."). The delta lists each
  counted document with a content key and what it added
  (``GraphDelta.counted``), so that the store counts an article it already
  holds from an earlier chunk, file or build once
  (:func:`ctk.kg.delta.without_duplicates`);
* an animal-only study is a non-human study: its concepts count, its pairs do
  not (``notes``). A PubMed document indexed ``Animals`` but not ``Humans``
  (MeSH check tags) is one; so is a document with no MeSH headings whose title
  and abstract speak of animal subjects and of no human subjects
  (:mod:`ctk.kg.extraction.subjects`);
* two phenotype groups of one disease ("diabetes with complications", "diabetes
  without complication") are never paired (:mod:`ctk.kg.extraction.refinements`);
* **MeSH headings** (the curated index terms NLM indexers put on a PubMed
  record, ``Document.mesh_terms``) are document-level concepts: a heading that
  names a vocabulary concept (the extractor's
  :meth:`~ctk.extraction.ConceptExtractor.link_term`: by its descriptor UI,
  ``D006333``, through the vocabulary's ``mesh:`` xrefs, else as a whole name,
  "Heart Failure", "Hypertension, Pulmonary") counts as a mention of that concept, and two
  headings of one document pair their concepts in ``associated_with`` (once per
  document, as Hetionet's MEDLINE co-occurrence edges). A document that pairs
  them in a sentence too still counts once, with the sentence as evidence; a
  pair only the headings give has the title and the two headings as evidence
  (``Title [MeSH: Heart Failure; Diuretics]``).

Counts add up across chunks, so a store's ``finalize()`` computes weights
(:mod:`ctk.kg.extraction.weights`) from the totals: ``n(a)`` = documents
mentioning a concept, ``n(a,b)`` = the edge's count, ``N`` = documents.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import cast

from ctk.extraction import ConceptExtractor, Mention
from ctk.kg.delta import CountedDocument, GraphDelta, RelationDelta
from ctk.kg.extraction.cues import typed_relation
from ctk.kg.extraction.enumerations import enumeration_groups
from ctk.kg.extraction.refinements import same_disease_pairs
from ctk.kg.extraction.sentences import split_sentences
from ctk.kg.extraction.subjects import animal_only_text
from ctk.kg.sources.document import Deletion, Document
from ctk.records import Concept, Evidence, RelationType

__all__ = ["DUPLICATE_NOTE", "MAX_SENTENCE_CHARS", "CooccurrenceCounter"]

#: Evidence sentences longer than this are cut (with an ellipsis).
MAX_SENTENCE_CHARS = 600
#: The ``notes`` (and build summary ``skipped``) key of duplicate articles.
DUPLICATE_NOTE = "duplicate article (same title and abstract), counted once"


_EvidenceMaker = Callable[[], Evidence]


def _evidence_maker(source: str, doc_id: str, sentence: str, year: int | None) -> _EvidenceMaker:
    def make() -> Evidence:
        # built only when an edge still wants evidence; fields are plain str/int
        text = sentence
        if len(text) > MAX_SENTENCE_CHARS:
            text = text[: MAX_SENTENCE_CHARS - 1] + "…"
        return Evidence.model_construct(source=source, document_id=doc_id, sentence=text, year=year)

    return make


def _content_key(doc: Document) -> str | None:
    """Title and abstract, case and spacing folded, hashed: same article, same key.

    None for a document without a body (an abstract, a page's text): a title
    alone ("Case for diagnosis.", "[Diphtheria].") is shared by different
    articles, so such a document is never a duplicate.
    """
    if not any(s.text.strip() for s in doc.sections) and not doc.text.strip():
        return None
    text = " ".join(" ".join(doc.passages()).lower().split())
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


#: MeSH check tags and other headings that describe the study, not a concept.
_CHECK_TAGS = frozenset(
    {"Humans", "Animals", "Male", "Female", "Adult", "Aged", "Middle Aged", "Child",
     "Infant", "Adolescent", "Young Adult", "Pregnancy", "Aged, 80 and over"}
)  # fmt: skip


def _non_human(doc: Document) -> str | None:
    """Why a document is an animal-only study (a ``notes`` key), or None."""
    if doc.mesh_terms:
        if "Animals" in doc.mesh_terms and "Humans" not in doc.mesh_terms:
            return "non-human study (MeSH Animals, not Humans): pairs not counted"
        return None
    if animal_only_text(doc.passages()):
        return "non-human study (no MeSH; text names animal, no human subjects): pairs not counted"
    return None


@dataclass
class _Edge:
    count: int = 0
    evidence: list[Evidence] = field(default_factory=list)


_EdgeKey = tuple[str, str, str]


@dataclass
class _Contribution:
    """What one document with a content key added (for :class:`CountedDocument`)."""

    key: str
    source: str
    doc_id: str
    sentences: int = 0
    concepts: list[str] = field(default_factory=list)
    edges: list[_EdgeKey] = field(default_factory=list)
    #: (edge, position in its evidence list) of each evidence sentence given
    evidence: list[tuple[_EdgeKey, int]] = field(default_factory=list)


class CooccurrenceCounter:
    """Accumulates one chunk's concepts, edges and evidence.

    Args:
        extractor: The concept extractor.
        max_evidence: Evidence sentences kept per edge (in this chunk).

    Example:
        >>> from ctk.plugins.extractors.dictionary import DictionaryExtractor
        >>> counter = CooccurrenceCounter(DictionaryExtractor())
        >>> counter.add_text("text", "d1", "Heart failure presents with dyspnea.")
        1
        >>> [r.type for r in counter.delta().relations]
        ['associated_with', 'symptom_of']
    """

    def __init__(self, extractor: ConceptExtractor, *, max_evidence: int = 5) -> None:
        self.extractor = extractor
        self.max_evidence = max_evidence
        self.sentences = 0
        self.documents = 0
        self.deleted: list[str] = []
        self._mentions: dict[str, int] = {}
        self._concepts: dict[str, Concept] = {}
        self._edges: dict[_EdgeKey, _Edge] = {}
        self._seen_content: set[str] = set()
        self._counted: list[_Contribution] = []
        self._same_disease = same_disease_pairs()
        #: What was counted differently, and how often (duplicates, non-human studies).
        self.notes: Counter[str] = Counter()

    def _concept(self, m: Mention) -> None:
        if m.concept_id not in self._concepts:
            known = self.extractor.concept(m.concept_id)
            self._concepts[m.concept_id] = known or Concept(
                id=m.concept_id,
                name=m.name,
                type=m.type,  # type: ignore[arg-type]
            )
        self._mentions[m.concept_id] = self._mentions.get(m.concept_id, 0) + 1

    def _edge(
        self, key: _EdgeKey, make: _EvidenceMaker, contribution: _Contribution | None
    ) -> None:
        edge = self._edges.get(key)
        if edge is None:
            edge = self._edges[key] = _Edge()
        edge.count += 1
        if contribution is not None:
            contribution.edges.append(key)
        if len(edge.evidence) < self.max_evidence:
            if contribution is not None:
                contribution.evidence.append((key, len(edge.evidence)))
            edge.evidence.append(make())

    def add_sentence(
        self, source: str, doc_id: str, sentence: str, year: int | None = None
    ) -> list[Mention]:
        """Count one sentence as a document of its own; returns the mentions used."""
        self.documents += 1
        return self._count(source, doc_id, [sentence], year, pairs=True)[0]

    def add_text(self, source: str, doc_id: str, text: str, year: int | None = None) -> int:
        """Split a text into sentences and count it as one document; returns the sentences."""
        sentences = split_sentences(text)
        self.documents += 1
        self._count(source, doc_id, sentences, year, pairs=True)
        return len(sentences)

    def add_document(self, doc: Document) -> int:
        """Count a document's title and body; returns its sentence count (0 for a duplicate)."""
        key = _content_key(doc)
        contribution = None
        if key is not None:
            if key in self._seen_content:
                self.notes[DUPLICATE_NOTE] += 1
                return 0
            self._seen_content.add(key)
            contribution = _Contribution(key, doc.source, doc.doc_id)
            self._counted.append(contribution)
        sentences = [s for p in doc.passages() for s in split_sentences(p)]
        if contribution is not None:
            contribution.sentences = len(sentences)
        self.documents += 1
        non_human = _non_human(doc)
        if non_human is not None:
            self.notes[non_human] += 1
        headings = self._headings(doc.mesh_terms, doc.mesh_ids)
        self._count(
            doc.source,
            doc.doc_id,
            sentences,
            doc.year,
            pairs=non_human is None,
            headings=headings,
            title=doc.title or "",
            contribution=contribution,
        )
        return len(sentences)

    def _headings(
        self, mesh_terms: Sequence[str], mesh_ids: Sequence[str] = ()
    ) -> dict[str, tuple[str, Mention]]:
        """Concept id -> (heading, mention) of the headings that name a concept.

        A heading with its descriptor UI links by id (``mesh_ids``, same order
        as ``mesh_terms``), else by name.
        """
        out: dict[str, tuple[str, Mention]] = {}
        ids = list(mesh_ids) if len(mesh_ids) == len(mesh_terms) else [""] * len(mesh_terms)
        for heading, ui in zip(mesh_terms, ids, strict=True):
            if heading in _CHECK_TAGS:
                continue
            m = self.extractor.link_term(heading, ui or None)
            if m is not None and m.concept_id not in out:
                out[m.concept_id] = (heading, m)
        return out

    def _count(
        self,
        source: str,
        doc_id: str,
        sentences: Sequence[str],
        year: int | None,
        *,
        pairs: bool,
        headings: dict[str, tuple[str, Mention]] | None = None,
        title: str = "",
        contribution: _Contribution | None = None,
    ) -> list[list[Mention]]:
        self.sentences += len(sentences)
        per_sentence = self.extractor.extract_document(sentences) if sentences else []
        used: list[list[Mention]] = []
        doc_concepts: dict[str, Mention] = {}
        # pair key -> evidence sentence index (a non-enumeration one wins)
        doc_pairs: dict[tuple[str, str, str], tuple[bool, int]] = {}
        for s_index, (sentence, found) in enumerate(zip(sentences, per_sentence, strict=True)):
            seen: dict[str, Mention] = {}
            for m in found:
                if not m.negated and m.concept_id not in seen:
                    seen[m.concept_id] = m
            mentions = sorted(seen.values(), key=lambda m: m.start)
            used.append(mentions)
            for m in mentions:
                doc_concepts.setdefault(m.concept_id, m)
            if not pairs or len(mentions) < 2:
                continue
            groups = enumeration_groups(sentence, mentions)
            for (i, a), (j, b) in combinations(enumerate(mentions), 2):
                listed = groups[i] >= 0 and groups[i] == groups[j]
                ids = sorted((a.concept_id, b.concept_id))
                if (ids[0], ids[1]) in self._same_disease:
                    continue
                keys = [(ids[0], "associated_with", ids[1])]
                typed = None if listed else typed_relation(sentence, a, b)
                if typed is not None:
                    keys.append((typed.source_id, typed.type, typed.target_id))
                for key in keys:
                    old = doc_pairs.get(key)
                    if old is None or (old[0] and not listed):
                        doc_pairs[key] = (listed, s_index)
        named = {cid: heading for cid, (heading, _) in (headings or {}).items()}
        for cid, (_, m) in (headings or {}).items():
            doc_concepts.setdefault(cid, m)
        mesh_pairs = (
            {
                (x, "associated_with", y)
                for x, y in combinations(sorted(named), 2)
                if (x, y) not in self._same_disease
            }
            if pairs
            else set()
        )
        for m in doc_concepts.values():
            self._concept(m)
        if contribution is not None:
            contribution.concepts.extend(doc_concepts)
        for key, (listed, s_index) in doc_pairs.items():
            if listed and key not in mesh_pairs:
                continue  # only ever listed together in this document: discounted
            mesh_pairs.discard(key)
            make = _evidence_maker(source, doc_id, sentences[s_index], year)
            self._edge(key, make, contribution)
        for key in sorted(mesh_pairs):  # the headings alone pair them
            note = f"{title} [MeSH: {named[key[0]]}; {named[key[2]]}]".strip()
            self._edge(key, _evidence_maker(source, doc_id, note, year), contribution)
        return used

    def add(self, items: Iterable[Document | Deletion]) -> None:
        """Count documents; record deletions."""
        for item in items:
            if isinstance(item, Deletion):
                self.deleted.append(item.doc_id)
            else:
                self.add_document(item)

    def delta(self) -> GraphDelta:
        """The chunk's delta, in a deterministic order (sorted ids)."""
        concepts = []
        for cid in sorted(self._concepts):
            c = self._concepts[cid].model_copy()
            c.mentions = self._mentions[cid]
            concepts.append(c)
        edge_keys = sorted(self._edges)
        relations = [
            # model_construct: ids, a relation type of the cue table and counts built
            # here; pydantic's validation would only copy them (a hot path)
            RelationDelta.model_construct(
                source_id=key[0],
                target_id=key[2],
                type=cast(RelationType, key[1]),
                count=self._edges[key].count,
                evidence=self._edges[key].evidence,
            )
            for key in edge_keys
        ]
        concept_at = {c.id: i for i, c in enumerate(concepts)}
        edge_at = {key: i for i, key in enumerate(edge_keys)}
        counted = [
            CountedDocument.model_construct(
                key=c.key,
                source=c.source,
                doc_id=c.doc_id,
                sentences=c.sentences,
                concepts=[concept_at[cid] for cid in c.concepts],
                relations=[edge_at[key] for key in c.edges],
                evidence=[(edge_at[key], pos) for key, pos in c.evidence],
            )
            for c in self._counted
        ]
        return GraphDelta(
            concepts=concepts,
            relations=relations,
            sentences=self.sentences,
            documents=self.documents,
            deleted_documents=list(self.deleted),
            counted=counted,
        )
