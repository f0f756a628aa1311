# ruff: noqa: E501  (the sample texts are data: one sentence per line reads best)
"""Write ctk's sample corpora (``samples/corpora/``) in the real NLM and MediaWiki formats.

The texts are written for ctk (medically sensible, not copied from PubMed or
Wikipedia), so the files are ours to license. The script is deterministic (fixed
gzip/bzip2 headers), so re-running it gives byte-identical files.

Usage::

    python tools/make_sample_corpora.py [--out samples/corpora]
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import zlib
from pathlib import Path
from xml.sax.saxutils import escape

# (pmid, year, title, abstract parts [(label or "", text)], mesh terms)
Citation = tuple[int, int, str, list[tuple[str, str]], list[str]]

BASELINE: list[Citation] = [
    (
        39000001,
        2019,
        "Natriuretic peptides in the diagnosis of acute heart failure.",
        [
            (
                "BACKGROUND",
                "Congestive heart failure commonly presents with dyspnea and peripheral edema.",
            ),
            (
                "METHODS",
                "We measured BNP and NT-proBNP in 412 patients admitted with acute dyspnea.",
            ),
            (
                "RESULTS",
                "Elevated BNP is used to diagnose heart failure in the emergency department. "
                "Patients with heart failure had higher troponin and creatinine than patients with pneumonia.",
            ),
            (
                "CONCLUSIONS",
                "Heart failure is diagnosed with echocardiography and natriuretic peptides, e.g. BNP above 100 pg/mL.",
            ),
        ],
        ["Heart Failure", "Natriuretic Peptide, Brain", "Dyspnea"],
    ),
    (
        39000002,
        2020,
        "Loop diuretics for congestion in decompensated heart failure.",
        [
            (
                "",
                "Furosemide is used to treat fluid overload in heart failure. Orthopnea and jugular venous distension "
                "are signs of congestion in heart failure. Diuretics relieve dyspnea and peripheral edema. "
                "Hypokalemia and acute kidney injury were the main adverse events of high-dose furosemide.",
            ),
        ],
        ["Heart Failure", "Furosemide", "Diuretics"],
    ),
    (
        39000003,
        2018,
        "Beta blockers and ACE inhibitors after myocardial infarction.",
        [
            ("OBJECTIVE", "To assess secondary prevention after acute myocardial infarction."),
            (
                "RESULTS",
                "Beta blockers reduce mortality in heart failure with reduced ejection fraction. "
                "ACE inhibitors are used to treat hypertension and heart failure. "
                "Myocardial infarction leads to heart failure in one patient in four.",
            ),
            (
                "CONCLUSION",
                "Aspirin and statins are used for the treatment of coronary artery disease.",
            ),
        ],
        ["Myocardial Infarction", "Adrenergic beta-Antagonists"],
    ),
    (
        39000004,
        2021,
        "Troponin and the electrocardiogram in suspected acute coronary syndrome.",
        [
            (
                "",
                "Acute myocardial infarction is diagnosed by troponin elevation and the electrocardiogram. "
                "Chest pain is the most common symptom of myocardial infarction. "
                "ST-segment elevation indicates STEMI, which is treated with percutaneous coronary intervention.",
            ),
        ],
        ["Myocardial Infarction", "Troponin", "Electrocardiography"],
    ),
    (
        39000005,
        2017,
        "Sepsis and septic shock in the intensive care unit.",
        [
            ("BACKGROUND", "Sepsis is a life-threatening organ dysfunction caused by infection."),
            ("METHODS", "We studied 1,203 adults with sepsis (vs. 900 controls) in 12 ICUs."),
            (
                "RESULTS",
                "Sepsis can lead to septic shock and acute kidney injury. Lactate is used to diagnose septic shock. "
                "Septic shock is treated with norepinephrine and intravenous fluids. "
                "Fever, tachycardia and hypotension were the most frequent signs.",
            ),
            ("CONCLUSIONS", "Early antibiotics improve survival in sepsis."),
        ],
        ["Sepsis", "Shock, Septic", "Lactic Acid"],
    ),
    (
        39000006,
        2022,
        "Blood cultures and procalcitonin in bacteremia.",
        [
            (
                "",
                "Bacteremia is confirmed by blood cultures. Procalcitonin is a biomarker for bacterial sepsis. "
                "Leukocytosis and fever suggest sepsis in hospitalized patients.",
            ),
        ],
        ["Bacteremia", "Procalcitonin"],
    ),
    (
        39000007,
        2016,
        "Community-acquired pneumonia: presentation and treatment.",
        [
            ("BACKGROUND", "Pneumonia presents with fever, cough and dyspnea."),
            (
                "RESULTS",
                "Pneumonia is diagnosed with a chest radiograph showing consolidation. "
                "Ceftriaxone and azithromycin are used to treat community-acquired pneumonia. "
                "Hypoxemia in pneumonia leads to respiratory failure in severe cases.",
            ),
            (
                "CONCLUSIONS",
                "There was no evidence of pneumonia on the chest radiograph in 40 patients with cough.",
            ),
        ],
        ["Pneumonia", "Ceftriaxone", "Cough"],
    ),
    (
        39000008,
        2019,
        "Aspiration pneumonia in older adults with stroke.",
        [
            (
                "",
                "Dysphagia after stroke causes aspiration pneumonia. Aspiration pneumonia is treated with antibiotics. "
                "Patients with stroke present with hemiparesis and aphasia.",
            ),
        ],
        ["Pneumonia, Aspiration", "Stroke", "Deglutition Disorders"],
    ),
    (
        39000009,
        2020,
        "Acute ischemic stroke: imaging and thrombolysis.",
        [
            ("BACKGROUND", "Acute cerebrovascular disease is a leading cause of disability."),
            (
                "METHODS",
                "Stroke is diagnosed with computed tomography. Thrombolysis is used to treat acute ischemic stroke.",
            ),
            (
                "RESULTS",
                "Atrial fibrillation causes cardioembolic stroke. Hypertension is a major cause of intracerebral hemorrhage.",
            ),
        ],
        ["Stroke", "Tissue Plasminogen Activator", "Atrial Fibrillation"],
    ),
    (
        39000010,
        2018,
        "Anticoagulation in atrial fibrillation.",
        [
            (
                "",
                "Atrial fibrillation presents with palpitations, dyspnea and fatigue. "
                "Warfarin and other oral anticoagulants are used to treat atrial fibrillation to prevent stroke. "
                "Atrial fibrillation is diagnosed by an electrocardiogram. Amiodarone is used for rhythm control.",
            ),
        ],
        ["Atrial Fibrillation", "Warfarin", "Anticoagulants"],
    ),
    (
        39000011,
        2015,
        "Bradycardia and atrioventricular block.",
        [
            (
                "",
                "Heart block causes bradycardia and syncope. Complete atrioventricular block is treated with a pacemaker. "
                "Bundle branch block is detected on the electrocardiogram.",
            ),
        ],
        ["Heart Block", "Bradycardia", "Pacemaker, Artificial"],
    ),
    (
        39000012,
        2021,
        "Acute kidney injury in hospitalized patients.",
        [
            (
                "BACKGROUND",
                "Acute kidney injury is diagnosed by a rise in serum creatinine and oliguria.",
            ),
            (
                "RESULTS",
                "Hypovolemia and sepsis cause acute kidney injury. Hyperkalemia is a complication of acute kidney injury. "
                "Severe acute kidney injury is treated with hemodialysis.",
            ),
        ],
        ["Acute Kidney Injury", "Creatinine", "Renal Dialysis"],
    ),
    (
        39000013,
        2019,
        "Chronic kidney disease and anemia.",
        [
            (
                "",
                "Chronic kidney disease leads to anemia and hyperkalemia. Chronic kidney disease is diagnosed by eGFR and proteinuria. "
                "Diabetes mellitus and hypertension are the main causes of chronic kidney disease. "
                "End-stage renal disease is treated with dialysis.",
            ),
        ],
        ["Renal Insufficiency, Chronic", "Anemia"],
    ),
    (
        39000014,
        2017,
        "COPD exacerbations: bronchodilators and corticosteroids.",
        [
            (
                "BACKGROUND",
                "Chronic obstructive pulmonary disease presents with dyspnea, cough and wheezing.",
            ),
            ("METHODS", "COPD is diagnosed by spirometry (FEV1/FVC below 0.7)."),
            (
                "RESULTS",
                "Bronchodilators and corticosteroids are used to treat COPD exacerbations. "
                "Hypercapnia in COPD leads to respiratory failure, which is treated with noninvasive ventilation.",
            ),
        ],
        ["Pulmonary Disease, Chronic Obstructive", "Bronchodilator Agents"],
    ),
    (
        39000015,
        2022,
        "Acute respiratory failure and mechanical ventilation.",
        [
            (
                "",
                "Respiratory failure is diagnosed with an arterial blood gas. Hypoxemia and hypercapnia are features of respiratory failure. "
                "Respiratory failure is managed with mechanical ventilation and oxygen therapy. "
                "Pneumonia and sepsis are common causes of respiratory failure.",
            ),
        ],
        ["Respiratory Insufficiency", "Respiration, Artificial"],
    ),
    (
        39000016,
        2016,
        "Pleural effusion and pneumothorax.",
        [
            (
                "",
                "Pneumothorax presents with pleuritic chest pain and dyspnea. Pneumothorax is diagnosed with a chest radiograph. "
                "A large pneumothorax is treated with a chest tube. Heart failure causes pleural effusion, which is treated with thoracentesis.",
            ),
        ],
        ["Pneumothorax", "Pleural Effusion"],
    ),
    (
        39000017,
        2020,
        "Diabetic ketoacidosis in adults.",
        [
            (
                "BACKGROUND",
                "Diabetic ketoacidosis presents with polyuria, polydipsia, vomiting and abdominal pain.",
            ),
            (
                "RESULTS",
                "Diabetic ketoacidosis is diagnosed by hyperglycemia, ketonuria and metabolic acidosis. "
                "Diabetic ketoacidosis is treated with insulin and intravenous fluids. Hypokalemia occurs in diabetic ketoacidosis.",
            ),
        ],
        ["Diabetic Ketoacidosis", "Insulin"],
    ),
    (
        39000018,
        2018,
        "Glycemic control in type 2 diabetes.",
        [
            (
                "",
                "Diabetes mellitus is diagnosed by HbA1c of 6.5% or more. Metformin is used to treat type 2 diabetes. "
                "Hyperglycemia causes polyuria and polydipsia. Diabetes leads to chronic kidney disease and coronary artery disease.",
            ),
        ],
        ["Diabetes Mellitus, Type 2", "Metformin", "Glycated Hemoglobin"],
    ),
    (
        39000019,
        2019,
        "Statins in hyperlipidemia.",
        [
            (
                "",
                "Hyperlipidemia is diagnosed with LDL cholesterol and triglycerides. Statins are used to treat hyperlipidemia. "
                "Hypercholesterolemia leads to coronary artery disease.",
            ),
        ],
        ["Hyperlipidemias", "Hydroxymethylglutaryl-CoA Reductase Inhibitors"],
    ),
    (
        39000020,
        2021,
        "Hyponatremia and hyperkalemia in the emergency department.",
        [
            ("BACKGROUND", "Hyponatremia presents with confusion, headache and nausea."),
            (
                "RESULTS",
                "Hyperkalemia is diagnosed by serum potassium and the electrocardiogram. "
                "Hyperkalemia is treated with calcium gluconate and insulin. Dehydration causes hypernatremia and acute kidney injury.",
            ),
        ],
        ["Hyponatremia", "Hyperkalemia", "Water-Electrolyte Imbalance"],
    ),
    (
        39000021,
        2017,
        "Upper gastrointestinal bleeding.",
        [
            (
                "",
                "Gastrointestinal hemorrhage presents with hematemesis and melena. Gastrointestinal bleeding leads to anemia and hypotension. "
                "Upper gastrointestinal bleeding is diagnosed with endoscopy and treated with proton pump inhibitors and blood transfusion.",
            ),
        ],
        ["Gastrointestinal Hemorrhage", "Proton Pump Inhibitors", "Endoscopy"],
    ),
    (
        39000022,
        2020,
        "Cirrhosis and hepatic encephalopathy.",
        [
            ("BACKGROUND", "Cirrhosis presents with jaundice and ascites."),
            (
                "RESULTS",
                "Hepatic encephalopathy is treated with lactulose and rifaximin. Cirrhosis leads to hepatic encephalopathy and gastrointestinal bleeding. "
                "Cirrhosis is diagnosed with liver function tests, bilirubin, albumin and INR.",
            ),
            ("CONCLUSIONS", "Ascites is managed with spironolactone and paracentesis."),
        ],
        ["Liver Cirrhosis", "Hepatic Encephalopathy", "Lactulose"],
    ),
    (
        39000023,
        2016,
        "Essential hypertension and its treatment.",
        [
            (
                "",
                "Essential hypertension is diagnosed by repeated blood pressure measurements. "
                "Hydrochlorothiazide, amlodipine and lisinopril are used to treat hypertension. "
                "Hypertension causes stroke, heart failure and chronic kidney disease.",
            ),
        ],
        ["Hypertension", "Antihypertensive Agents"],
    ),
    (
        39000024,
        2019,
        "Hypertensive crisis and end-organ damage.",
        [
            (
                "",
                "Hypertensive crisis presents with headache, blurred vision and chest pain. "
                "Hypertensive heart disease leads to heart failure. Secondary hypertension is caused by renal artery stenosis.",
            ),
        ],
        ["Hypertension, Malignant", "Hypertensive Heart Disease"],
    ),
    (
        39000025,
        2018,
        "Coronary artery disease and stable angina.",
        [
            (
                "",
                "Coronary artery disease presents with chest pain on exertion. Coronary artery disease is diagnosed by coronary angiography. "
                "Nitroglycerin relieves angina. Coronary atherosclerosis is treated with percutaneous coronary intervention or coronary artery bypass grafting.",
            ),
        ],
        ["Coronary Artery Disease", "Angina, Stable", "Nitroglycerin"],
    ),
    (
        39000026,
        2022,
        "Cardiogenic shock after myocardial infarction.",
        [
            ("BACKGROUND", "Cardiogenic shock is a complication of acute myocardial infarction."),
            (
                "RESULTS",
                "Cardiogenic shock presents with hypotension, elevated lactate and oliguria. "
                "Cardiogenic shock is treated with dobutamine and norepinephrine.",
            ),
        ],
        ["Shock, Cardiogenic", "Myocardial Infarction", "Dobutamine"],
    ),
    (
        39000027,
        2021,
        "Hypovolemic shock in trauma and bleeding.",
        [
            (
                "",
                "Gastrointestinal hemorrhage causes hypovolemic shock. Hypovolemic shock presents with tachycardia and hypotension. "
                "Hypovolemic shock is treated with intravenous fluids and blood transfusion.",
            ),
        ],
        ["Shock", "Hypovolemia"],
    ),
    (
        39000028,
        2015,
        "Postoperative complications after cardiac surgery.",
        [
            (
                "",
                "Postoperative complications include pneumonia, atrial fibrillation and acute kidney injury. "
                "Surgical complications lead to sepsis in older patients. Complications of surgical procedures or medical care are common in the ICU.",
            ),
        ],
        ["Postoperative Complications", "Cardiac Surgical Procedures"],
    ),
    (
        39000029,
        2018,
        "Upper respiratory infection in adults.",
        [
            (
                "",
                "Upper respiratory infection presents with sore throat, nasal congestion and cough. "
                "Sinusitis is treated with amoxicillin when bacterial. Pharyngitis causes sore throat and fever.",
            ),
        ],
        ["Respiratory Tract Infections", "Sinusitis"],
    ),
    (
        39000030,
        2020,
        "Pulmonary edema and interstitial lung disease.",
        [
            (
                "",
                "Pulmonary edema presents with orthopnea and pulmonary crackles. Heart failure causes pulmonary edema, which is treated with furosemide. "
                "Interstitial lung disease leads to hypoxemia and is diagnosed with computed tomography.",
            ),
        ],
        ["Pulmonary Edema", "Lung Diseases, Interstitial"],
    ),
    (
        39000031,
        2019,
        "Ventricular tachycardia and sudden death.",
        [
            (
                "",
                "Ventricular tachycardia causes syncope and cardiac arrest. Ventricular tachycardia is diagnosed by an electrocardiogram. "
                "Hypokalemia and hypomagnesemia trigger arrhythmias.",
            ),
        ],
        ["Tachycardia, Ventricular", "Arrhythmias, Cardiac"],
    ),
    (
        39000032,
        2017,
        "Glasgow coma scale and mortality in stroke.",
        [
            (
                "",
                "A low Glasgow coma scale predicts death in intracerebral hemorrhage. Hyperglycemia is associated with worse outcome after stroke. "
                "Fever after stroke was treated with acetaminophen.",
            ),
        ],
        ["Glasgow Coma Scale", "Cerebral Hemorrhage"],
    ),
    (
        39000033,
        2023,
        "Lactate clearance in septic shock.",
        [
            ("OBJECTIVE", "To relate lactate clearance to survival in septic shock."),
            (
                "RESULTS",
                "Lactic acidosis is a sign of septic shock. Septic shock leads to multiorgan failure and respiratory failure. "
                "Vasopressors are used to treat septic shock.",
            ),
        ],
        ["Shock, Septic", "Lactic Acid"],
    ),
    (
        39000034,
        2016,
        "Diabetic nephropathy and neuropathy.",
        [
            (
                "",
                "Diabetic nephropathy presents with proteinuria and leads to chronic kidney disease. "
                "Diabetic neuropathy causes numbness and paresthesia in the feet. SGLT2 inhibitors are used to treat diabetic nephropathy.",
            ),
        ],
        ["Diabetic Nephropathies", "Diabetic Neuropathies"],
    ),
    (
        39000035,
        2022,
        "Anemia in heart failure.",
        [
            (
                "",
                "Anemia is diagnosed by hemoglobin below 12 g/dL in women. Anemia worsens dyspnea and fatigue in heart failure. "
                "Iron deficiency is a common cause of anemia in chronic kidney disease.",
            ),
        ],
        ["Anemia", "Heart Failure"],
    ),
    (
        39000036,
        2018,
        "Thrombocytopenia and coagulopathy in sepsis.",
        [
            (
                "",
                "Sepsis causes thrombocytopenia and coagulopathy. Coagulopathy is diagnosed by INR and platelet count. "
                "Disseminated intravascular coagulation is a complication of septic shock.",
            ),
        ],
        ["Thrombocytopenia", "Sepsis", "Blood Coagulation Disorders"],
    ),
    (
        39000037,
        2021,
        "Heart rate, respiratory rate and early warning in the ward.",
        [
            (
                "",
                "Tachypnea and tachycardia are early signs of sepsis. Respiratory rate above 22 and systolic blood pressure below 100 mmHg predict death in sepsis. "
                "Oxygen saturation below 90% indicates hypoxemia.",
            ),
        ],
        ["Vital Signs", "Early Warning Score"],
    ),
]

# A versioned citation (Version="2" of an existing PMID number space) and a deleted one.
VERSIONED: Citation = (
    39000038,
    2023,
    "Heart failure with preserved ejection fraction (version 2).",
    [
        (
            "",
            "Diastolic heart failure presents with dyspnea on exertion and is diagnosed with echocardiography. "
            "SGLT2 inhibitors are used to treat heart failure with preserved ejection fraction.",
        ),
    ],
    ["Heart Failure, Diastolic"],
)
DELETED_PMIDS = (38999990, 38999991)

EFETCH: list[Citation] = [
    (
        39100001,
        2024,
        "Hyperkalemia management in chronic kidney disease.",
        [
            (
                "",
                "Hyperkalemia is a complication of chronic kidney disease. Hyperkalemia is treated with insulin, calcium gluconate and dialysis.",
            ),
        ],
        ["Hyperkalemia", "Renal Insufficiency, Chronic"],
    ),
    (
        39100002,
        2024,
        "Atrial flutter and cardioversion.",
        [
            (
                "",
                "Atrial flutter presents with palpitations. Atrial flutter is treated with cardioversion or catheter ablation.",
            ),
        ],
        ["Atrial Flutter", "Electric Countershock"],
    ),
    (
        39100003,
        2023,
        "COPD and pneumonia.",
        [
            ("BACKGROUND", "Pneumonia is a common cause of COPD exacerbations."),
            (
                "RESULTS",
                "COPD exacerbations present with wheezing and sputum production and are treated with antibiotics and corticosteroids.",
            ),
        ],
        ["Pulmonary Disease, Chronic Obstructive", "Pneumonia"],
    ),
    (
        39100004,
        2023,
        "Hepatic encephalopathy and ammonia.",
        [
            (
                "",
                "Hepatic encephalopathy presents with confusion. Elevated ammonia is found in hepatic encephalopathy, which is treated with lactulose.",
            ),
        ],
        ["Hepatic Encephalopathy", "Ammonia"],
    ),
    (
        39100005,
        2022,
        "Septic shock and vasopressin.",
        [
            (
                "",
                "Septic shock is treated with norepinephrine; vasopressin is added when hypotension persists.",
            ),
        ],
        ["Shock, Septic", "Vasopressins"],
    ),
    (
        39100006,
        2024,
        "Acute kidney injury after contrast.",
        [
            (
                "",
                "Contrast exposure causes acute kidney injury in chronic kidney disease. Acute kidney injury is diagnosed by serum creatinine.",
            ),
        ],
        ["Acute Kidney Injury", "Contrast Media"],
    ),
    (
        39100007,
        2021,
        "Pulmonary embolism and dyspnea.",
        [
            (
                "",
                "Pulmonary embolism presents with dyspnea, pleuritic chest pain and tachycardia. Pulmonary embolism is diagnosed with D-dimer and computed tomography and treated with heparin.",
            ),
        ],
        ["Pulmonary Embolism", "Fibrin Fibrinogen Degradation Products"],
    ),
    (
        39100008,
        2022,
        "Heart failure readmissions.",
        [
            (
                "",
                "Heart failure readmissions are caused by fluid overload. Sacubitril/valsartan is used to treat heart failure.",
            ),
        ],
        ["Heart Failure", "Patient Readmission"],
    ),
    (
        39100009,
        2020,
        "Delirium in the ICU.",
        [
            (
                "",
                "Sepsis causes delirium in older patients. Hypoglycemia and hyponatremia can present with confusion.",
            ),
        ],
        ["Delirium", "Sepsis"],
    ),
    (
        39100010,
        2024,
        "Gastrointestinal bleeding on anticoagulants.",
        [
            (
                "",
                "Anticoagulants lead to gastrointestinal bleeding. Gastrointestinal bleeding is treated with proton pump inhibitors and octreotide in cirrhosis.",
            ),
        ],
        ["Gastrointestinal Hemorrhage", "Anticoagulants"],
    ),
]


def _article(
    c: Citation, *, status: str = "MEDLINE", version: int = 1, efetch: bool = False
) -> str:
    pmid, year, title, parts, mesh = c
    abstract = "".join(
        (
            f'<AbstractText Label="{escape(label)}" NlmCategory="{escape(label.rstrip("S"))}">'
            if label
            else "<AbstractText>"
        )
        + escape(text)
        + "</AbstractText>"
        for label, text in parts
    )
    headings = "".join(
        f'<MeshHeading><DescriptorName UI="D{zlib.crc32(m.encode()) % 1000000:06d}" MajorTopicYN="N">'
        f"{escape(m)}</DescriptorName></MeshHeading>"
        for m in mesh
    )
    owner = ' IndexingMethod="Automated"' if efetch else ""
    return (
        f'<PubmedArticle>\n<MedlineCitation Status="{status}" Owner="NLM"{owner}>\n'
        f'<PMID Version="{version}">{pmid}</PMID>\n'
        f"<DateCompleted><Year>{year}</Year><Month>06</Month><Day>01</Day></DateCompleted>\n"
        '<Article PubModel="Print-Electronic">\n<Journal><ISSN IssnType="Electronic">0000-0000</ISSN>'
        f'<JournalIssue CitedMedium="Internet"><Volume>{year - 1900}</Volume><Issue>1</Issue>'
        f"<PubDate><Year>{year}</Year><Month>Jan</Month></PubDate></JournalIssue>"
        "<Title>Journal of Sample Clinical Medicine</Title></Journal>\n"
        f"<ArticleTitle>{escape(title)}</ArticleTitle>\n"
        f"<Abstract>{abstract}</Abstract>\n"
        '<AuthorList CompleteYN="Y"><Author ValidYN="Y"><LastName>Sample</LastName>'
        "<ForeName>Ctk</ForeName><Initials>C</Initials></Author></AuthorList>\n"
        '<Language>eng</Language><PublicationTypeList><PublicationType UI="D016428">'
        "Journal Article</PublicationType></PublicationTypeList>\n</Article>\n"
        f"<MeshHeadingList>{headings}</MeshHeadingList>\n</MedlineCitation>\n"
        '<PubmedData><History><PubMedPubDate PubStatus="pubmed">'
        f"<Year>{year}</Year><Month>1</Month><Day>2</Day></PubMedPubDate></History>"
        "<PublicationStatus>ppublish</PublicationStatus><ArticleIdList>"
        f'<ArticleId IdType="pubmed">{pmid}</ArticleId>'
        f'<ArticleId IdType="doi">10.0000/ctk.sample.{pmid}</ArticleId>'
        "</ArticleIdList></PubmedData>\n</PubmedArticle>\n"
    )


_HEADER = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
)

# A record whose AbstractText is never closed: the parser must skip and report it.
_MALFORMED = (
    '<PubmedArticle>\n<MedlineCitation Status="MEDLINE" Owner="NLM">\n'
    '<PMID Version="1">39000099</PMID>\n<Article PubModel="Print">\n'
    "<ArticleTitle>A malformed record.</ArticleTitle>\n"
    "<Abstract><AbstractText>This abstract element is never closed.</Abstract>\n"
    "</Article>\n</MedlineCitation>\n</PubmedArticle>\n"
)


def baseline_xml() -> str:
    """The baseline-style file: 37 citations, one malformed record, versions 1 and 2 of one
    citation, and a DeleteCitation."""
    body = [_article(c) for c in BASELINE[:20]]
    body.append(_MALFORMED)
    body += [_article(c) for c in BASELINE[20:]]
    first = (
        VERSIONED[0],
        VERSIONED[1] - 1,
        VERSIONED[2].replace("version 2", "version 1"),
        [("", "Diastolic heart failure presents with dyspnea on exertion.")],
        VERSIONED[4],
    )
    body.insert(5, _article(first, version=1))
    body.append(_article(VERSIONED, version=2))
    deletes = "".join(f'<PMID Version="1">{p}</PMID>' for p in DELETED_PMIDS)
    body.append(f"<DeleteCitation>{deletes}</DeleteCitation>\n")
    return _HEADER + "<PubmedArticleSet>\n" + "".join(body) + "</PubmedArticleSet>\n"


def efetch_xml() -> str:
    """The efetch-style file (what ``efetch.fcgi?db=pubmed&retmode=xml`` returns)."""
    body = "".join(_article(c, efetch=True) for c in EFETCH)
    return _HEADER + "<PubmedArticleSet>\n" + body + "</PubmedArticleSet>\n"


# (title, ns, wikitext or None for a redirect target, redirect target)
Page = tuple[str, int, str, str | None]

PAGES: list[Page] = [
    (
        "Heart failure",
        0,
        """{{Short description|Failure of the heart to pump enough blood}}
{{Infobox medical condition
| name = Heart failure
| symptoms = [[Shortness of breath]], [[edema|leg swelling]]
}}
'''Heart failure''' ('''HF'''), also known as '''congestive heart failure''' ('''CHF'''), is a syndrome in which the heart cannot pump enough blood.<ref name="NHLBI">{{cite web |title=What is heart failure? |publisher=Sample}}</ref> Heart failure presents with [[dyspnea|shortness of breath]], [[fatigue]] and [[peripheral edema]].

