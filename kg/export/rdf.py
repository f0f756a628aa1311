"""RDF export and import of the knowledge graph (rdflib).

Namespace ``ctk: <https://w3id.org/ctk/>``. No blank nodes: every resource has
an IRI derived from a ctk id, so export -> import -> export gives the same
triples. The scheme:

Concepts, IRI ``ctk:concept/<id, percent-encoded>``::

    <concept/ctk%3Aheart_failure> a ctk:Concept, ctk:Disease ;
        ctk:id "ctk:heart_failure" ;
        rdfs:label "Heart failure" ;
        skos:altLabel "CHF", "cardiac failure" ;
        ctk:mentions 42 .

The type classes are ``ctk:Disease``, ``ctk:Symptom``, ``ctk:Finding``,
``ctk:LabTest``, ``ctk:Drug``, ``ctk:Procedure`` and ``ctk:Other``.

Relations: a direct triple with the relation type as predicate
(``ctk:causes``, ``ctk:symptom_of``, ``ctk:treats``, ``ctk:diagnosed_by``,
``ctk:associated_with``), plus a reified statement ``ctk:fact/<fact id,
percent-encoded>`` carrying its numbers and evidence::

    <concept/a> ctk:symptom_of <concept/b> .
    <fact/...> a rdf:Statement, ctk:Fact ;
        rdf:subject <concept/a> ; rdf:predicate ctk:symptom_of ; rdf:object <concept/b> ;
        ctk:id "a|symptom_of|b" ; ctk:count 3 ; ctk:weight 0.4137 ;
        ctk:evidence <fact/...#e0>, <fact/...#e1> .
    <fact/...#e0> a ctk:Evidence ; ctk:rank 0 ; ctk:source "pubmed" ;
        ctk:documentId "12345" ; ctk:sentence "..." ; ctk:year 2019 .

The weight is an exact ``xsd:decimal`` (the float's shortest repr).
``ctk:rank`` keeps the evidence order (first seen first). Synonym order is not
kept (RDF has none): imported synonyms are sorted. Corpus totals and build
chunk markers are not exported; weights are.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from ctk.errors import ConfigError, RecordParseError
from ctk.kg.schema import TYPE_LABELS, check_relation_type
from ctk.kg.stores.base import GraphStore
from ctk.records import RELATION_TYPES, Concept, Evidence, Relation

if TYPE_CHECKING:
    from rdflib import Graph, URIRef

__all__ = [
    "CTK_NAMESPACE",
    "RDF_FORMATS",
    "concept_iri",
    "export_rdf",
    "fact_iri",
    "graph_to_records",
    "import_rdf",
    "read_rdf",
    "store_to_graph",
]

logger = logging.getLogger(__name__)

#: The ctk RDF namespace.
CTK_NAMESPACE = "https://w3id.org/ctk/"
#: ``--format`` name -> rdflib format name, and the usual file suffixes.
RDF_FORMATS: dict[str, str] = {"turtle": "turtle", "ttl": "turtle", "nt": "nt", "ntriples": "nt"}
_SUFFIX_FORMATS: dict[str, str] = {".ttl": "turtle", ".turtle": "turtle", ".nt": "nt"}

_CLASS_TO_TYPE: dict[str, str] = {label: t for t, label in TYPE_LABELS.items()}


def concept_iri(concept_id: str) -> str:
    """The IRI of a concept: ``https://w3id.org/ctk/concept/<percent-encoded id>``."""
    return f"{CTK_NAMESPACE}concept/{quote(concept_id, safe='')}"


def fact_iri(fact_id: str) -> str:
    """The IRI of a relation's reified statement."""
    return f"{CTK_NAMESPACE}fact/{quote(fact_id, safe='')}"


def _rdf_format(fmt: str | None, path: Path) -> str:
    if fmt is None:
        found = _SUFFIX_FORMATS.get(path.suffix.lower())
        if found is None:
            raise ConfigError(
                f"cannot tell the RDF format of {path} from its suffix",
                hint="pass --format turtle or --format nt",
            )
        return found
    try:
        return RDF_FORMATS[fmt.lower()]
    except KeyError:
        raise ConfigError(
            f"unknown RDF format {fmt!r}", hint=f"use one of: {', '.join(RDF_FORMATS)}"
        ) from None


def _bind(graph: Graph) -> None:
    from rdflib import Namespace
    from rdflib.namespace import RDF, RDFS, SKOS, XSD

    graph.bind("ctk", Namespace(CTK_NAMESPACE))
    graph.bind("rdf", RDF)
    graph.bind("rdfs", RDFS)
    graph.bind("skos", SKOS)
    graph.bind("xsd", XSD)


