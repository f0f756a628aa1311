"""The ``langchain`` backend: any LangChain chat model, given by import path.

``chat_model`` names the class (``langchain_openai.ChatOpenAI``,
``langchain_ollama.ChatOllama``, ...) and ``model_kwargs`` its constructor
arguments; ``model`` and ``base_url`` are added to them when given. Calls go
through ``ainvoke``; LangChain's own retries are switched off (``max_retries=0``
where the class takes it) and ctk's retry policy applies instead: 429, 5xx,
timeouts and connection errors are retried with backoff. Tokens come from the
answer's ``usage_metadata``.

The destination is taken from ``base_url`` (or ``openai_api_base``); classes
known to default to this machine (``ChatOllama``) count as local; any other class
without a base URL counts as remote (a hosted API) for the data policy.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ctk.errors import ConfigError, LLMError, MissingDependencyError, RetryableLLMError
from ctk.teacher.backend import (
    LLMBackend,
    LLMRequest,
    LLMResponse,
    RetryPolicy,
    call_with_retries,
    call_with_retries_sync,
    retryable_for_status,
)

__all__ = ["LangChainBackend", "LangChainBackendOptions"]

logger = logging.getLogger(__name__)

#: Chat-model classes whose default endpoint is this machine.
_LOCAL_BY_DEFAULT = {"ChatOllama": "http://localhost:11434"}


class LangChainBackendOptions(BaseModel):
    """Settings of the ``langchain`` backend.

    Attributes:
        chat_model: Import path of the chat-model class (``package.module.Class``).
        model: Model name, passed as ``model``.
        base_url: Server URL, passed as ``base_url``.
        api_key: API key, passed as ``api_key``.
        timeout_s: Per-request timeout, passed as ``timeout`` where the class takes it.
        model_kwargs: Other constructor arguments.
        max_retries: ctk retries on transient errors.
        backoff_s: First retry wait.
        max_backoff_s: Longest retry wait.
        structured_output: Send the request's JSON schema as ``response_format``:
            ``json_object`` (``{"type": "json_object", "schema": ...}``, llama.cpp),
            ``json_schema`` (OpenAI, vLLM, recent Ollama) or ``none`` (prompt only).
    """

    model_config = ConfigDict(extra="forbid")

    chat_model: str = "langchain_openai.ChatOpenAI"
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = Field(default=None, repr=False)
    timeout_s: float | None = Field(default=120.0, gt=0)
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    max_retries: int = Field(default=4, ge=0)
    backoff_s: float = Field(default=0.5, ge=0)
    max_backoff_s: float = Field(default=30.0, ge=0)
    structured_output: Literal["none", "json_object", "json_schema"] = "none"


def _import_class(path: str) -> type:
    module_name, _, cls_name = path.rpartition(".")
    if not module_name:
        raise ConfigError(
            f"chat_model {path!r} is not an import path", hint="e.g. langchain_openai.ChatOpenAI"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        package = module_name.split(".")[0].replace("_", "-")
        if package in ("langchain-openai", "langchain-core"):
            raise MissingDependencyError(package, "langchain") from e
        raise ConfigError(
            f"cannot import {module_name} for chat_model {path!r}: {e}",
            hint=f"pip install {package}",
        ) from e
    try:
        cls = getattr(module, cls_name)
    except AttributeError as e:
        raise ConfigError(f"{module_name} has no class {cls_name!r}") from e
    if not isinstance(cls, type):
        raise ConfigError(f"{path} is not a class")
    return cls


def _translate(e: Exception) -> Exception:
    """Map a provider exception to ctk's retryable/permanent errors."""
    status = getattr(e, "status_code", None)
    if status is None:
        response = getattr(e, "response", None)
        status = getattr(response, "status_code", None)
    name = type(e).__name__
    message = f"{name}: {e}"
    if isinstance(status, int):
        retry_after = None
        headers = getattr(getattr(e, "response", None), "headers", None)
        if headers is not None and headers.get("retry-after"):
            try:
                retry_after = float(headers["retry-after"])
            except ValueError:
                retry_after = None
        return retryable_for_status(status, message, retry_after)
    if any(word in name for word in ("Timeout", "Connection", "Connect")):
        return RetryableLLMError(message)
    return LLMError(message)


