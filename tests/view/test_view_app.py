"""The viewer's pages over real inputs, through Starlette's test client (no browser)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from rationale_fixtures import DM, HF, PNA, build_store
from starlette.testclient import TestClient
from view_fixtures import XSS_ID, XSS_NOTE, ViewInputs

from ctk.kg.matching import ConceptMatcher
from ctk.kg.stores import StoreOptions, open_store
from ctk.kg.stores.base import GraphStore
from ctk.view import AdmissionIndex, Viewer, create_app, load_eval_run
from ctk.view.note import highlight_concepts


@pytest.fixture(scope="module")
def store(view_inputs: ViewInputs) -> Iterator[GraphStore]:
    with open_store(str(view_inputs.store), StoreOptions(read_only=True)) as s:
        yield s


@pytest.fixture(scope="module")
def viewer(view_inputs: ViewInputs, store: GraphStore) -> Viewer:
    index = AdmissionIndex.open(
        view_inputs.cohort, rationales=view_inputs.rationales, cache_dir=view_inputs.cache
    )
    return Viewer(index, store=store, run=load_eval_run(view_inputs.eval_dir))


@pytest.fixture(scope="module")
def client(viewer: Viewer) -> TestClient:
    return TestClient(create_app(viewer), base_url="http://127.0.0.1")


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_list_shows_split_labels_status_and_support(client: TestClient) -> None:
    html = client.get("/admissions").text
    assert "7 of 7" in html
    row = re.search(
        r"<tr>\s*<td><a class=\"admission-link\" href=\"/admissions/adm000\">.*?</tr>", html, re.S
    )
    assert row is not None
    assert "train" in row.group(0) and HF in row.group(0)
    assert "status-ok" in row.group(0)
    # the template teacher cites 4 facts, all in the graph on 3 documents (floor 2)
    assert "100%" in row.group(0) and "of 4" in row.group(0)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("split=test", {"adm004", "adm005"}),
        ("status=none", {"adm004", "adm005"}),
        ("status=ok", {"adm000", "adm001", "adm002", "adm003", XSS_ID}),
        (f"phenotype={quote(DM)}", {"adm002", "adm005"}),
        (f"phenotype={quote(PNA)}&split=test", {"adm004"}),
    ],
)
def test_the_list_filters(client: TestClient, query: str, expected: set[str]) -> None:
    html = client.get(f"/admissions?{query}").text
    shown = {
        re.sub(r"&amp;", "&", re.sub(r"&lt;", "<", re.sub(r"&gt;", ">", m)))
        for m in re.findall(r'class="admission-link" href="[^"]+">([^<]+)</a>', html)
    }
    assert shown == expected


def test_the_list_pages_through_the_index(viewer: Viewer) -> None:
    first = viewer.list_page(offset=0, limit=3)
    second = viewer.list_page(offset=3, limit=3)
    last = viewer.list_page(offset=6, limit=3)
    ids = [r.row.admission_id for p in (first, second, last) for r in p.rows]
    assert ids == ["adm000", "adm001", "adm002", "adm003", "adm004", "adm005", XSS_ID]
    assert first.total == 7


def test_bad_list_parameters_are_400_pages(client: TestClient) -> None:
    assert client.get(f"/admissions?page={10**30}").status_code == 200  # past the end: empty
    for query in ("page=x", "split=holdout", "status=great", "phenotype=Flu"):
        response = client.get(f"/admissions?{query}")
        assert response.status_code == 400, query
        assert "Traceback" not in response.text


def test_the_admission_page(client: TestClient) -> None:
    html = client.get("/admissions/adm000").text
    # the note's concepts, found by the graph's matcher, link to their concept pages
    assert '<a href="/concepts?id=ctk%3Adyspnea">shortness of breath</a>' in html
    assert '<a href="/concepts?id=ctk%3Afurosemide">lasix</a>' in html
    # each claim next to its cited fact, linked
    claim = re.search(
        r"<td>Dyspnea is a symptom of heart failure.</td>\s*<td><a [^>]*href=\"([^\"]+)\"", html
    )
    assert claim is not None
    assert claim.group(1) == "/facts?id=ctk%3Adyspnea%7Csymptom_of%7Cctk%3Aheart_failure"
    # labs: heart rate 140 and 145 are out of range (high 128): two red dots and the caption
    assert html.count('class="anomaly"') == 2
    assert (
        "Heart rate is higher than normal 2 times (max 145; first at hour 0, last at hour 1)"
        in html
    )
    # the concepts the rationale names are marked too (here, in Rm)
    rm = html[html.index('id="rm"') : html.index('id="rt"')]
    assert '<a href="/concepts?id=ctk%3Aheart_failure">heart failure</a>' in rm
    # provenance of the rationale
    assert "template" in html and "teacher@" in html


def test_the_student_prediction_is_shown_against_the_truth(client: TestClient) -> None:
    html = client.get("/admissions/adm004").text  # test split: PNA true, HF + PNA predicted
    assert "✔ correct" in html and "✘ false positive" in html
    assert "&lt;i&gt;x&lt;/i&gt;" in html  # the student's text is escaped too
    assert 'id="no-rationale"' in html


def test_the_student_rationale_is_shown_as_diagnose_prints_it(client: TestClient) -> None:
    """Restricted to the predicted diagnoses, held to the graph, what was removed said."""
    html = client.get("/admissions/adm004").text  # HF + PNA predicted, not diabetes
    shown = html[html.index('id="student-rationale"') : html.index('id="student-removed"')]
    # its concepts are marked and linked as the teacher's are
    assert '<a href="/concepts?id=ctk%3Afurosemide">Furosemide</a>' in shown
    words = re.sub(r"<[^>]+>", "", shown)
    assert words.count("Known: Furosemide treats heart failure. [E1]") == 1
    assert "the diagnoses: pneumonia." in words
    assert "Dyspnea and edema" not in words and "diabetes" not in words
    removed = html[html.index('id="student-removed"') : html.index('id="student-text"')]
    assert DM in removed  # the unpredicted phenotype, by name
    assert "<del>Dyspnea and edema are related.</del>" in removed
    # the text as generated is kept beside it
    generated = html[html.index('id="student-text"') :]
    assert "Dyspnea and edema are related. [E2]" in generated


def test_a_note_with_a_script_shows_as_text(client: TestClient) -> None:
    html = client.get("/admissions/" + quote(XSS_ID, safe="")).text
    assert "<script>document.title" not in html
    assert "&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html
    assert XSS_ID not in html  # the id itself holds < > &
    assert "adm&lt;x&gt;&amp;1" in html
    assert XSS_NOTE.startswith("Patient wrote")


def test_an_unknown_admission_is_a_404_page(client: TestClient) -> None:
    response = client.get("/admissions/no-such-admission")
    assert response.status_code == 404
    assert "no admission &#39;no-such-admission&#39; in this cohort" in response.text
    assert "Traceback" not in response.text


def test_the_fact_page_shows_concepts_counts_and_evidence(client: TestClient) -> None:
    html = client.get("/facts?id=" + quote("ctk:dyspnea|symptom_of|ctk:heart_failure")).text
    assert "PMID 11111" in html and "https://pubmed.ncbi.nlm.nih.gov/11111/" in html
    assert "Dyspnea on exertion is the cardinal symptom of heart failure." in html
    assert re.search(r'id="fact-count">3 ', html)
    assert "2020" in html
    assert client.get("/facts?id=nope").status_code == 404


def test_the_concept_page_draws_the_neighbourhood_with_the_floor(client: TestClient) -> None:
    html = client.get("/concepts?id=ctk:heart_failure").text
    assert html.count('<a class="edge"') == 4  # dyspnea, edema, furosemide, tachycardia
    assert "symptom of 0.62 (3 docs)" in html
    # every edge rests on 3 documents: a floor of 4 hides them all, and says so
    above = client.get("/concepts?id=ctk:heart_failure&min_count=4").text
    assert '<a class="edge"' not in above
    assert "No relations seen in 4 or more documents" in above
    # a name works as well as an id
    assert "dyspnea" in client.get("/concepts?id=heart failure").text
    assert client.get("/concepts?id=no-such-concept").status_code == 404


def test_the_run_page(client: TestClient, viewer: Viewer) -> None:
    assert viewer.run is not None
    html = client.get("/run").text
    micro = viewer.run.report.micro["f1"]
    assert f'id="micro-f1">{micro:.3f}<' in html
    # the best plain baseline beside the student, and the verdict in words
    assert viewer.run.report.baseline is not None
    assert f"best plain baseline: {viewer.run.report.baseline.name}" in html
    assert "The student LOSES to the best plain baseline" in html
    assert client.get("/run/per_phenotype_f1.png").status_code == 404  # not in this folder
    assert client.get("/run/secrets.png").status_code == 404


def test_the_viewer_writes_nothing_into_its_inputs(view_inputs: ViewInputs, tmp_path: Path) -> None:
    folders = [view_inputs.cohort, view_inputs.eval_dir]
    files = [view_inputs.rationales, view_inputs.store]
    before = [_digest(f) for f in folders] + [
        hashlib.sha256(f.read_bytes()).hexdigest() for f in files
    ]
    index = AdmissionIndex.open(
        view_inputs.cohort, rationales=view_inputs.rationales, cache_dir=tmp_path / "cache"
    )
    with open_store(str(view_inputs.store), StoreOptions(read_only=True)) as store:
        client = TestClient(create_app(Viewer(index, store=store)), base_url="http://127.0.0.1")
        for url in ("/admissions", "/admissions/adm000", "/concepts?id=ctk:heart_failure"):
            assert client.get(url).status_code == 200
    index.close()
    after = [_digest(f) for f in folders] + [
        hashlib.sha256(f.read_bytes()).hexdigest() for f in files
    ]
    assert after == before
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [index.db_path.name]


def test_the_index_is_built_once_and_rebuilt_when_an_input_changes(
    view_inputs: ViewInputs, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first = AdmissionIndex.open(view_inputs.cohort, cache_dir=cache)
    built = first.db_path.stat().st_mtime_ns
    first.close()
    again = AdmissionIndex.open(view_inputs.cohort, cache_dir=cache)
    assert again.db_path == first.db_path and again.db_path.stat().st_mtime_ns == built
    again.close()
    with_rationales = AdmissionIndex.open(
        view_inputs.cohort, rationales=view_inputs.rationales, cache_dir=cache
    )
    assert with_rationales.db_path != first.db_path
    assert with_rationales.summary.statuses == {"ok": 5}
    with_rationales.close()


def test_highlighting_prefers_the_longest_mention_and_keeps_the_text(tmp_path: Path) -> None:
    with build_store(tmp_path / "kg.db") as store:
        matcher = store.concept_finder()
    assert isinstance(matcher, ConceptMatcher)
    text = "Congestive heart failure, CHF; İstanbul heart failure and diabetes mellitus."
    segments = highlight_concepts(text, matcher)
    assert "".join(s.text for s in segments) == text
    marked = [(s.text, s.concept_ids) for s in segments if s.concept_ids]
    assert marked == [
        ("Congestive heart failure", ("ctk:heart_failure",)),
        ("CHF", ("ctk:heart_failure",)),
        ("heart failure", ("ctk:heart_failure",)),
        ("diabetes mellitus", ("ctk:diabetes",)),
    ]
    assert highlight_concepts(text, None)[0].text == text


def test_a_gzip_cohort_is_served_from_its_index(view_inputs: ViewInputs, tmp_path: Path) -> None:
    import gzip

    plain = (view_inputs.cohort / "admissions.jsonl").read_bytes()
    packed = tmp_path / "admissions.jsonl.gz"
    packed.write_bytes(gzip.compress(plain))
    index = AdmissionIndex.open(packed, cache_dir=tmp_path / "cache")
    admission = index.admission("adm003")
    assert admission is not None and admission.note is not None
    assert "shortness of breath" in admission.note.text
    assert index.page(split="test")[1] == 2
    html = (
        TestClient(create_app(Viewer(index)), base_url="http://127.0.0.1")
        .get("/admissions/adm003")
        .text
    )
    assert "leg edema" in html
    index.close()


def test_the_run_page_lists_the_students_mistakes(client: TestClient) -> None:
    html = client.get("/run").text
    table = html[html.index('id="mistakes"') :]
    # adm004 (pneumonia) and adm005 (diabetes) were both predicted HF + pneumonia
    assert '<a href="/admissions/adm005">adm005</a></td><td class="num">0</td>' in table
    assert table.index("adm005") < table.index("adm004")  # 3 errors before 1


def test_other_host_names_are_refused_and_no_script_may_run(viewer: Viewer) -> None:
    # a page elsewhere that rebinds its name to 127.0.0.1 must not read the notes
    rebound = TestClient(create_app(viewer), base_url="http://attacker.example:8040")
    assert rebound.get("/admissions/adm000").status_code == 400
    response = TestClient(create_app(viewer), base_url="http://localhost:8040").get(
        "/admissions/adm000"
    )
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_header_boxes_jump_to_an_admission_or_a_concept(client: TestClient) -> None:
    response = client.get("/admissions?id=adm002", follow_redirects=False)
    assert response.status_code == 302 and response.headers["location"] == "/admissions/adm002"
    assert client.get("/admissions?id=nope").status_code == 404
    html = client.get("/concepts?id=insulin").text  # by name
    assert 'id="concept-title">insulin' in html
    assert '<a href="/concepts?id=ctk%3Adiabetes">diabetes mellitus</a>' in html


def test_the_fact_page_lists_the_rationales_citing_it(client: TestClient, viewer: Viewer) -> None:
    fact = "ctk:dyspnea|symptom_of|ctk:heart_failure"
    rows, total = viewer.index.citing(fact)
    # the heart-failure admissions of the train split (adm000, adm003) and the <script> one
    assert {r.admission_id for r in rows} == {"adm000", "adm003", XSS_ID}
    assert total == 3
    html = client.get("/facts?id=" + quote(fact)).text
    assert "Cited by 3 rationales" in html
    assert '<a href="/admissions/adm003">adm003</a>' in html


def test_a_rejected_record_shows_its_gate_reasons(view_inputs: ViewInputs, tmp_path: Path) -> None:
    from ctk.records import Rationale

    if "gate_reasons" not in Rationale.model_fields:
        pytest.skip("rationale schema 3 (the teacher's answer gate) is not in this build yet")
    record = {
        "schema_version": 3,
        "admission_id": "adm001",
        "status": "rejected",
        "gate_reasons": [
            {
                "reason": "claim_off_fact",
                "detail": "the claim names <b>fever</b>, not the fact's concepts",
                "fact_id": "ctk:fever|symptom_of|ctk:pneumonia",
            }
        ],
        "repaired": True,
    }
    path = tmp_path / "rejected.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    index = AdmissionIndex.open(view_inputs.cohort, rationales=path, cache_dir=tmp_path / "c")
    client = TestClient(create_app(Viewer(index)), base_url="http://127.0.0.1")
    html = client.get("/admissions/adm001").text
    assert 'id="rationale-status">rejected' in html and ">repaired<" in html
    assert "claim_off_fact" in html
    assert "the claim names &lt;b&gt;fever&lt;/b&gt;, not the fact&#39;s concepts" in html
    listed = client.get("/admissions?status=rejected").text
    assert 'href="/admissions/adm001"' in listed and 'href="/admissions/adm000"' not in listed
    index.close()


def test_a_failed_record_shows_its_error_and_explains_nothing(
    view_inputs: ViewInputs, tmp_path: Path
) -> None:
    record = {
        "admission_id": "adm001",
        "status": "failed",
        "diagnoses": [PNA],
        "error": "RetryableLLMError: no answer within 120s <timeout>",
        "backend": "openai",
    }
    path = tmp_path / "failed.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    index = AdmissionIndex.open(view_inputs.cohort, rationales=path, cache_dir=tmp_path / "c")
    html = TestClient(create_app(Viewer(index)), base_url="http://127.0.0.1").get(
        "/admissions/adm001"
    )
    assert 'id="rationale-status">failed' in html.text
    assert "no answer within 120s &lt;timeout&gt;" in html.text
    assert "Teacher explained" not in html.text  # a failed record explains nothing
    assert index.summary.statuses == {"failed": 1}
    index.close()
