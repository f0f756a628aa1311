"""A real HTTP server speaking the OpenAI chat-completions API, for tests.

Started on 127.0.0.1 with a free port in a background thread
(``http.server.ThreadingHTTPServer``). It answers ``GET /v1/models`` and
``POST /v1/chat/completions``. Each POST takes the next scripted behaviour from
a queue (then :attr:`FakeOpenAIServer.default`):

- ``"ok"``: a valid teacher JSON answer citing the first evidence items of the prompt;
- ``"slow"``: the same after :attr:`FakeOpenAIServer.latency_s` more seconds;
- ``"429"``: HTTP 429 with ``Retry-After: 0``;
- ``"500"``: HTTP 500;
- ``"hang"``: sleeps :attr:`FakeOpenAIServer.hang_s` (longer than the client timeout);
  :meth:`FakeOpenAIServer.kill` ends the sleep without an answer;
- ``"invalid_json"``: HTTP 200, but the message content is not JSON;
- ``"bad_body"``: HTTP 200 whose body is not JSON;
- ``"bad_cite"``: valid JSON citing an evidence number that was not given;
- quality-gate cases (valid JSON a gate must refuse): ``"truncated"`` (finish_reason
  ``length``, the rationale cut mid-sentence), ``"repeated"`` (one claim for two facts),
  ``"off_fact"`` (claims naming neither end of their fact), ``"boilerplate"`` (no
  concept of the admission named), ``"outside_labels"`` (names a phenotype that is not
  a diagnosis), ``"unsupported_pair"`` (Rt relates insulin and cough, which the
  test graph does not relate), ``"empty"`` (an empty message), ``"wrong_shape"`` (a JSON list),
  ``"uncited"`` (a rationale naming concepts, citing nothing);
- ``"grounded"``: a grounded answer (:mod:`ctk.teacher.grounded`) picking the first
  fact id each diagnosis of the request's schema offers;
- ``"concepts"``: a concept extractor's answer, the JSON list of those of
  :attr:`FakeOpenAIServer.concepts` (``{name: type}``) that the prompt's
  ``Sentence:`` line contains.

With ``api_key`` set, a request without ``Authorization: Bearer KEY`` gets HTTP
401. ``reject_json_schema=True`` mimics llama.cpp: HTTP 500 to a
``response_format`` of type ``json_schema``. Every request body is kept in
:attr:`FakeOpenAIServer.requests`; :attr:`FakeOpenAIServer.latency_s` is added to
every answer; :attr:`FakeOpenAIServer.answered` counts the HTTP 200 answers
written.

:meth:`FakeOpenAIServer.kill` stops the server the hard way, as a crashed or
unplugged one: the listening socket closes and every open connection is reset,
so requests in flight get no answer.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ALIAS = re.compile(r"\[(E\d+)\]")
_RESET_ON_CLOSE = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # SO_LINGER on, 0 s: close sends RST


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default 5 drops SYNs under concurrent load (1 s stalls)
    daemon_threads = True


_EVIDENCE_LINE = re.compile(r"^\[(E\d+)\] (.+?)(?: Evidence: .*| \(.*)?$", re.MULTILINE)


def teacher_answer(prompt: str, *, cite: int = 2, bad_cite: bool = False) -> dict[str, Any]:
    """A valid teacher answer for a prompt, citing its first ``cite`` evidence numbers.

    Each claim is the fact as the prompt shows it, so it names the fact's concepts;
    the note rationale repeats the first fact, so it names concepts of the admission.
    """
    facts = dict(_EVIDENCE_LINE.findall(prompt))
    aliases = list(dict.fromkeys(_ALIAS.findall(prompt)))[:cite]
    if bad_cite:
        aliases = ["E999"]
    first = facts.get(aliases[0], "").rstrip(".") if aliases else ""
    return {
        "note_rationale": f"The note describes findings that support the diagnoses: {first}."
        if first
        else "The note describes findings that support the diagnoses.",
        "lab_rationale": "The abnormal values fit the diagnoses.",
        "cited_facts": [
            {"fact_id": a, "claim": facts.get(a, "used").rstrip(".") + "."} for a in aliases
        ],
    }


def gate_case(behaviour: str, prompt: str) -> str:
    """The answer text of a quality-gate behaviour (see the module docstring)."""
    if behaviour == "empty":
        return ""
    if behaviour == "wrong_shape":
        return json.dumps([{"note_rationale": "a list, not an object"}])
    answer = teacher_answer(prompt)
    if behaviour == "truncated":
        answer["note_rationale"] = answer["note_rationale"].rstrip(".") + " and the lab results"
    elif behaviour == "repeated":
        claim = answer["cited_facts"][0]["claim"]
        for c in answer["cited_facts"]:
            c["claim"] = claim
    elif behaviour == "off_fact":
        for i, c in enumerate(answer["cited_facts"], start=1):
            c["claim"] = f"The lab results confirm finding {i} of the complete blood count."
    elif behaviour == "boilerplate":
        answer["note_rationale"] = "The patient's diagnosis fits the clinical note perfectly."
        answer["lab_rationale"] = "The lab results confirm the diagnosis."
    elif behaviour == "uncited":
        answer = grounded_answer({})
        answer.pop("support")
        answer["cited_facts"] = []
    elif behaviour == "outside_labels":
        answer["lab_rationale"] = "The abnormal values also point to septicemia and shock."
    elif behaviour == "unsupported_pair":
        answer["lab_rationale"] = "The insulin dose explains the cough."
    return json.dumps(answer)


def grounded_answer(schema: dict[str, Any]) -> dict[str, Any]:
    """A grounded answer for a request's schema: the first fact each diagnosis is offered."""
    support = schema.get("properties", {}).get("support", {})

    def first(array: dict[str, Any]) -> list[str]:
        offered = (array.get("items") or {}).get("enum") or []
        return list(offered[:1])

    picks: Any = (
        {key: first(sub) for key, sub in support.get("properties", {}).items()}
        if support.get("type") == "object"
        else first(support)
    )
    return {
        "support": picks,
        "note_rationale": "The note describes dyspnea and edema, findings of heart failure.",
        "lab_rationale": "Tachycardia in the vital signs fits heart failure.",
    }


