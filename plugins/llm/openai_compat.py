"""The ``openai`` backend: any server speaking the OpenAI chat-completions API.

vLLM, Ollama, llama.cpp (``llama-cpp-python[server]``), LM Studio or a hosted
API: ``POST {base_url}/chat/completions`` through httpx (no SDK). Timeouts,
retries with exponential backoff on 429 (honouring ``Retry-After``), 5xx and
connection errors, a concurrency limit, and token accounting from ``usage``.

Structured output differs by server, so the backend negotiates
(``structured_output``):

- ``json_schema``: OpenAI's ``{"type": "json_schema", "json_schema": {...}}``
  (OpenAI, vLLM, recent Ollama, LM Studio);
- ``json_object``: ``{"type": "json_object", "schema": {...}}`` (llama.cpp's
  server, which answers HTTP 500 to ``json_schema``; vLLM accepts it too);
- ``none``: no ``response_format``; the prompt asks for JSON and ctk validates;
- ``auto`` (default): try ``json_schema``, then ``json_object``, then ``none``
  when a server rejects a form (HTTP 400, 404, 415, 422 or 501; HTTP 500 when its
  body names ``response_format``, else twice in a row), and remember per server
  and model what worked (for the process: :func:`negotiated_modes`). A server whose
  ``/models`` identifies llama-cpp-python (``owned_by: "me"``) starts at
  ``json_object``, so its log shows no rejected request.

Several servers of one model (vLLM replicas): give ``endpoints`` (``--base-url``
repeated, or ``--endpoints FILE``) and requests are spread over them by free
capacity, with a circuit breaker per server (:mod:`ctk.plugins.llm.endpoint_pool`).

A dead server stops the run within seconds instead of failing every admission:
after ``max_connect_failures`` connection failures in a row (refused, unreachable)
spanning at least ``unreachable_after_s``, every call raises
:class:`~ctk.errors.LLMUnavailableError`, which ``ctk rationale generate`` does not
record against any admission (exit 2, with a hint naming ``ctk teacher serve`` and
``--base-url``). The model probe (``GET /models``, when no ``model`` is given) does
not retry a refused connection at all. The default ``base_url`` is the one
``ctk teacher serve`` listens on (``http://127.0.0.1:8765/v1``).

The API key is held as a secret and never logged.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import logging
import threading
import time
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ctk.errors import (
    ConfigError,
    LLMConnectionError,
    LLMError,
    LLMResponseError,
    LLMUnavailableError,
    RetryableLLMError,
)
from ctk.plugins.llm.endpoint_pool import (
    TEACHER_SERVE_URL,
    EndpointPool,
    EndpointSpec,
    UnreachableBreaker,
    unreachable_error,
)
from ctk.teacher.backend import (
    LLMBackend,
    LLMRequest,
    LLMResponse,
    RetryPolicy,
    call_with_retries,
    is_loopback_url,
    retryable_for_status,
)

__all__ = ["OpenAIBackend", "OpenAIBackendOptions", "StructuredOutput", "negotiated_modes"]

logger = logging.getLogger(__name__)

StructuredOutput = Literal["auto", "json_schema", "json_object", "none"]
_MODES: tuple[str, ...] = ("json_schema", "json_object", "none")
_REJECTS_FORMAT = frozenset({400, 404, 415, 422, 500, 501})

_negotiated: dict[str, str] = {}
#: ``owned_by`` of every model on llama-cpp-python's ``/v1/models``.
_LLAMA_CPP_PYTHON_OWNER = "me"
_negotiated_lock = threading.Lock()


def negotiated_modes() -> dict[str, str]:
    """What ``auto`` learned in this process: ``"base_url model"`` -> mode."""
    with _negotiated_lock:
        return dict(_negotiated)


class OpenAIBackendOptions(BaseModel):
    """Settings of the ``openai`` backend.

    Attributes:
        base_url: The API root; the default is ``ctk teacher serve``'s
            (``http://127.0.0.1:8765/v1``); e.g. ``http://127.0.0.1:8000/v1`` (vLLM),
            ``http://localhost:11434/v1`` (Ollama).
        model: Model name; the first of ``GET /models`` when None.
        api_key: Bearer token, where the server needs one.
        timeout_s: Per-request timeout (connect, read, write).
        max_retries: Retries on 429/5xx/timeouts/connection errors.
        backoff_s: First retry wait (doubles, with jitter).
        max_backoff_s: Longest wait, also the cap on ``Retry-After``.
        max_concurrency: Most requests in flight to this server.
        structured_output: How to ask for JSON (see the module docstring).
        extra_body: Extra fields merged into each request body (``top_p``, ``seed``...).
        endpoints: Several servers of the same model; when given, they replace
            ``base_url`` and requests are spread over them (each with its own
            ``max_concurrency``, default the one above).
        cooldown_s: Pool: first time a failed server stays out (doubles per failure).
        max_cooldown_s: Pool: longest time a failed server stays out.
        max_connect_failures: Connection failures in a row (to every server) after
            which the run stops with :class:`~ctk.errors.LLMUnavailableError` (0: never).
        unreachable_after_s: Shortest time those failures must span (a server
            restarting for a moment does not stop a run).
    """

    model_config = ConfigDict(extra="forbid")

    base_url: str = TEACHER_SERVE_URL
    model: str | None = None
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=4, ge=0)
    backoff_s: float = Field(default=0.5, ge=0)
    max_backoff_s: float = Field(default=30.0, ge=0)
    max_concurrency: int = Field(default=16, ge=1)
    structured_output: StructuredOutput = "auto"
    extra_body: dict[str, Any] = Field(default_factory=dict)
    endpoints: list[EndpointSpec] = Field(default_factory=list)
    cooldown_s: float = Field(default=5.0, gt=0)
    max_cooldown_s: float = Field(default=120.0, gt=0)
    max_connect_failures: int = Field(default=5, ge=0)
    unreachable_after_s: float = Field(default=2.0, ge=0)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:  # an HTTP date; a malformed header means "no hint", never a crash
        parsed = email.utils.parsedate_to_datetime(value)
    except (ValueError, TypeError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return max(parsed.timestamp() - time.time(), 0.0)


class OpenAIBackend(LLMBackend):
    """A client of an OpenAI-compatible chat-completions server.

    Example:
        >>> backend = OpenAIBackend({"base_url": "http://127.0.0.1:8080/v1"})  # doctest: +SKIP
    """

    name: ClassVar[str] = "openai"
    Options: ClassVar[type[BaseModel]] = OpenAIBackendOptions
    run_settings: ClassVar[frozenset[str]] = frozenset(
        {
            "base_url",
            "endpoints",
            "timeout_s",
            "max_retries",
            "backoff_s",
            "max_backoff_s",
            "max_concurrency",
            "cooldown_s",
            "max_cooldown_s",
            "max_connect_failures",
            "unreachable_after_s",
        }
    )
    options: OpenAIBackendOptions

    def __init__(self, options: BaseModel | dict[str, Any] | None = None) -> None:
        super().__init__(options)
        endpoints = self.options.endpoints
        for url in [e.base_url for e in endpoints] or [self.options.base_url]:
            if not url.startswith(("http://", "https://")):
                raise ConfigError(
                    f"base URL {url!r} must start with http:// or https://",
                    hint=f"e.g. --base-url {TEACHER_SERVE_URL}",
                )
        self._pool: EndpointPool[OpenAIBackend] | None = None
        if len(endpoints) == 1:
            self.options = self.options.model_copy(
                update={
                    "base_url": endpoints[0].base_url,
                    "max_concurrency": endpoints[0].max_concurrency or self.options.max_concurrency,
                    "endpoints": [],
                }
            )
        elif len(endpoints) > 1:
            self._pool = self._make_pool(endpoints)
        self._root = self.options.base_url.rstrip("/")
        self._model = self.options.model
        self._clients: dict[int, tuple[httpx.AsyncClient, asyncio.Semaphore]] = {}
        self._breaker = UnreachableBreaker(
            self.options.max_connect_failures, self.options.unreachable_after_s
        )
        self._unreachable: LLMUnavailableError | None = None
        self.policy = RetryPolicy(
            max_retries=self.options.max_retries,
            backoff_s=self.options.backoff_s,
            max_backoff_s=self.options.max_backoff_s,
        )

    def _make_pool(self, endpoints: list[EndpointSpec]) -> EndpointPool[OpenAIBackend]:
        """One single-server client per endpoint; the pool retries elsewhere, not they."""
        pairs = []
        for spec in endpoints:
            capacity = spec.max_concurrency or self.options.max_concurrency
            child = self.options.model_copy(
                update={
                    "base_url": spec.base_url,
                    "max_concurrency": capacity,
                    "max_retries": 0,
                    "endpoints": [],
                    "max_connect_failures": 0,  # the pool decides when all are dead
                }
            )
            pairs.append(
                (spec.model_copy(update={"max_concurrency": capacity}), OpenAIBackend(child))
            )
        return EndpointPool(
            pairs,
            capacity=self.options.max_concurrency,
            cooldown_s=self.options.cooldown_s,
            max_cooldown_s=self.options.max_cooldown_s,
            max_attempts=self.options.max_retries + len(pairs),
            on_retry=lambda: self.stats.add(retries=1),
            max_connect_failures=self.options.max_connect_failures,
            unreachable_after_s=self.options.unreachable_after_s,
        )

    # ----------------------------------------------------------------- properties
    @property
    def pool(self) -> EndpointPool[OpenAIBackend] | None:
        """The endpoint pool, when several servers were given."""
        return self._pool

    @property
    def base_url(self) -> str | None:
        """The API root (several, comma-separated, for a pool)."""
        if self._pool is not None:
            return ", ".join(s.base_url for s in self._pool.states())
        return self._root

    @property
    def is_remote(self) -> bool:
        """True when any server is not this machine (data policy applies)."""
        if self._pool is not None:
            return not all(is_loopback_url(s.base_url) for s in self._pool.states())
        return not is_loopback_url(self._root)

    @property
    def model_name(self) -> str | None:
        """The model asked for (known after the first call when not configured)."""
        return self._model

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.options.api_key is not None:
            headers["Authorization"] = f"Bearer {self.options.api_key.get_secret_value()}"
        return headers

    def _client(self) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        loop_id = id(asyncio.get_running_loop())
        pair = self._clients.get(loop_id)
        if pair is None:
            client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.options.timeout_s),
                limits=httpx.Limits(
                    max_connections=self.options.max_concurrency,
                    max_keepalive_connections=self.options.max_concurrency,
                ),
                headers=self._headers(),
            )
            pair = (client, asyncio.Semaphore(self.options.max_concurrency))
            self._clients = {loop_id: pair}  # clients of finished loops are dropped
        return pair

    async def aprepare(self) -> None:
        """Discover the model (``GET /models``) when none was configured.

        A new run tries the servers again, even after an earlier run found them dead.
        """
        self._unreachable = None
        self._breaker.answered()
        await self._resolve_model()

    async def arelease(self) -> None:
        """Close the HTTP client of the running loop (a later call opens a new one)."""
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client of the running loop."""
        if self._pool is not None:
            for client in self._pool.clients:
                await client.aclose()
        pair = self._clients.pop(id(asyncio.get_running_loop()), None)
        if pair is not None:
            await pair[0].aclose()

    # ----------------------------------------------------------------- HTTP
    async def _send(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        if self._unreachable is not None:  # the run is stopping: no more connection attempts
            raise self._unreachable
        client, semaphore = self._client()
        url = f"{self._root}{path}"
        async with semaphore:
            try:
                response = await client.request(method, url, json=body)
            except (httpx.ConnectError, httpx.ConnectTimeout) as e:
                failure = LLMConnectionError(f"cannot reach {url}: {type(e).__name__}: {e}")
                if self._breaker.failed(time.monotonic()):
                    self._unreachable = unreachable_error(
                        [self._root], self._breaker.count, failure
                    )
                    raise self._unreachable from e
                raise failure from e
            except httpx.TimeoutException as e:
                raise RetryableLLMError(
                    f"{url} did not answer within {self.options.timeout_s:g}s ({type(e).__name__})"
                ) from e
            except httpx.TransportError as e:
                raise RetryableLLMError(f"cannot reach {url}: {type(e).__name__}: {e}") from e
        self._breaker.answered()
        if response.status_code >= 400:
            detail = response.text[:300].replace("\n", " ")
            err = retryable_for_status(
                response.status_code,
                f"{url} answered HTTP {response.status_code}: {detail}",
                _retry_after(response.headers.get("retry-after")),
            )
            err.status_code = response.status_code  # type: ignore[attr-defined]
            if response.status_code in (401, 403):
                err.hint = "check the API key (--api-key-env NAME, or CTK_OPENAI_API_KEY)"
            raise err
        try:
            return response.json()
        except ValueError as e:
            raise LLMResponseError(f"{url} answered with a body that is not JSON") from e

    async def _resolve_pool_model(self, pool: EndpointPool[OpenAIBackend]) -> str:
        """The configured model, else the first that a server of the pool lists."""
        if self._model is None:
            last: LLMError | None = None
            for client in pool.clients:
                try:
                    self._model = await client._resolve_model()
                    break
                except LLMError as e:
                    last = e
                    logger.warning("%s does not list its model: %s", client.base_url, e)
            if self._model is None:
                assert last is not None
                raise last
        for client in pool.clients:
            client._model = self._model  # one model name for every server: one cache key
        return self._model

    async def _resolve_model(self) -> str:
        if self._pool is not None:
            return await self._resolve_pool_model(self._pool)
        if self._model is None:
            data = await call_with_retries(
                self._probe_models, self.policy, what="GET /models", stats=self.stats
            )
            try:
                self._model = str(data["data"][0]["id"])
                owner = data["data"][0].get("owned_by")
            except (KeyError, IndexError, TypeError, AttributeError) as e:
                raise LLMError(
                    f"{self._root}/models lists no model",
                    hint="pass --model NAME",
                ) from e
            logger.info("openai backend: using model %s from %s/models", self._model, self._root)
            if owner == _LLAMA_CPP_PYTHON_OWNER:
                # llama-cpp-python validates response_format.type as "text" | "json_object"
                # and answers HTTP 500 to json_schema: start where it will succeed
                with _negotiated_lock:
                    _negotiated.setdefault(f"{self._root} {self._model}", "json_object")
        return self._model

    async def _probe_models(self) -> Any:
        """``GET /models``; a refused connection fails at once, saying what to do."""
        try:
            return await self._send("GET", "/models")
        except LLMConnectionError as e:
            raise LLMUnavailableError(
                f"no model given, and the probe for one failed: {e}",
                hint=f"start the server (`ctk teacher serve` listens on {TEACHER_SERVE_URL}) or "
                "point at yours with --base-url URL; pass --model NAME to skip the probe; "
                "`ctk teacher wait URL` waits until a server answers",
            ) from e

    def _body(self, request: LLMRequest, model: str, mode: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": model,
            "messages": [m.model_dump() for m in request.messages],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        if request.json_schema is not None and mode == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": "ctk_answer",
                    "schema": request.json_schema,
                    "strict": False,
                },
            }
        elif request.json_schema is not None and mode == "json_object":
            body["response_format"] = {"type": "json_object", "schema": request.json_schema}
        body.update(self.options.extra_body)
        return body

    def _modes(self, key: str) -> tuple[str, ...]:
        chosen = self.options.structured_output
        if chosen != "auto":
            return (chosen,)
        with _negotiated_lock:
            known = _negotiated.get(key)
        return _MODES[_MODES.index(known) :] if known else _MODES

    async def _attempt(self, request: LLMRequest, model: str) -> tuple[Any, str]:
        key = f"{self._root} {model}"
        modes = self._modes(key) if request.json_schema is not None else ("none",)
        for i, mode in enumerate(modes):
            body = self._body(request, model, mode)
            try:
                try:
                    data = await self._send("POST", "/chat/completions", body)
                except LLMError as first:
                    # a 500 may be a rejected response_format (llama.cpp) or a transient
                    # failure: ask once more before trying the next form, unless the
                    # server said it was the response_format
                    if not (i + 1 < len(modes) and getattr(first, "status_code", None) == 500):
                        raise
                    if "response_format" in str(first):
                        raise
                    data = await self._send("POST", "/chat/completions", body)
            except LLMError as e:
                status = getattr(e, "status_code", None)
                if i + 1 < len(modes) and status in _REJECTS_FORMAT:
                    logger.info(
                        "%s rejected response_format %s (HTTP %s); trying %s",
                        self._root,
                        mode,
                        status,
                        modes[i + 1],
                    )
                    continue
                raise
            if self.options.structured_output == "auto" and request.json_schema is not None:
                with _negotiated_lock:
                    if _negotiated.get(key) != mode:
                        logger.info("%s: structured output form %s works", self._root, mode)
                    _negotiated[key] = mode
            return data, mode
        raise AssertionError("unreachable")  # pragma: no cover

    def _generate(self, request: LLMRequest) -> LLMResponse:
        async def once() -> LLMResponse:
            try:
                return await self._agenerate(request)
            finally:
                await self.aclose()

        return asyncio.run(once())

    async def _agenerate(self, request: LLMRequest) -> LLMResponse:
        if self._pool is not None:
            await self._resolve_model()
            return await self._pool.run(
                lambda client: client._agenerate(request), what="chat completion"
            )
        model = await self._resolve_model()
        data, mode = await call_with_retries(
            lambda: self._attempt(request, model),
            self.policy,
            what="chat completion",
            stats=self.stats,
        )
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"]
        except (KeyError, IndexError, TypeError) as e:
            raise LLMResponseError(
                f"{self._root}/chat/completions answered without choices[0].message.content"
            ) from e
        usage = data.get("usage") or {}
        return LLMResponse(
            text=text or "",
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            model=str(data.get("model") or model),
            raw={
                "id": data.get("id"),
                "finish_reason": choice.get("finish_reason"),
                "structured_output": mode,
            },
        )
