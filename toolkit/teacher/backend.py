"""The teacher's side of LLM backends: retries, HTTP status mapping, the data policy.

The backend plugin kind itself (:class:`~ctk.llm.LLMBackend` and its request and
response models) lives in the core, in :mod:`ctk.llm`; it is re-exported here
because third-party backends written before it moved import
``ctk.teacher.backend.LLMBackend``. ctk's own modules import it from :mod:`ctk.llm`.

:func:`call_with_retries` gives network backends retries with exponential backoff
on 429, 5xx and connection errors, under a :class:`~ctk.retry.RetryPolicy` (the core's
back-off policy, which the Neo4j store follows too; re-exported here).

Data policy: a backend whose :attr:`~ctk.llm.LLMBackend.base_url` points at a host
other than this machine is *remote* (:attr:`~ctk.llm.LLMBackend.is_remote`); cohort
text goes to it only when the caller says so (:func:`check_data_policy`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ctk.errors import (
    DataPolicyError,
    LLMError,
    RateLimitError,
    RetryableLLMError,
)

# the backend kind lives in ctk.llm; re-exported for plugins that import it from here
from ctk.llm import BackendStats as BackendStats
from ctk.llm import ChatMessage as ChatMessage
from ctk.llm import LLMBackend as LLMBackend
from ctk.llm import LLMRequest as LLMRequest
from ctk.llm import LLMResponse as LLMResponse
from ctk.llm import is_loopback_url as is_loopback_url
from ctk.retry import RetryPolicy

__all__ = [
    "RetryPolicy",
    "call_with_retries",
    "call_with_retries_sync",
    "check_data_policy",
    "check_remote_consent",
    "retryable_for_status",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")


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
