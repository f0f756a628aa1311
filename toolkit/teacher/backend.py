"""LLM backends: the teacher model behind ``ctk rationale generate``.

Every backend subclasses :class:`LLMBackend` and is registered under the
entry-point group ``ctk.llm_backends``; ctk's built-ins are ``openai`` (any
OpenAI-compatible server), ``langchain`` (any LangChain chat model), ``transformers``
(a local model) and ``template`` (offline, no model).

The public :meth:`LLMBackend.generate` / :meth:`LLMBackend.agenerate` are template
methods: they call the plugin's :meth:`LLMBackend._generate` or
:meth:`LLMBackend._agenerate` (a plugin implements at least one), count calls and
tokens in :attr:`LLMBackend.stats`, and wrap unexpected exceptions in
:class:`~ctk.errors.LLMError`. :func:`call_with_retries` gives network backends
retries with exponential backoff on 429, 5xx and connection errors.

Data policy: a backend whose :attr:`LLMBackend.base_url` points at a host other
than this machine is *remote* (:attr:`LLMBackend.is_remote`); cohort text goes to
it only when the caller says so (:func:`check_data_policy`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
import threading
import time
from abc import ABC
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from ctk.errors import (
    DataPolicyError,
    LLMError,
    RateLimitError,
    RetryableLLMError,
)
from ctk.plugin import Plugin

__all__ = [
    "BackendStats",
    "ChatMessage",
    "LLMBackend",
    "LLMRequest",
    "LLMResponse",
    "RetryPolicy",
    "call_with_retries",
    "call_with_retries_sync",
    "check_data_policy",
    "check_remote_consent",
    "is_loopback_url",
    "retryable_for_status",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class ChatMessage(BaseModel):
    """One chat message."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str


class LLMRequest(BaseModel):
    """One generation request.

    Attributes:
        messages: The chat so far.
        json_schema: JSON schema the answer must follow, where structured output is wanted.
        temperature: Sampling temperature (0 = greedy).
        max_tokens: Most tokens to generate.
        metadata: Structured inputs for backends that do not read text (the
            ``template`` backend); never sent over the network.
    """

    model_config = ConfigDict(extra="forbid")

    messages: list[ChatMessage] = Field(min_length=1)
    json_schema: dict[str, Any] | None = None
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=1024, ge=1)
    metadata: dict[str, Any] = Field(default_factory=dict)


class LLMResponse(BaseModel):
    """A backend's answer.

    Attributes:
        text: The generated text.
        prompt_tokens: Tokens read (as the server counts them; 0 when unknown).
        completion_tokens: Tokens written.
        model: The model that answered.
        raw: The backend's raw answer (JSON-ready), for debugging.
    """

    model_config = ConfigDict(extra="forbid")

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict)


@dataclass
class BackendStats:
    """Calls and tokens a backend has used in this process (thread-safe)."""

    calls: int = 0
    failures: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        """Add to the named counters."""
        with self._lock:
            for key, n in counts.items():
                setattr(self, key, getattr(self, key) + n)

    def as_dict(self) -> dict[str, int]:
        """The counters as a dict."""
        return {
            "calls": self.calls,
            "failures": self.failures,
            "retries": self.retries,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


class RetryPolicy(BaseModel):
    """How network backends retry transient failures.

    Attributes:
        max_retries: Retries after the first attempt (0 = none).
        backoff_s: First wait; doubles each retry (with jitter).
        max_backoff_s: Longest wait, also the cap on a server's ``Retry-After``.
    """

    model_config = ConfigDict(extra="forbid")

    max_retries: int = Field(default=4, ge=0)
    backoff_s: float = Field(default=0.5, ge=0.0)
    max_backoff_s: float = Field(default=30.0, ge=0.0)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_backoff_s)
        base = self.backoff_s * (2 ** (attempt - 1))
        return float(min(base * (1.0 + 0.25 * random.random()), self.max_backoff_s))