_GATE_CASES = frozenset(
    {
        "truncated",
        "repeated",
        "off_fact",
        "boilerplate",
        "outside_labels",
        "unsupported_pair",
        "empty",
        "wrong_shape",
        "uncited",
    }
)


class FakeOpenAIServer:
    """A scripted OpenAI-compatible server on loopback.

    Example:
        >>> with FakeOpenAIServer() as server:  # doctest: +SKIP
        ...     server.script("429", "ok")
        ...     OpenAIBackend({"base_url": server.base_url, "model": "fake"})
    """

    def __init__(
        self,
        *,
        latency_s: float = 0.0,
        hang_s: float = 5.0,
        default: str = "ok",
        reject_json_schema: bool = False,
        model: str = "fake-teacher",
        api_key: str | None = None,
    ) -> None:
        self.latency_s = latency_s
        self.hang_s = hang_s
        self.default = default
        self.reject_json_schema = reject_json_schema
        self.model = model
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.concepts: dict[str, str] = {}
        self.behaviours: list[str] = []
        self.answered = 0
        self._responded = 0
        self._dead = threading.Event()
        self._connections: set[socket.socket] = set()
        self._queue: deque[str] = deque()
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def calls(self) -> int:
        """Chat-completion requests received."""
        with self._lock:
            return len(self.requests)

    def script(self, *behaviours: str) -> None:
        """Queue behaviours for the next requests."""
        with self._lock:
            self._queue.extend(behaviours)

    def reset(self) -> None:
        """Forget requests and queued behaviours."""
        with self._lock:
            self.requests.clear()
            self.behaviours.clear()
            self._queue.clear()

    def _next(self, body: dict[str, Any]) -> str:
        with self._lock:
            self.requests.append(body)
            behaviour = self._queue.popleft() if self._queue else self.default
            self.behaviours.append(behaviour)
            return behaviour

    def start(self) -> FakeOpenAIServer:
        """Start serving."""
        self._thread.start()
        return self

    @property
    def in_flight(self) -> int:
        """Requests received and not answered yet."""
        with self._lock:
            return len(self.requests) - self._responded

    def kill(self) -> None:
        """Die: stop listening and reset every open connection (in-flight requests get nothing)."""
        self._dead.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()
        self._thread.join(timeout=5)

    def stop(self) -> None:
        """Stop serving."""
        if self._dead.is_set():
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with server._lock:
                    server._connections.add(self.connection)

            def finish(self) -> None:
                with server._lock:
                    server._connections.discard(self.connection)
                with contextlib.suppress(OSError):
                    super().finish()

            def _send(
                self, status: int, payload: bytes, headers: dict[str, str] | None = None
            ) -> None:
                if server._dead.is_set():  # a dead server answers nothing
                    self.close_connection = True
                    return
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                    self.wfile.flush()
                except OSError:  # the client went away (or the server was killed)
                    self.close_connection = True
                    return
                if getattr(self, "chat_request", False):
                    self.chat_request = False
                    with server._lock:
                        server._responded += 1
                        server.answered += status == 200

            def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
                self._send(status, json.dumps(obj).encode(), headers)

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    self._json(
                        200, {"object": "list", "data": [{"id": server.model, "object": "model"}]}
                    )
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._json(404, {"error": {"message": "not found"}})
                    return
                if (
                    server.api_key
                    and self.headers.get("Authorization") != f"Bearer {server.api_key}"
                ):
                    self._json(401, {"error": {"message": "invalid api key"}})
                    return
                body = json.loads(raw or b"{}")
                behaviour = server._next(body)
                self.chat_request = True
                if server.latency_s:
                    time.sleep(server.latency_s)
                fmt = (body.get("response_format") or {}).get("type")
                if server.reject_json_schema and fmt == "json_schema":
                    self._json(500, {"error": {"message": "unsupported response_format"}})
                    return
                if behaviour == "slow":
                    time.sleep(server.latency_s or 0.2)
                if behaviour == "429":
                    self._json(429, {"error": {"message": "rate limited"}}, {"Retry-After": "0"})
                    return
                if behaviour == "500":
                    self._json(500, {"error": {"message": "internal error"}})
                    return
                if behaviour == "hang":
                    server._dead.wait(server.hang_s)
                    self._json(500, {"error": {"message": "too late"}})
                    return
                if behaviour == "bad_body":
                    self._send(200, b"<html>not json</html>")
                    return
                prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
                finish = "length" if behaviour == "truncated" else "stop"
                schema = (body.get("response_format") or {}).get("schema") or (
                    (body.get("response_format") or {}).get("json_schema") or {}
                ).get("schema", {})
                if behaviour in _GATE_CASES:
                    content = gate_case(behaviour, prompt)
                elif behaviour == "grounded":
                    content = json.dumps(grounded_answer(schema))
                elif behaviour == "invalid_json":
                    content = "Sure! Here is the rationale: the patient is sick {not json"
                elif behaviour == "concepts":
                    sentence = prompt.rpartition("Sentence:")[2].lower()
                    content = json.dumps(
                        [
                            {"name": name, "type": ctype}
                            for name, ctype in server.concepts.items()
                            if name.lower() in sentence
                        ]
                    )
                else:
                    content = json.dumps(teacher_answer(prompt, bad_cite=behaviour == "bad_cite"))
                self._json(
                    200,
                    {
                        "id": f"chatcmpl-{len(server.requests)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", server.model),
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": finish,
                                "message": {"role": "assistant", "content": content},
                            }
                        ],
                        "usage": {
                            "prompt_tokens": len(prompt.split()),
                            "completion_tokens": len(content.split()),
                            "total_tokens": len(prompt.split()) + len(content.split()),
                        },
                    },
                )

        return Handler