== Signs and symptoms ==
Heart failure commonly presents with [[orthopnea]], [[paroxysmal nocturnal dyspnea]] and [[ankle]] swelling.<ref>{{cite journal |title=Symptoms}}</ref> [[Jugular venous distension]] and [[pulmonary crackles]] are signs of heart failure.

== Causes ==
[[Coronary artery disease]], [[hypertension]] and [[atrial fibrillation]] cause heart failure. [[Myocardial infarction]] leads to heart failure.

== Diagnosis ==
Heart failure is diagnosed with [[echocardiography]] and [[brain natriuretic peptide|BNP]].
[[File:Chest radiograph cardiomegaly.jpg|thumb|A chest radiograph showing cardiomegaly]]

== Treatment ==
[[Furosemide]] is used to treat fluid overload in heart failure. [[ACE inhibitor]]s and [[beta blocker]]s improve survival in heart failure.

== References ==
{{Reflist}}

[[Category:Heart diseases]]
[[Category:Cardiovascular diseases]]""",
        None,
    ),
    (
        "Sepsis",
        0,
        """{{Infobox medical condition|name=Sepsis}}
'''Sepsis''' is a life-threatening condition caused by the body's response to [[infection]].<ref>{{cite web|title=Sepsis}}</ref>

== Signs and symptoms ==
Sepsis presents with [[fever]], [[tachycardia]], [[tachypnea]] and [[confusion]]. [[Hypotension]] is a sign of [[septic shock]].