def _decimal(value: float) -> str:
    """An exact ``xsd:decimal`` lexical form of a float (Turtle would round an ``xsd:double``)."""
    return format(Decimal(repr(float(value))), "f")


def store_to_graph(store: GraphStore) -> Graph:
    """Build an rdflib graph of every concept and relation of a store."""
    from rdflib import Graph, Literal, Namespace, URIRef
    from rdflib.namespace import RDF, RDFS, SKOS, XSD

    ctk = Namespace(CTK_NAMESPACE)
    graph = Graph()
    _bind(graph)
    add = graph.add
    for c in store.iter_concepts():
        node = URIRef(concept_iri(c.id))
        add((node, RDF.type, ctk.Concept))
        add((node, RDF.type, ctk[TYPE_LABELS[c.type]]))
        add((node, ctk.id, Literal(c.id)))
        add((node, RDFS.label, Literal(c.name)))
        for s in c.synonyms:
            add((node, SKOS.altLabel, Literal(s)))
        add((node, ctk.mentions, Literal(c.mentions, datatype=XSD.integer)))
    for r in store.iter_relations(with_evidence=True):
        subj, obj = URIRef(concept_iri(r.source_id)), URIRef(concept_iri(r.target_id))
        pred = ctk[r.type]
        add((subj, pred, obj))
        fact = URIRef(fact_iri(r.id))
        add((fact, RDF.type, RDF.Statement))
        add((fact, RDF.type, ctk.Fact))
        add((fact, RDF.subject, subj))
        add((fact, RDF.predicate, pred))
        add((fact, RDF.object, obj))
        add((fact, ctk.id, Literal(r.id)))
        add((fact, ctk["count"], Literal(r.count, datatype=XSD.integer)))
        add((fact, ctk.weight, Literal(_decimal(r.weight), datatype=XSD.decimal)))
        for rank, e in enumerate(r.evidence):
            ev = URIRef(f"{fact}#e{rank}")
            add((fact, ctk.evidence, ev))
            add((ev, RDF.type, ctk.Evidence))
            add((ev, ctk.rank, Literal(rank, datatype=XSD.integer)))
            add((ev, ctk.source, Literal(e.source)))
            add((ev, ctk.documentId, Literal(e.document_id)))
            add((ev, ctk.sentence, Literal(e.sentence)))
            if e.year is not None:
                add((ev, ctk.year, Literal(e.year, datatype=XSD.integer)))
    return graph


def export_rdf(store: GraphStore, out: str | Path, *, format: str | None = None) -> int:
    """Write the store as RDF.

    Args:
        store: The graph to export.
        out: Output file.
        format: ``turtle`` or ``nt``; None guesses from the suffix (``.ttl``, ``.nt``).

    Returns:
        The number of triples written.

    Raises:
        ConfigError: Unknown format.
    """
    out = Path(out)
    rdf_format = _rdf_format(format, out)
    graph = store_to_graph(store)
    out.parent.mkdir(parents=True, exist_ok=True)
    graph.serialize(destination=str(out), format=rdf_format, encoding="utf-8")
    logger.info("wrote %d triples to %s", len(graph), out)
    return len(graph)


def _one(graph: Graph, subject: URIRef, predicate: URIRef, path: Path, what: str) -> object:
    value = graph.value(subject, predicate)
    if value is None:
        raise RecordParseError(
            f"{what} {subject} has no {predicate}", source=str(path), position=str(subject)
        )
    return _python(value)


def _python(value: object) -> object:
    """The Python value of an RDF term (literals become int, float, str...)."""
    to_python = getattr(value, "toPython", None)
    return to_python() if to_python is not None else value


