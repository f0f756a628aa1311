"""A small knowledge graph and cohort shared by the plugin and rationale tests."""

from __future__ import annotations

from pathlib import Path

from ctk.kg.stores.embedded import EmbeddedStore
from ctk.records import Admission, ClinicalNote, Concept, Evidence, LabSeries, Relation

CONCEPTS = [
    Concept(
        id="ctk:heart_failure",
        name="heart failure",
        type="disease",
        synonyms=["congestive heart failure", "CHF"],
        mentions=40,
    ),
    Concept(
        id="ctk:dyspnea",
        name="dyspnea",
        type="symptom",
        synonyms=["shortness of breath"],
        mentions=30,
    ),
    Concept(id="ctk:edema", name="edema", type="finding", synonyms=["oedema"], mentions=20),
    Concept(id="ctk:tachycardia", name="tachycardia", type="finding", mentions=15),
    Concept(id="ctk:furosemide", name="furosemide", type="drug", synonyms=["lasix"], mentions=12),
    Concept(id="ctk:pneumonia", name="pneumonia", type="disease", mentions=35),
    Concept(id="ctk:fever", name="fever", type="symptom", mentions=25),
    Concept(id="ctk:cough", name="cough", type="symptom", mentions=18),
    Concept(id="ctk:hyperglycemia", name="hyperglycemia", type="finding", mentions=10),
    Concept(
        id="ctk:diabetes",
        name="diabetes mellitus",
        type="disease",
        synonyms=["diabetes"],
        mentions=28,
    ),
    Concept(id="ctk:insulin", name="insulin", type="drug", mentions=14),
]

_EDGES = [
    (
        "ctk:dyspnea",
        "symptom_of",
        "ctk:heart_failure",
        0.62,
        "11111",
        "Dyspnea on exertion is the cardinal symptom of heart failure.",
    ),
    (
        "ctk:edema",
        "symptom_of",
        "ctk:heart_failure",
        0.55,
        "11112",
        "Peripheral edema is common in congestive heart failure.",
    ),
    (
        "ctk:furosemide",
        "treats",
        "ctk:heart_failure",
        0.48,
        "11113",
        "Furosemide relieves congestion in acute heart failure.",
    ),
    (
        "ctk:tachycardia",
        "associated_with",
        "ctk:heart_failure",
        0.30,
        "11114",
        "Resting tachycardia predicts outcomes in heart failure.",
    ),
    (
        "ctk:fever",
        "symptom_of",
        "ctk:pneumonia",
        0.58,
        "22221",
        "Fever and productive cough suggest bacterial pneumonia.",
    ),
    (
        "ctk:cough",
        "symptom_of",
        "ctk:pneumonia",
        0.52,
        "22222",
        "Cough is present in most patients with community-acquired pneumonia.",
    ),
    (
        "ctk:tachycardia",
        "associated_with",
        "ctk:pneumonia",
        0.21,
        "22223",
        "Tachycardia is a marker of severity in pneumonia.",
    ),
    (
        "ctk:hyperglycemia",
        "symptom_of",
        "ctk:diabetes",
        0.66,
        "33331",
        "Persistent hyperglycemia defines diabetes mellitus.",
    ),
    (
        "ctk:insulin",
        "treats",
        "ctk:diabetes",
        0.61,
        "33332",
        "Insulin lowers blood glucose in diabetes mellitus.",
    ),
]

RELATIONS = [
    Relation(
        id=Relation.make_id(s, t, o),
        source_id=s,
        target_id=o,
        type=t,  # type: ignore[arg-type]
        count=3,
        weight=w,
        evidence=[Evidence(source="pubmed", document_id=pmid, sentence=sent, year=2020)],
    )
    for s, t, o, w, pmid, sent in _EDGES
]


def build_store(path: Path) -> EmbeddedStore:
    """The small graph in an embedded store at ``path``."""
    store = EmbeddedStore(path)
    store.upsert_concepts(CONCEPTS)
    store.upsert_relations(RELATIONS)
    return store


HF = "Congestive heart failure; nonhypertensive"
PNA = "Pneumonia (except that caused by tuberculosis or sexually transmitted disease)"
DM = "Diabetes mellitus without complication"


def _labs(hr: float, glucose: float) -> LabSeries:
    return LabSeries(
        variables=["Heart Rate", "Glucose"],
        hours=[0.0, 1.0, 2.0],
        values=[[hr, hr + 5, 90.0], [glucose, 120.0, None]],
    )


def make_admissions(n: int = 6) -> list[Admission]:
    """``n`` admissions cycling through three patterns."""
    notes = [
        (
            "Admitted with worsening shortness of breath and leg edema. Diuresed with lasix.",
            [HF],
            _labs(140.0, 110.0),
        ),
        (
            "Fever and cough for three days; chest x-ray showed a right lower lobe pneumonia.",
            [PNA],
            _labs(131.0, 100.0),
        ),
        ("Known diabetes on insulin, admitted with hyperglycemia.", [DM], _labs(80.0, 320.0)),
    ]
    out = []
    for i in range(n):
        text, dx, labs = notes[i % 3]
        out.append(
            Admission(
                admission_id=f"adm{i:03d}",
                source="synthetic",
                split="train",
                note=ClinicalNote(text=text, sections={"brief hospital course": text}),
                labs=labs,
                phenotypes=dx,
            )
        )
    return out
