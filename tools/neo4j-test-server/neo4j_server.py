"""Start and stop a real Neo4j 5 LTS community server for ctk's tests.

The engine and its Bolt connector come from Maven Central (``pom.xml`` beside this
file; ``mvn dependency:copy-dependencies`` puts the jars in ``deps/``, and Maven's
local repository caches them between runs). ``Launcher.java`` runs the embedded
engine with Bolt on 127.0.0.1, auth off, data in a temporary folder.

Command line (what ``tools/run-tests.sh`` does through pytest's session fixture)::

    python tools/neo4j-test-server/neo4j_server.py    # start, print the URI, Ctrl-C stops

From Python (the ``neo4j_server`` fixture in ``tests/conftest.py``)::

    server = Neo4jTestServer(tmp_dir)
    server.start()          # blocks until Bolt answers
    server.uri              # "bolt://127.0.0.1:PORT"
    server.stop()           # clean shutdown; start() again reuses data and port
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEPS = HERE / "deps"
READY = "CTK-NEO4J-READY "


class Neo4jServerError(RuntimeError):
    """The test server could not be prepared or started."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_jars() -> Path:
    """Resolve the Neo4j jars with Maven into ``deps/`` (a no-op when already there)."""
    if DEPS.is_dir() and any(DEPS.glob("neo4j-5*.jar")):
        return DEPS
    mvn = shutil.which("mvn")
    if mvn is None:
        raise Neo4jServerError("Maven (mvn) is not installed: it resolves the Neo4j jars")
    cmd = [mvn, "-q", "-B", "dependency:copy-dependencies", f"-DoutputDirectory={DEPS}"]
    proc = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise Neo4jServerError(f"mvn failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return DEPS


class Neo4jTestServer:
    """One Neo4j community server on loopback, started and stopped on demand.

    Args:
        home: Folder for the database files and logs.
        port: Bolt port; a free one is chosen when None and kept across restarts.
        heap: JVM maximum heap.
    """

    def __init__(self, home: Path, port: int | None = None, heap: str = "1536m") -> None:
        self.home = Path(home)
        self.port = port or _free_port()
        self.heap = heap
        self._proc: subprocess.Popen[str] | None = None
        self._log = self.home / "launcher.log"

    @property
    def uri(self) -> str:
        """The Bolt URI."""
        return f"bolt://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 180.0) -> None:
        """Start the server and wait until it accepts Bolt connections."""
        if self.running:
            return
        java = shutil.which("java")
        if java is None:
            raise Neo4jServerError("Java 17 is not installed: the Neo4j test server needs it")
        ensure_jars()
        self.home.mkdir(parents=True, exist_ok=True)
        log = self._log.open("a")
        cmd = [
            java,
            f"-Xmx{self.heap}",
            "-XX:+UseSerialGC",
            "-cp",
            f"{DEPS}{os.sep}*",
            str(HERE / "Launcher.java"),
            str(self.home / "data"),
            str(self.port),
        ]
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True
        )
        deadline = time.monotonic() + timeout
        assert self._proc.stdout is not None
        while True:
            line = self._proc.stdout.readline()
            if line.startswith(READY):
                break
            if not line and self._proc.poll() is not None:
                raise Neo4jServerError(
                    f"Neo4j exited with {self._proc.returncode}; see {self._log}:\n"
                    + self._log.read_text()[-3000:]
                )
            if time.monotonic() > deadline:
                self.stop()
                raise Neo4jServerError(
                    f"Neo4j did not start within {timeout:.0f}s; see {self._log}"
                )
        self._wait_for_bolt(deadline)

    def _wait_for_bolt(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise Neo4jServerError("Bolt port did not open in time")

    def stop(self, timeout: float = 60.0) -> None:
        """Shut the server down cleanly (kill it if it does not stop in time)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        assert proc.stdin is not None
        with contextlib.suppress(OSError):
            proc.stdin.close()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def main() -> int:
    """Start a server in a temporary folder, print its URI, stop on Ctrl-C."""
    home = Path(tempfile.mkdtemp(prefix="ctk-neo4j-"))
    server = Neo4jTestServer(home)
    server.start()
    print(f"Neo4j test server ready at {server.uri} (data in {home}); Ctrl-C stops it", flush=True)
    print(f"export CTK_TEST_NEO4J_URI={server.uri}", flush=True)
    try:
        while server.running:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