== Diagnosis ==
Sepsis is diagnosed with [[blood culture]]s and [[lactate]]. [[Procalcitonin]] is a biomarker of bacterial sepsis.

== Treatment ==
Sepsis is treated with [[antibiotic]]s and [[intravenous fluids]]. [[Norepinephrine]] is used to treat septic shock.

== See also ==
* [[Septic shock]]

[[Category:Sepsis]]
[[Category:Intensive care medicine]]""",
        None,
    ),
    (
        "Pneumonia",
        0,
        """'''Pneumonia''' is an inflammatory condition of the lung.<ref>{{cite book|title=Lung}}</ref>
== Signs and symptoms ==
Pneumonia presents with [[cough]], [[fever]], [[dyspnea]] and [[pleuritic chest pain]].
== Diagnosis ==
Pneumonia is diagnosed with a [[chest radiograph]] that shows [[consolidation]].
== Treatment ==
Pneumonia is treated with [[antibiotic]]s such as [[amoxicillin]]. Severe pneumonia leads to [[respiratory failure]].
{| class="wikitable"
! Organism !! Antibiotic
|-
| Streptococcus || Amoxicillin
|}
[[Category:Pneumonia]]
[[Category:Infectious diseases]]""",
        None,
    ),
    (
        "Acute kidney injury",
        0,
        """'''Acute kidney injury''' ('''AKI''') is a sudden decrease in kidney function.
