"""The LLM backend plugin kind: its base class and the request/response models.

Every LLM backend subclasses :class:`LLMBackend` and is registered under the
entry-point group ``ctk.llm_backends`` (:data:`ctk.registry.LLM_BACKENDS`);
ctk's built-ins are ``openai`` (any OpenAI-compatible server), ``langchain`` (any
LangChain chat model), ``transformers`` (a local model) and ``template`` (offline,
no model). This module sits in the core beside the two other plugin kinds
(:mod:`ctk.retrieval`, :mod:`ctk.extraction`), the shared plugin shape
(:mod:`ctk.plugin`) and the registries (:mod:`ctk.registry`), so that registering
the kind imports nothing of the teacher.

The public :meth:`LLMBackend.generate` / :meth:`LLMBackend.agenerate` are template
methods: they call the plugin's :meth:`LLMBackend._generate` or
:meth:`LLMBackend._agenerate` (a plugin implements at least one), count calls and
tokens in :attr:`LLMBackend.stats`, and wrap unexpected exceptions in
:class:`~ctk.errors.LLMError`. Retries, HTTP status mapping and the data policy
(what a remote backend may receive) live with the teacher, in
:mod:`ctk.teacher.backend`. For callers that want text from a prompt (the LLM
concept extractor), :func:`backend_generator` adapts a backend to a
:class:`TextGenerator`, and :class:`CachedGenerator` keeps each answer on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import os
import threading
from abc import ABC
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from ctk.errors import LLMError
from ctk.plugin import Plugin

__all__ = [
    "BackendStats",
    "CachedGenerator",
    "ChatMessage",
    "LLMBackend",
    "LLMRequest",
    "LLMResponse",
    "TextGenerator",
    "backend_generator",
    "is_loopback_url",
]


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
        """The counters as a dict (read together, under the lock)."""
        with self._lock:
            return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "_lock"}


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


@runtime_checkable
class TextGenerator(Protocol):
    """Anything that turns a prompt into text."""

    def generate(self, prompt: str) -> str:
        """The model's answer to ``prompt``."""
        ...


class _BackendGenerator:
    """Adapts an :class:`~ctk.llm.LLMBackend` to :class:`TextGenerator`."""

    def __init__(self, backend: LLMBackend, max_tokens: int) -> None:
        self.backend = backend
        self.max_tokens = max_tokens

    def generate(self, prompt: str) -> str:
        request = LLMRequest(
            messages=[ChatMessage(role="user", content=prompt)],
            temperature=0.0,
            max_tokens=self.max_tokens,
        )
        return self.backend.generate(request).text


def backend_generator(backend: LLMBackend, *, max_tokens: int = 256) -> TextGenerator:
    """A :class:`TextGenerator` over an LLM backend plugin (greedy, one user message).

    Args:
        backend: An LLM backend (``ctk.llm_backends`` plugin) instance.
        max_tokens: Most tokens per answer.
    """
    return _BackendGenerator(backend, max_tokens)


class CachedGenerator:
    """A :class:`TextGenerator` that keeps each answer in a folder (one small file each).

    The key is the SHA-256 of ``key`` (the model's identity) and the prompt; files
    are written to a temporary name and renamed, so a kill never leaves half an
    answer. :attr:`hits` and :attr:`misses` count lookups.

    Args:
        generator: The model.
        folder: The cache folder (created on first write).
        key: What identifies the model (backend, model name, base URL).
    """

    def __init__(self, generator: TextGenerator, folder: str | Path, *, key: str = "") -> None:
        self.generator = generator
        self.folder = Path(folder)
        self.key = key
        self.hits = 0
        self.misses = 0

    def _path(self, prompt: str) -> Path:
        digest = hashlib.sha256(f"{self.key}\x00{prompt}".encode()).hexdigest()
        return self.folder / digest[:2] / f"{digest}.txt"

    def generate(self, prompt: str) -> str:
        """The cached answer to ``prompt``, or the model's (then cached)."""
        path = self._path(prompt)
        try:
            answer = path.read_text(encoding="utf-8")
        except (FileNotFoundError, UnicodeDecodeError):
            pass
        else:
            self.hits += 1
            return answer
        answer = self.generator.generate(prompt)
        self.misses += 1
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(answer, encoding="utf-8")
        tmp.replace(path)
        return answer