def _wait_before_retry(
    error: RetryableLLMError,
    tries: int,
    policy: RetryPolicy,
    what: str,
    stats: BackendStats | None,
) -> float:
    """Seconds to wait before retry number ``tries``; re-raises ``error`` when none is left."""
    if tries > policy.max_retries:
        raise error
    retry_after = getattr(error, "retry_after", None)
    wait = policy.delay(tries, retry_after if isinstance(retry_after, float) else None)
    logger.info(
        "%s failed (%s); retry %d/%d in %.2fs", what, error, tries, policy.max_retries, wait
    )
    if stats is not None:
        stats.add(retries=1)
    return wait


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    what: str = "LLM call",
    stats: BackendStats | None = None,
) -> T:
    """Await ``attempt()``; retry :class:`~ctk.errors.RetryableLLMError` with backoff.

    A :class:`~ctk.errors.RateLimitError` carrying ``retry_after`` waits that long
    (capped by the policy).

    Args:
        attempt: Makes one attempt.
        policy: Retry settings.
        what: Name for log messages.
        stats: Counters to add retries to.

    Returns:
        The first successful result.

    Raises:
        RetryableLLMError: The last attempt's error, once retries are exhausted.
    """
    tries = 0
    while True:
        try:
            return await attempt()
        except RetryableLLMError as e:
            tries += 1
            await asyncio.sleep(_wait_before_retry(e, tries, policy, what, stats))


def call_with_retries_sync(
    attempt: Callable[[], T],
    policy: RetryPolicy,
    *,
    what: str = "LLM call",
    stats: BackendStats | None = None,
) -> T:
    """Blocking twin of :func:`call_with_retries`."""
    tries = 0
    while True:
        try:
            return attempt()
        except RetryableLLMError as e:
            tries += 1
            time.sleep(_wait_before_retry(e, tries, policy, what, stats))


def is_loopback_url(url: str | None) -> bool:
    """Whether ``url`` points at this machine (loopback address or ``localhost``).

    A missing URL (an in-process backend) counts as local.
    """
    if not url:
        return True
    host = urlsplit(url if "//" in url else f"//{url}").hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_data_policy(backend: LLMBackend, *, allow_remote: bool) -> None:
    """Refuse to send cohort text to a remote backend unless allowed.

    Args:
        backend: The backend about to be used.
        allow_remote: The user's explicit consent (``--allow-remote``).

    Raises:
        DataPolicyError: The backend is remote and ``allow_remote`` is false.
    """
    if not backend.is_remote:
        return
    check_remote_consent(
        backend.base_url or "an unknown host",
        sender=f"backend {backend.name!r}",
        allow_remote=allow_remote,
        local_option="use a local server (vLLM, Ollama, llama.cpp on 127.0.0.1)",
    )


def check_remote_consent(where: str, *, sender: str, allow_remote: bool, local_option: str) -> None:
    """The data policy: cohort text leaves this machine only with explicit consent.

    Shared by the LLM backends and the viewer (``ctk view --host``).

    Args:
        where: The remote host (or URL) the text would reach.
        sender: What would send it, for the message ("backend 'openai'").
        allow_remote: The user's explicit consent (``--allow-remote``).
        local_option: The local alternative, for the hint.

    Raises:
        DataPolicyError: ``allow_remote`` is false.
    """
    if not allow_remote:
        raise DataPolicyError(
            f"{sender} would send cohort text to {where}, which is not this machine",
            hint=(
                f"MIMIC's data use agreement forbids sending notes to third parties; {local_option}"
                " or, if your data allows it, pass --allow-remote"
            ),
        )
    logger.warning("sending cohort text to %s (remote host, allowed explicitly)", where)