== Causes ==
[[Sepsis]], [[hypovolemia]] and nephrotoxic drugs cause acute kidney injury.
== Diagnosis ==
Acute kidney injury is diagnosed by a rise in [[creatinine]] and [[oliguria]].
== Complications ==
[[Hyperkalemia]] and [[metabolic acidosis]] are complications of acute kidney injury.
== Treatment ==
Severe acute kidney injury is treated with [[hemodialysis]].
[[Category:Kidney diseases]]""",
        None,
    ),
    (
        "Atrial fibrillation",
        0,
        """'''Atrial fibrillation''' ('''AF''' or '''AFib''') is an abnormal heart rhythm.<ref>Sample reference.</ref>
Atrial fibrillation presents with [[palpitations]], [[dizziness]] and [[dyspnea]]. It is diagnosed by an [[electrocardiogram]].
Atrial fibrillation causes [[stroke]]. [[Warfarin]] and other [[anticoagulant]]s are used to treat atrial fibrillation.
[[Category:Cardiac arrhythmia]]
[[Category:Cardiovascular diseases]]""",
        None,
    ),
    (
        "Chronic obstructive pulmonary disease",
        0,
        """'''Chronic obstructive pulmonary disease''' ('''COPD''') is a chronic lung disease.
COPD presents with [[dyspnea]], [[cough]] and [[sputum production]]. COPD is diagnosed by [[spirometry]].
[[Bronchodilator]]s are used to treat COPD. COPD leads to [[respiratory failure]] and [[hypercapnia]].
[[Category:Chronic lower respiratory diseases]]""",
        None,
    ),
    (
        "Diabetic ketoacidosis",
        0,
        """'''Diabetic ketoacidosis''' ('''DKA''') is a serious complication of [[diabetes mellitus]].
