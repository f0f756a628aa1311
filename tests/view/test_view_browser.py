"""``ctk view`` in a real browser: Debian's headless Chromium driven by Selenium.

The inputs are made the way the demo makes them (a synthetic cohort imported
from the benchmark layout, a graph built from the bundled PubMed and Wikipedia
samples, template-teacher rationales) plus one admission whose note holds a
``<script>``. The real ``ctk view`` command serves them; the browser goes from
the admission list to an admission, clicks a cited fact, sees its PMID and
sentence, opens a concept and the evaluation. Each page's screenshot is kept in
``test-artifacts/view/`` (or ``$CTK_TEST_ARTIFACTS/view/``).

Without chromium, chromedriver or selenium the test is skipped with that reason
on a developer machine; under ``CI=true`` it fails instead.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rationale_fixtures import HF

from ctk.cli.main import main
from ctk.cohort import iter_admissions, write_cohort
from ctk.distill.evaluation import EvalReport, classification_scores
from ctk.records import Admission, ClinicalNote

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
XSS_ID = "xss-note"


def _browser_parts() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    missing = [n for n, p in (("chromium", chromium), ("chromedriver", driver)) if p is None]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip)")
    if missing:
        reason = (
            f"no headless browser here: {', '.join(missing)} missing "
            "(apt-get install chromium chromium-driver; tools/bootstrap.sh does it as root)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI must run the browser test: " + reason)
        pytest.skip(reason)
    assert chromium is not None and driver is not None
    return chromium, driver


def _ctk(argv: list[str]) -> None:
    try:
        main(argv)
    except SystemExit as e:
        assert not e.code, f"ctk {' '.join(argv)} exited with {e.code}"


@pytest.fixture(scope="module")
def demo_outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's first steps (cohort, graph, template rationales) and an eval folder."""
    _browser_parts()  # skip (or fail under CI) before the work, not after
    out = tmp_path_factory.mktemp("view-demo")
    _ctk(["data", "synth", "--n", "24", "--seed", "1", "--out", str(out / "synth")])
    _ctk(
        [
            "data",
            "import",
            "--format",
            "mimic3-benchmark",
            str(out / "synth"),
            "--out",
            str(out / "imported"),
        ]
    )
    admissions = list(iter_admissions(out / "imported"))
    admissions.append(
        Admission(
            admission_id=XSS_ID,
            source="synthetic",
            split="train",
            note=ClinicalNote(
                text='Seen for <script>document.title="pwned"</script> heart failure.'
            ),
            phenotypes=[HF],
        )
    )
    write_cohort(out / "cohort", admissions, source="synthetic")
    samples = REPO / "samples" / "corpora"
    _ctk(
        [
            "kg",
            "build",
            "--store",
            str(out / "kg.db"),
            "--source",
            f"pubmed:{samples / 'pubmed_baseline_sample.xml.gz'}",
            "--source",
            f"pubmed:{samples / 'pubmed_efetch_sample.xml'}",
            "--source",
            f"wikipedia:{samples / 'enwiki_medical_sample.xml.bz2'}",
            "--wiki-category",
            "medical",
        ]
    )
    _ctk(
        [
            "rationale",
            "generate",
            "--cohort",
            str(out / "cohort"),
            "--store",
            str(out / "kg.db"),
            "--retriever",
            "graph",
            "--llm",
            "template",
            "--split",
            "train",
            "--out",
            str(out / "rationales.jsonl"),
        ]
    )
    tested = [a for a in admissions if a.split == "test"]
    predicted = [[*a.phenotypes[:1], HF] for a in tested]  # one right, one often wrong
    micro, macro, per = classification_scores([a.phenotypes for a in tested], predicted)
    (out / "eval").mkdir()
    report = EvalReport(
        model="student", split="test", n=len(tested), micro=micro, macro=macro, per_phenotype=per
    )
    (out / "eval" / "report.json").write_text(report.model_dump_json(), encoding="utf-8")
    with (out / "eval" / "predictions.jsonl").open("w", encoding="utf-8") as fh:
        for a, p in zip(tested, predicted, strict=True):
            fh.write(
                json.dumps(
                    {
                        "admission_id": a.admission_id,
                        "predicted": p,
                        "true": a.phenotypes,
                        "text": "",
                    }
                )
                + "\n"
            )
    return out