class LangChainBackend(LLMBackend):
    """A LangChain chat model as a teacher.

    Example:
        >>> LangChainBackend({"chat_model": "langchain_openai.ChatOpenAI",  # doctest: +SKIP
        ...                   "base_url": "http://127.0.0.1:8000/v1", "model": "m", "api_key": "x"})
    """

    name: ClassVar[str] = "langchain"
    Options: ClassVar[type[BaseModel]] = LangChainBackendOptions
    run_settings: ClassVar[frozenset[str]] = frozenset(
        {"base_url", "timeout_s", "max_retries", "backoff_s", "max_backoff_s"}
    )
    options: LangChainBackendOptions

    def __init__(self, options: BaseModel | dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._cls = _import_class(self.options.chat_model)
        self._chat: Any = None
        self._async_chat: Any = None
        self._async_http: Any = None
        self._loop_id: int | None = None
        self.policy = RetryPolicy(
            max_retries=self.options.max_retries,
            backoff_s=self.options.backoff_s,
            max_backoff_s=self.options.max_backoff_s,
        )

    def _field_names(self) -> set[str]:
        fields = getattr(self._cls, "model_fields", {})
        return set(fields) | {a for f in fields.values() for a in (getattr(f, "alias", None),) if a}

    def _kwargs(self) -> dict[str, Any]:
        kwargs = dict(self.options.model_kwargs)
        for key, value in (
            ("model", self.options.model),
            ("base_url", self.options.base_url),
            ("api_key", self.options.api_key),
        ):
            if value is not None:
                kwargs.setdefault(key, value)
        names = self._field_names()
        if "max_retries" in names:
            kwargs.setdefault("max_retries", 0)
        if self.options.timeout_s is not None and "timeout" in names:
            kwargs.setdefault("timeout", self.options.timeout_s)
        return kwargs

    @property
    def base_url(self) -> str | None:
        """Where the chat model sends requests (a guess for classes without a URL)."""
        kwargs = self._kwargs()
        url = kwargs.get("base_url") or kwargs.get("openai_api_base")
        if url:
            return str(url)
        return _LOCAL_BY_DEFAULT.get(self._cls.__name__)

    @property
    def is_remote(self) -> bool:
        """Remote unless the destination is known to be this machine."""
        url = self.base_url
        return True if url is None else super().is_remote

    @property
    def model_name(self) -> str | None:
        """The model asked for."""
        value = self._kwargs().get("model") or self._kwargs().get("model_name")
        return str(value) if value else None

    def _build(self, kwargs: dict[str, Any]) -> Any:
        try:
            return self._cls(**kwargs)
        except Exception as e:
            raise ConfigError(
                f"cannot build {self.options.chat_model}: {type(e).__name__}: {e}",
                hint="check --llm-option model_kwargs=... and the model/base URL",
            ) from e

    def chat_model(self, *, for_async: bool = False) -> Any:
        """The LangChain chat model (built on first use).

        For async calls, one per event loop: where the class takes an
        ``http_async_client`` (ChatOpenAI), it gets its own, closed by
        :meth:`arelease` (LangChain otherwise shares one across instances, bound to the
        first event loop).
        """
        if not for_async:
            if self._chat is None:
                self._chat = self._build(self._kwargs())
            return self._chat
        loop_id = id(asyncio.get_running_loop())
        if self._async_chat is None or self._loop_id != loop_id:
            kwargs = self._kwargs()
            if "http_async_client" in self._field_names() and "http_async_client" not in kwargs:
                import httpx

                self._async_http = httpx.AsyncClient(timeout=self.options.timeout_s)
                kwargs["http_async_client"] = self._async_http
            self._async_chat = self._build(kwargs)
            self._loop_id = loop_id
        return self._async_chat

    async def arelease(self) -> None:
        """Close the async HTTP client of this event loop."""
        if self._async_http is not None:
            await self._async_http.aclose()
        self._async_http = None
        self._async_chat = None

    def _bound(
        self, request: LLMRequest, *, for_async: bool = False
    ) -> tuple[Any, list[tuple[str, str]]]:
        chat = self.chat_model(for_async=for_async)
        messages: list[tuple[str, str]] = [
            ("ai" if m.role == "assistant" else str(m.role), m.content) for m in request.messages
        ]
        bind: dict[str, Any] = {
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        mode = self.options.structured_output
        if request.json_schema is not None and mode == "json_object":
            bind["response_format"] = {"type": "json_object", "schema": request.json_schema}
        elif request.json_schema is not None and mode == "json_schema":
            bind["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "ctk_answer", "schema": request.json_schema},
            }
        return chat.bind(**bind), messages

    async def _once(self, request: LLMRequest) -> Any:
        try:
            bound, messages = self._bound(request, for_async=True)
            return await bound.ainvoke(messages)
        except Exception as e:
            raise _translate(e) from e

    def _once_sync(self, request: LLMRequest) -> Any:
        try:
            bound, messages = self._bound(request)
            return bound.invoke(messages)
        except Exception as e:
            raise _translate(e) from e

    def _generate(self, request: LLMRequest) -> LLMResponse:
        message = call_with_retries_sync(
            lambda: self._once_sync(request), self.policy, what="LangChain call", stats=self.stats
        )
        return self._response(message)

    async def _agenerate(self, request: LLMRequest) -> LLMResponse:
        message = await call_with_retries(
            lambda: self._once(request), self.policy, what="LangChain call", stats=self.stats
        )
        return self._response(message)

    def _response(self, message: Any) -> LLMResponse:
        content = message.content
        if isinstance(content, list):
            content = "".join(
                part.get("text", "") if isinstance(part, dict) else str(part) for part in content
            )
        usage = getattr(message, "usage_metadata", None) or {}
        meta = getattr(message, "response_metadata", None) or {}
        return LLMResponse(
            text=str(content),
            prompt_tokens=int(usage.get("input_tokens") or 0),
            completion_tokens=int(usage.get("output_tokens") or 0),
            model=str(meta.get("model_name") or meta.get("model") or self.model_name or ""),
            raw={"finish_reason": meta.get("finish_reason")},
        )
