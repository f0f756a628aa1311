"""The local teacher is a real llama.cpp server speaking the OpenAI API."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ctk.errors import ConfigError, CtkError
from ctk.teacher.server import LocalTeacherServer, default_gguf

pytestmark = pytest.mark.llm_server


def test_default_model_comes_from_the_installed_package() -> None:
    path = default_gguf()
    assert path.suffix == ".gguf" and path.is_file()
    assert "site-packages" in path.parts or "dist-packages" in path.parts


def test_missing_model_file_is_a_config_error(tmp_path: object) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        LocalTeacherServer("/nonexistent/model.gguf")


def test_server_answers_with_schema_constrained_json(local_teacher_url: str) -> None:
    schema = {
        "type": "object",
        "properties": {"diagnosis": {"type": "string"}, "reason": {"type": "string"}},
        "required": ["diagnosis", "reason"],
    }
    resp = httpx.post(
        f"{local_teacher_url}/chat/completions",
        json={
            "messages": [{"role": "user", "content": "Edema and dyspnea: which disease? JSON."}],
            "max_tokens": 80,
            "temperature": 0,
            "response_format": {"type": "json_object", "schema": schema},
        },
        timeout=60,
    )
    resp.raise_for_status()
    body = resp.json()
    answer = json.loads(body["choices"][0]["message"]["content"])
    assert set(answer) >= {"diagnosis", "reason"}
    assert body["usage"]["completion_tokens"] > 0


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to find the server's child")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_with_its_child_on_a_signal(signum: int, tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp.server")
    try:
        default_gguf()
    except CtkError as e:
        pytest.skip(str(e))
    cmd = [sys.executable, "-c", "from ctk.cli.main import main; main()", "teacher", "serve"]
    cmd += ["--port", "0", "--log-file", str(tmp_path / "server.log")]
    # As a shell's `ctk teacher serve &` does: SIGINT ignored in the child.
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        assert "teacher ready" in ready, ready
        children = _children(proc.pid)
        assert children, "the llama.cpp server should be a child of ctk teacher serve"
        proc.send_signal(signum)
        assert proc.wait(timeout=20) == 0
        deadline = time.monotonic() + 5
        while any(_alive(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(c) for c in children), "the llama.cpp child outlived ctk"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