DKA presents with [[vomiting]], [[abdominal pain]], [[polyuria]] and [[confusion]].
Diabetic ketoacidosis is diagnosed by [[hyperglycemia]] and [[metabolic acidosis]]. It is treated with [[insulin]] and [[intravenous fluids]].
[[Category:Diabetes]]
[[Category:Medical emergencies]]""",
        None,
    ),
    (
        "Cirrhosis",
        0,
        """'''Cirrhosis''' is a condition in which the liver does not function properly due to long-term damage.
Cirrhosis presents with [[jaundice]], [[ascites]] and [[fatigue]]. Cirrhosis leads to [[hepatic encephalopathy]], which is treated with [[lactulose]].
[[Category:Diseases of liver]]""",
        None,
    ),
    (
        "Myocardial infarction",
        0,
        """'''Myocardial infarction''' ('''MI'''), commonly known as a heart attack, occurs when blood flow to the heart decreases.
MI presents with [[chest pain]], [[dyspnea]] and [[diaphoresis]]. Myocardial infarction is diagnosed by [[troponin]] and the [[electrocardiogram]].
Myocardial infarction is treated with [[aspirin]] and [[percutaneous coronary intervention]]. It leads to [[cardiogenic shock]].
[[Category:Ischemic heart diseases]]
[[Category:Medical emergencies]]""",
        None,
    ),
    (
        "Stroke",
        0,
        """'''Stroke''' is a medical condition in which poor blood flow to the brain causes cell death.
