"""Synthetic discharge summaries with MIMIC-like sections and planted mentions.

Each positive phenotype that is not lab-only is mentioned (a hospital-course
sentence, often also the discharge diagnosis, past history and medications)
with probability ``1 - note_noise``; each negative one is mentioned negated
("No evidence of pneumonia on workup.") with probability ``note_noise``.
Lab-only phenotypes are never named. Every other sentence comes from filler
pools that name no phenotype.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from ctk.phenotypes import phenotype_by_name
from ctk.synth.profiles import PhenotypeProfile

__all__ = ["NoteContext", "generate_note"]

_NEGATIONS = (
    "No evidence of {term} on workup.",
    "{Term} was considered but ruled out.",
    "Rule out {term}: workup negative.",
    "There was initial concern for {term}, which was not confirmed.",
    "No signs of {term} during this admission.",
)

_GENERIC_COMPLAINTS = (
    "weakness",
    "fatigue",
    "fall at home",
    "dizziness",
    "malaise",
    "abdominal pain",
)
_GENERIC_HISTORY = (
    "osteoarthritis",
    "GERD",
    "hypothyroidism",
    "depression",
    "BPH",
    "gout",
    "anxiety",
    "osteoporosis",
    "glaucoma",
    "s/p cholecystectomy",
    "remote tobacco use",
)
_GENERIC_MEDICATIONS = (
    "acetaminophen 650 mg PO q6h PRN pain",
    "docusate sodium 100 mg PO BID",
    "senna 8.6 mg PO daily PRN constipation",
    "levothyroxine 50 mcg PO daily",
    "omeprazole 20 mg PO daily",
    "sertraline 50 mg PO daily",
    "multivitamin 1 tab PO daily",
    "tamsulosin 0.4 mg PO at bedtime",
)
_GENERIC_COURSE = (
    "Physical therapy evaluated the patient and recommended discharge home with services.",
    "Code status: full code, confirmed with the patient and family.",
    "Pain was controlled with acetaminophen and a short course of oxycodone.",
    "DVT prophylaxis was given with subcutaneous heparin.",
    "Diet was advanced as tolerated without difficulty.",
    "The patient ambulated independently prior to discharge.",
    "Home medications were reconciled on the day of discharge.",
    "Social work met with the family to discuss discharge planning.",
    "Nutrition was consulted and recommended oral supplements.",
    "Blood cultures from admission showed no growth at the time of discharge.",
    "A urinalysis was unremarkable.",
    "The case was discussed at length with the primary care physician.",
)
_PROCEDURES = (
    "None",
    "None",
    "Central line placement",
    "Arterial line placement",
    "PICC placement",
)
_ALLERGIES = (
    "No Known Allergies / Adverse Drug Reactions",
    "Penicillins",
    "Sulfa (Sulfonamide Antibiotics)",
    "Codeine",
)
_SOCIAL = (
    "Lives with wife, retired teacher. No alcohol or illicit drug use.",
    "Lives alone, independent in ADLs. Quit smoking 20 years ago.",
    "Lives with daughter. Drinks 2-3 beers per week. No drug use.",
    "Lives in an assisted living facility. Former smoker, 30 pack-years.",
    "Works as an accountant. Social alcohol use, never smoker.",
)
_EXAMS = (
    "General: in no acute distress. Abdomen: soft, nontender. Extremities: warm.",
    "General: ill-appearing but answering questions. Lungs: scattered crackles. "
    "Abdomen: soft, mildly tender. Neuro: moving all extremities.",
    "General: alert and oriented. Heart: regular rate. Abdomen: soft, nondistended. "
    "Skin: no rashes.",
)
_DISPOSITIONS = ("Home", "Home With Service", "Extended Care", "Skilled nursing facility")
_CONDITIONS = (
    "Mental Status: Clear and coherent. Activity Status: Ambulatory - Independent.",
    "Mental Status: Clear and coherent. Activity Status: Ambulatory with a walker.",
)
_INSTRUCTIONS = (
    "Please take your medications as prescribed and return to the emergency department "
    "if you have fevers, chest pain or trouble breathing.",
    "It was a pleasure taking care of you. Please keep your follow-up appointments.",
)
_FOLLOWUP = (
    "Please follow up with your primary care physician within 1-2 weeks.",
    "Follow-up appointments have been scheduled with your primary care physician.",
)


class NoteContext:
    """Patient facts a note states (age, sex, dates).

    Args:
        age: Age in years.
        male: Sex.
        admit: Admission date (shifted into the future as MIMIC does).
        days: Length of the hospital stay in days.
    """

    __slots__ = ("admit", "age", "days", "male")

    def __init__(self, *, age: int, male: bool, admit: dt.date, days: int) -> None:
        self.age = age
        self.male = male
        self.admit = admit
        self.days = days


def _is_acute(name: str) -> bool:
    phenotype = phenotype_by_name(name)
    return phenotype is not None and phenotype.kind == "acute"


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(0, len(options)))]


def _fill(sentence: str, term: str) -> str:
    cap = term[:1].upper() + term[1:]
    return sentence.replace("{Term}", cap).replace("{term}", term)


def _date(d: dt.date) -> str:
    return f"[**{d.year}-{d.month}-{d.day}**]"


def generate_note(
    rng: np.random.Generator,
    ctx: NoteContext,
    profiles: Sequence[PhenotypeProfile],
    positives: frozenset[str],
    note_noise: float,
) -> str:
    """Write one discharge summary.

    Args:
        rng: The note's random generator.
        ctx: Age, sex and dates.
        profiles: All phenotype profiles, in table order.
        positives: Names of the stay's positive phenotypes.
        note_noise: Probability that a positive is left out and that a negative is
            mentioned negated.

    Returns:
        The note text.
    """
    mentioned: list[PhenotypeProfile] = []
    course: list[str] = []
    diagnoses: list[str] = []
    history: list[str] = []
    medications: list[str] = []
    complaints: list[str] = []
    acute_terms: set[str] = set()
    for profile in profiles:
        draws = rng.random(5)
        if profile.lab_only:
            continue
        if profile.name in positives:
            if draws[0] < note_noise:
                continue
            mentioned.append(profile)
            course.append(_fill(_pick(rng, profile.course), _pick(rng, profile.terms)))
            if draws[1] < 0.8:
                diagnoses.append(_pick(rng, profile.terms))
                if _is_acute(profile.name):
                    acute_terms.add(diagnoses[-1])
            if draws[2] < 0.6:
                history.append(_pick(rng, profile.terms))
            if profile.medications and draws[3] < 0.7:
                medications.append(_pick(rng, profile.medications))
            complaints.extend(profile.complaints)
        elif draws[0] < note_noise:
            course.append(_fill(_pick(rng, _NEGATIONS), _pick(rng, profile.terms)))

    n_filler = int(rng.integers(1, 4))
    filler_idx = rng.permutation(len(_GENERIC_COURSE))
    course.extend(_GENERIC_COURSE[int(i)] for i in filler_idx[:n_filler])
    order = rng.permutation(len(course))
    course = [course[int(i)] for i in order]
    history.extend(_GENERIC_HISTORY[int(i)] for i in rng.permutation(len(_GENERIC_HISTORY))[:2])
    medications.extend(
        _GENERIC_MEDICATIONS[int(i)]
        for i in rng.permutation(len(_GENERIC_MEDICATIONS))[: int(rng.integers(2, 4))]
    )
    complaint = _pick(rng, complaints) if complaints else _pick(rng, _GENERIC_COMPLAINTS)
    title = "Mr." if ctx.male else "Ms."
    noun = "man" if ctx.male else "woman"
    pronoun = "He" if ctx.male else "She"
    birth = dt.date(ctx.admit.year - ctx.age, int(rng.integers(1, 13)), int(rng.integers(1, 29)))
    discharge = ctx.admit + dt.timedelta(days=ctx.days)
    diagnoses.sort(key=lambda term: term not in acute_terms)
    pmh = ", ".join(history[:4])

    lines: list[str] = [
        f"Admission Date:  {_date(ctx.admit)}              Discharge Date:   {_date(discharge)}",
        "",
        f"Date of Birth:  {_date(birth)}             Sex:   {'M' if ctx.male else 'F'}",
        "",
        f"Service: {_pick(rng, ('MEDICINE', 'MEDICINE', 'SURGERY', 'CARDIOLOGY', 'NEUROLOGY'))}",
        "",
        "Allergies:",
        _pick(rng, _ALLERGIES),
        "",
        f"Attending:[**First Name3 (LF) {int(rng.integers(100, 9999))}**]",
        "",
        "Chief Complaint:",
        complaint,
        "",
        "Major Surgical or Invasive Procedure:",
        _pick(rng, _PROCEDURES),
        "",
        "History of Present Illness:",
        f"{title} [**Known lastname {int(rng.integers(1000, 99999))}**] is a {ctx.age} year old "
        f"{noun} with a history of {pmh} who presents with {complaint}. {pronoun} was in "
        f"{'the usual state of health' if rng.random() < 0.5 else 'fair health'} until "
        f"{int(rng.integers(1, 8))} days prior to admission.",
        "",
        "Past Medical History:",
        *[f"- {item}" for item in history],
        "",
        "Social History:",
        _pick(rng, _SOCIAL),
        "",
        "Physical Exam:",
        _pick(rng, _EXAMS),
        "",
        "Brief Hospital Course:",
        f"{ctx.age} year old {noun} admitted with {complaint}, treated as follows.",
        *course,
        "",
        "Discharge Medications:",
        *[f"{i}. {m}" for i, m in enumerate(medications, start=1)],
        "",
        "Discharge Disposition:",
        _pick(rng, _DISPOSITIONS),
        "",
        "Discharge Diagnosis:",
        "Primary:",
        diagnoses[0] if diagnoses else complaint,
        "Secondary:",
        *diagnoses[1:],
        "",
        "Discharge Condition:",
        _pick(rng, _CONDITIONS),
        "",
        "Discharge Instructions:",
        _pick(rng, _INSTRUCTIONS),
        "",
        "Followup Instructions:",
        _pick(rng, _FOLLOWUP),
    ]
    return "\n".join(lines) + "\n"