class LLMBackend(Plugin, ABC):
    """Base class of every LLM backend plugin.

    Subclasses set :attr:`name` and :attr:`Options` and implement :meth:`_agenerate`
    (async) or :meth:`_generate` (sync), or both. Constructors take ``options``.

    Example:
        >>> backend = LLM_BACKENDS.get("openai")(opts)  # doctest: +SKIP
        >>> backend.generate(LLMRequest(messages=[ChatMessage(role="user", content="hi")]))
    """

    kind: ClassVar[str] = "LLM backend"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if (
            cls._generate is LLMBackend._generate
            and cls._agenerate is LLMBackend._agenerate
            and not getattr(cls, "__abstractmethods__", None)
            and not cls.__name__.startswith("_")
        ):
            raise TypeError(f"{cls.__name__} must implement _generate or _agenerate")

    def __init__(self, options: BaseModel | dict[str, Any] | None = None) -> None:
        self.options = self.parse_options(options)
        self.stats = BackendStats()

    # ----------------------------------------------------------------- properties
    @property
    def base_url(self) -> str | None:
        """Where requests go; None for an in-process backend."""
        return None

    @property
    def is_remote(self) -> bool:
        """True when :attr:`base_url` is not this machine (data policy applies)."""
        return not is_loopback_url(self.base_url)

    @property
    def model_name(self) -> str | None:
        """The model this backend asks for, where known before a call."""
        return None

    # ----------------------------------------------------------------- public API
    def generate(self, request: LLMRequest) -> LLMResponse:
        """Generate an answer (blocking).

        Raises:
            LLMError: The call failed (a :class:`~ctk.errors.RetryableLLMError` once
                retries are exhausted; :class:`~ctk.errors.LLMResponseError` for an
                unusable answer).
        """
        with self._accounting():
            response = self._generate(request)
        self._count(response)
        return response

    async def agenerate(self, request: LLMRequest) -> LLMResponse:
        """Generate an answer (async); see :meth:`generate`."""
        with self._accounting():
            response = await self._agenerate(request)
        self._count(response)
        return response

    def close(self) -> None:
        """Release connections or models (default: nothing)."""

    async def aclose(self) -> None:
        """Async :meth:`close`."""
        self.close()

    async def aprepare(self) -> None:
        """Get ready before a run (e.g. discover the model name); default: nothing.

        Called by :func:`ctk.teacher.agenerate_rationales` before the first input
        hash is computed, so that :attr:`model_name` is known and stable.
        """

    async def arelease(self) -> None:
        """Release what is bound to the running event loop (HTTP clients); keep the rest.

        Called by :func:`ctk.teacher.agenerate_rationales` before its loop ends;
        the backend stays usable (a later call in another loop makes new clients).
        """

    # ----------------------------------------------------------------- plugin hooks
    def _generate(self, request: LLMRequest) -> LLMResponse:
        """Blocking generation; the default runs :meth:`_agenerate` in a fresh loop."""
        return asyncio.run(self._agenerate(request))

    async def _agenerate(self, request: LLMRequest) -> LLMResponse:
        """Async generation; the default runs :meth:`_generate` in a worker thread."""
        return await asyncio.to_thread(self._generate, request)

    # ----------------------------------------------------------------- internals
    @contextlib.contextmanager
    def _accounting(self) -> Iterator[None]:
        """Count a failed call; a plugin's own exception becomes an LLMError."""
        try:
            with self.reraise_as(LLMError):
                yield
        except Exception:
            self.stats.add(calls=1, failures=1)
            raise

    def _count(self, response: LLMResponse) -> None:
        self.stats.add(
            calls=1,
            prompt_tokens=response.prompt_tokens,
            completion_tokens=response.completion_tokens,
        )


def retryable_for_status(status: int, message: str, retry_after: float | None = None) -> LLMError:
    """The error for an HTTP status: retryable for 408/409/429/5xx, else permanent."""
    if status == 429:
        err: LLMError = RateLimitError(
            message, hint="the server is rate limiting; lower --concurrency"
        )
        err.retry_after = retry_after  # type: ignore[attr-defined]
        return err
    if status in (408, 409) or status >= 500:
        return RetryableLLMError(message)
    return LLMError(message)