Stroke presents with [[hemiparesis]], [[aphasia]] and [[blurred vision]]. Stroke is diagnosed with [[computed tomography]].
[[Hypertension]] causes stroke. Acute ischemic stroke is treated with [[thrombolysis]].
[[Category:Cerebrovascular diseases]]""",
        None,
    ),
    (
        "Hyperkalemia",
        0,
        """'''Hyperkalemia''' is an elevated level of [[potassium]] in the blood.
Hyperkalemia is diagnosed by serum potassium and the [[electrocardiogram]]. [[Chronic kidney disease]] causes hyperkalemia.
Hyperkalemia is treated with [[calcium gluconate]], [[insulin]] and [[hemodialysis]].
[[Category:Electrolyte disturbances]]""",
        None,
    ),
    (
        "Furosemide",
        0,
        """{{Drugbox|name=Furosemide}}
'''Furosemide''' is a [[loop diuretic]] medication.<ref>{{cite web|title=Furosemide}}</ref>
Furosemide is used to treat [[edema]] due to [[heart failure]], [[cirrhosis]] and [[chronic kidney disease]]. Furosemide causes [[hypokalemia]].
[[Category:Loop diuretics]]
[[Category:World Health Organization essential medicines]]""",
        None,
    ),
    (
        "Congestive heart failure",
        0,
        "#REDIRECT [[Heart failure]]\n\n{{R from alternative name}}",
        "Heart failure",
    ),
    (
        "Talk:Heart failure",
        1,
        """== Lead section ==