@pytest.fixture(scope="module")
def server(demo_outputs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``ctk view`` on the demo outputs, as a user starts it; yields its URL."""
    _browser_parts()
    out = demo_outputs
    cmd = [
        sys.executable, "-m", "ctk.cli.main", "view",
        "--cohort", str(out / "cohort"), "--rationales", str(out / "rationales.jsonl"),
        "--store", str(out / "kg.db"), "--eval", str(out / "eval"),
        "--port", "0", "--cache-dir", str(tmp_path_factory.mktemp("view-cache")),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    lines: list[str] = []
    url = None
    deadline = time.monotonic() + 120
    while url is None and time.monotonic() < deadline and proc.poll() is None:
        if sel.select(timeout=1):
            line = proc.stdout.readline()
            lines.append(line)
            if line.startswith("ctk view: http"):
                url = line.split()[2].rstrip("/")
    try:
        assert url is not None, "ctk view did not print its URL:\n" + "".join(lines)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        sel.close()
        proc.stdout.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium, driver_path = _browser_parts()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000"):  # fmt: skip
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console: CSP reports
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    root = Path(os.environ.get("CTK_TEST_ARTIFACTS", REPO / "test-artifacts"))
    folder = root / "view"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _shot(driver: Any, folder: Path, name: str) -> None:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(max(int(height) + 120, 800), 6000))
    path = folder / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"no screenshot of {name}"
    assert path.stat().st_size > 10_000  # a rendered page, not a blank
    driver.set_window_size(1400, 1000)


def test_list_to_admission_to_cited_fact_to_concept(
    server: str, browser: Any, artifacts: Path
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server + "/admissions")
    assert browser.title.startswith("Admissions")
    rows = browser.find_elements(By.CSS_SELECTOR, "#admissions tbody tr")
    assert len(rows) == 25
    _shot(browser, artifacts, "1-admissions")
    # an admission whose rationale is ok
    link = browser.find_element(
        By.XPATH, "//tr[.//span[contains(@class, 'status-ok')]]//a[@class='admission-link']"
    )
    admission_id = link.text
    link.click()
    assert admission_id in browser.find_element(By.ID, "admission-title").text
    assert browser.find_elements(By.CSS_SELECTOR, "#note mark.concept"), "no concept highlighted"
    assert browser.find_elements(By.CSS_SELECTOR, "#labs svg.lab"), "no lab plot"
    assert browser.find_element(By.ID, "rationale-status").text == "ok"
    _shot(browser, artifacts, "2-admission")
    # click each cited fact until one rests on a PubMed abstract: its PMID and sentence show
    facts = [
        a.get_attribute("href")
        for a in browser.find_elements(By.CSS_SELECTOR, "#claims a.fact-link")
    ]
    assert facts, "the rationale cites no fact in the graph"
    browser.find_element(By.CSS_SELECTOR, "#claims a.fact-link").click()
    pmid_seen = False
    for href in facts:
        if browser.current_url != href:
            browser.get(href)
        sources = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#evidence td.source")]
        sentences = [
            c.text for c in browser.find_elements(By.CSS_SELECTOR, "#evidence td.sentence")
        ]
        assert sources and all(s.strip() for s in sentences)
        if any(s.startswith("PMID ") for s in sources):
            pmid_seen = True
            break
    assert pmid_seen, "no cited fact shows a PMID"
    pmid = next(s for s in sources if s.startswith("PMID "))
    assert pmid.split()[1].isdigit()
    _shot(browser, artifacts, "3-fact")
    # from the fact to its subject concept's neighbourhood
    browser.find_element(By.CSS_SELECTOR, "#fact-title a").click()
    assert browser.find_elements(By.CSS_SELECTOR, "svg.graph a.edge")
    _shot(browser, artifacts, "4-concept")
    browser.find_element(By.CSS_SELECTOR, "#neighbours a.fact-link").click()
    assert browser.find_elements(By.CSS_SELECTOR, "#evidence td.sentence")
    # nothing on these pages broke the content security policy or failed to load
    severe = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []


def test_the_list_filters_in_the_browser(server: str, browser: Any, artifacts: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(server + "/admissions")
    Select(browser.find_element(By.NAME, "split")).select_by_value("test")
    Select(browser.find_element(By.NAME, "status")).select_by_value("none")
    browser.find_element(By.CSS_SELECTOR, "form.filters button").click()
    # the click starts a navigation; wait for it rather than read the old page's URL
    WebDriverWait(browser, 10).until(lambda d: "split=test" in d.current_url)
    rows = browser.find_elements(By.CSS_SELECTOR, "#admissions tbody tr")
    splits = {r.find_elements(By.TAG_NAME, "td")[1].text for r in rows}
    assert rows and splits == {"test"}  # the template teacher wrote the train split only
    _shot(browser, artifacts, "8-filtered")


def test_the_run_page_and_a_404(server: str, browser: Any, artifacts: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server + "/run")
    micro = browser.find_element(By.ID, "micro-f1").text
    assert 0.0 <= float(micro) <= 1.0
    assert len(browser.find_elements(By.CSS_SELECTOR, "#per-phenotype tbody tr")) == 25
    _shot(browser, artifacts, "5-run")
    browser.get(server + "/admissions/no-such-admission")
    assert browser.find_element(By.ID, "error-status").text == "404"
    _shot(browser, artifacts, "6-not-found")


def test_a_script_in_a_note_shows_as_text(server: str, browser: Any, artifacts: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server + "/admissions/" + XSS_ID)
    assert browser.title != "pwned"
    note = browser.find_element(By.ID, "note").text
    assert '<script>document.title="pwned"</script>' in note
    assert browser.find_elements(By.CSS_SELECTOR, "#note mark.concept")  # heart failure
    _shot(browser, artifacts, "7-escaped-note")