def graph_to_records(
    graph: Graph, *, source: str | Path = "<graph>"
) -> tuple[list[Concept], list[Relation]]:
    """Concepts and relations of an rdflib graph written in the ctk scheme.

    Args:
        graph: The graph.
        source: Where it came from, for error messages.

    Returns:
        Concepts (sorted by id) and relations (sorted by fact id).

    Raises:
        RecordParseError: A concept or fact lacks a required property or has an
            unknown type.
    """
    from rdflib import Namespace, URIRef
    from rdflib.namespace import RDF, RDFS, SKOS

    path = Path(str(source))
    ctk = Namespace(CTK_NAMESPACE)
    iri_to_id: dict[URIRef, str] = {}
    concepts: list[Concept] = []
    for node in sorted(set(graph.subjects(RDF.type, ctk.Concept)), key=str):
        assert isinstance(node, URIRef)
        types = [
            _CLASS_TO_TYPE[str(t)[len(CTK_NAMESPACE) :]]
            for t in graph.objects(node, RDF.type)
            if str(t).startswith(CTK_NAMESPACE) and str(t)[len(CTK_NAMESPACE) :] in _CLASS_TO_TYPE
        ]
        if len(types) != 1:
            raise RecordParseError(
                f"concept {node} needs exactly one type class (ctk:Disease, ...), has {len(types)}",
                source=str(path),
                position=str(node),
            )
        concept_id = str(_one(graph, node, ctk.id, path, "concept"))
        iri_to_id[node] = concept_id
        mentions = graph.value(node, ctk.mentions)
        concepts.append(
            Concept(
                id=concept_id,
                name=str(_one(graph, node, RDFS.label, path, "concept")),
                type=types[0],  # type: ignore[arg-type]
                synonyms=sorted(str(s) for s in graph.objects(node, SKOS.altLabel)),
                mentions=int(str(_python(mentions))) if mentions is not None else 0,
            )
        )
    relations: list[Relation] = []
    for fact in sorted(set(graph.subjects(RDF.type, ctk.Fact)), key=str):
        assert isinstance(fact, URIRef)
        subj = graph.value(fact, RDF.subject)
        obj = graph.value(fact, RDF.object)
        pred = graph.value(fact, RDF.predicate)
        if subj not in iri_to_id or obj not in iri_to_id or pred is None:
            raise RecordParseError(
                f"fact {fact} lacks a subject, predicate or object concept",
                source=str(path),
                position=str(fact),
            )
        rel_type = str(pred)[len(CTK_NAMESPACE) :]
        if not str(pred).startswith(CTK_NAMESPACE) or rel_type not in RELATION_TYPES:
            raise RecordParseError(
                f"fact {fact} has an unknown relation type {pred}",
                source=str(path),
                position=str(fact),
                hint=f"relation types: {', '.join(RELATION_TYPES)}",
            )
        check_relation_type(rel_type)
        evidence: list[tuple[int, Evidence]] = []
        for ev in graph.objects(fact, ctk.evidence):
            assert isinstance(ev, URIRef)
            year = graph.value(ev, ctk.year)
            evidence.append(
                (
                    int(str(_one(graph, ev, ctk.rank, path, "evidence"))),
                    Evidence(
                        source=str(_one(graph, ev, ctk.source, path, "evidence")),
                        document_id=str(_one(graph, ev, ctk.documentId, path, "evidence")),
                        sentence=str(_one(graph, ev, ctk.sentence, path, "evidence")),
                        year=int(str(_python(year))) if year is not None else None,
                    ),
                )
            )
        relations.append(
            Relation(
                id=str(_one(graph, fact, ctk.id, path, "fact")),
                source_id=iri_to_id[subj],  # type: ignore[index]
                target_id=iri_to_id[obj],  # type: ignore[index]
                type=rel_type,  # type: ignore[arg-type]
                count=int(str(_one(graph, fact, ctk["count"], path, "fact"))),
                weight=float(str(_one(graph, fact, ctk.weight, path, "fact"))),
                evidence=[e for _, e in sorted(evidence, key=lambda pair: pair[0])],
            )
        )
    return concepts, relations


def read_rdf(
    path: str | Path, *, format: str | None = None
) -> tuple[list[Concept], list[Relation]]:
    """Parse an RDF file in the ctk scheme into concepts and relations.

    Raises:
        ConfigError: Unknown format.
        RecordParseError: The file cannot be parsed or breaks the scheme.
    """
    from rdflib import Graph

    path = Path(path)
    rdf_format = _rdf_format(format, path)
    graph = Graph()
    try:
        graph.parse(str(path), format=rdf_format)
    except FileNotFoundError as e:
        raise ConfigError(f"no such RDF file: {path}") from e
    except Exception as e:  # rdflib raises many parser-specific errors
        raise RecordParseError(f"cannot parse as {rdf_format}: {e}", source=str(path)) from e
    return graph_to_records(graph, source=path)


def import_rdf(
    store: GraphStore, path: str | Path, *, format: str | None = None
) -> tuple[int, int]:
    """Load an RDF file in the ctk scheme into a store (concepts first, then relations).

    Existing concepts and relations with the same ids are replaced.

    Returns:
        How many concepts and relations were written.

    Raises:
        ConfigError: Unknown format or missing file.
        RecordParseError: The file breaks the scheme.
    """
    concepts, relations = read_rdf(path, format=format)
    n_concepts = store.upsert_concepts(concepts)
    n_relations = store.upsert_relations(relations)
    logger.info("imported %d concepts and %d relations from %s", n_concepts, n_relations, path)
    return n_concepts, n_relations