I think the lead should mention [[dyspnea]] and [[furosemide]] earlier. ~~~~""",
        None,
    ),
    ("Template:Infobox medical condition", 10, "{{Infobox|title={{{name}}}}}", None),
    (
        "Apollo 11",
        0,
        """'''Apollo 11''' was the American spaceflight that first landed humans on the Moon.
The crew trained for fatigue and dizziness in simulators before the flight.
[[Category:Apollo program missions]]
[[Category:1969 in spaceflight]]""",
        None,
    ),
]


def wikipedia_xml() -> str:
    """A ``pages-articles`` MediaWiki export of :data:`PAGES`."""
    out = [
        '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.mediawiki.org/xml/export-0.11/ '
        'http://www.mediawiki.org/xml/export-0.11.xsd" version="0.11" xml:lang="en">\n'
        "  <siteinfo>\n    <sitename>Wikipedia</sitename>\n    <dbname>enwiki</dbname>\n"
        "    <base>https://en.wikipedia.org/wiki/Main_Page</base>\n"
        "    <generator>MediaWiki 1.43.0-wmf.1</generator>\n    <case>first-letter</case>\n"
        '    <namespaces>\n      <namespace key="0" case="first-letter" />\n'
        '      <namespace key="1" case="first-letter">Talk</namespace>\n'
        '      <namespace key="10" case="first-letter">Template</namespace>\n'
        '      <namespace key="14" case="first-letter">Category</namespace>\n'
        "    </namespaces>\n  </siteinfo>\n"
    ]
    for i, (title, ns, text, redirect) in enumerate(PAGES, start=1):
        redirect_el = f'    <redirect title="{escape(redirect)}" />\n' if redirect else ""
        out.append(
            f"  <page>\n    <title>{escape(title)}</title>\n    <ns>{ns}</ns>\n"
            f"    <id>{1000 + i}</id>\n{redirect_el}"
            f"    <revision>\n      <id>{900000 + i}</id>\n"
            f"      <timestamp>2024-0{1 + i % 9}-15T12:00:00Z</timestamp>\n"
            "      <contributor>\n        <username>CtkSample</username>\n"
            "        <id>1</id>\n      </contributor>\n"
            "      <model>wikitext</model>\n      <format>text/x-wiki</format>\n"
            f'      <text bytes="{len(text.encode())}" xml:space="preserve">{escape(text)}</text>\n'
            f"      <sha1>sample{i:04d}</sha1>\n    </revision>\n  </page>\n"
        )
    out.append("</mediawiki>\n")
    return "".join(out)


def main() -> None:
    """Write the three sample files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("samples/corpora"))
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with (
        (out / "pubmed_baseline_sample.xml.gz").open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
    ):
        gz.write(baseline_xml().encode("utf-8"))
    (out / "pubmed_efetch_sample.xml").write_text(efetch_xml(), encoding="utf-8")
    (out / "enwiki_medical_sample.xml.bz2").write_bytes(
        bz2.compress(wikipedia_xml().encode("utf-8"), 9)
    )
    for p in sorted(out.iterdir()):
        print(f"{p} {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
