"""A pool of OpenAI-compatible servers serving one model (vLLM replicas, say).

:class:`EndpointPool` sends each request to the healthy server with the most free
capacity (its ``max_concurrency`` less the requests it has in flight). A server
that fails a request (connection refused or reset, timeout, HTTP 5xx) is taken
out (its circuit *opens*) for ``cooldown_s``, doubled after each further failure
up to ``max_cooldown_s``; then one probe request is let through (*half-open*):
success puts it back, failure takes it out again for longer. The request that
failed, and every other request that was in flight on that server, is sent again
to another server; only a request that failed ``max_attempts`` times is given up
(as a :class:`~ctk.errors.RetryableLLMError`, recorded as failed by the caller and
generated again by a resumed run). HTTP 429 is back-pressure, not a failure: that
server is skipped for its ``Retry-After`` (or ``cooldown_s``) without opening.
Errors that another server would repeat (HTTP 4xx, an unusable answer) are raised
at once.

When no server can be connected to (``max_connect_failures`` connection failures
in a row, each server among them, for at least ``unreachable_after_s``), the pool
gives up on the whole run: :class:`~ctk.errors.LLMUnavailableError`, which the
caller does not record against an admission (a dead cluster says nothing about
the admissions; a resumed run generates them).

The pool never sends one request to two servers at the same time, so an answer is
never generated twice; the caller's cache and resume (``ctk rationale generate``)
work as with one server, since the cache key holds the backend and model names
and not the server.

Endpoints come from repeated ``--base-url`` flags or a file
(:func:`read_endpoints`), one server a line::

    # URL                         [max concurrency]
    http://gpu-1:8000/v1          32
    http://gpu-2:8000/v1          32
    http://gpu-3:8000/v1
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ctk.errors import (
    ConfigError,
    LLMConnectionError,
    LLMError,
    LLMUnavailableError,
    RateLimitError,
    RetryableLLMError,
)

__all__ = [
    "EndpointPool",
    "EndpointSpec",
    "EndpointState",
    "UnreachableBreaker",
    "read_endpoints",
    "unreachable_error",
]

logger = logging.getLogger(__name__)

C = TypeVar("C")
T = TypeVar("T")


class EndpointSpec(BaseModel):
    """One server of a pool.

    Attributes:
        base_url: Its API root, e.g. ``http://gpu-1:8000/v1``.
        max_concurrency: Requests it takes at once (None: the backend's ``max_concurrency``).
    """

    model_config = ConfigDict(extra="forbid")

    base_url: str
    max_concurrency: int | None = Field(default=None, ge=1)


def read_endpoints(path: str | Path) -> list[EndpointSpec]:
    """Endpoints of a file: ``URL [MAX_CONCURRENCY]`` a line, ``#`` starts a comment.

    Raises:
        ConfigError: No such file, a malformed line, or no endpoint at all.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read the endpoints file {path}: {e.strerror}") from e
    specs: list[EndpointSpec] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        try:
            if len(parts) > 2:
                raise ValueError("too many fields")
            capacity = int(parts[1]) if len(parts) == 2 else None
            specs.append(EndpointSpec(base_url=parts[0], max_concurrency=capacity))
        except ValueError as e:
            raise ConfigError(
                f"{path}:{number}: expected 'URL [MAX_CONCURRENCY]', got {line!r}",
                hint="e.g. http://127.0.0.1:8000/v1 16",
            ) from e
    if not specs:
        raise ConfigError(f"{path} lists no endpoint", hint="one URL a line")
    return specs


#: Where ``ctk teacher serve`` listens by default (the ``openai`` backend's default).
TEACHER_SERVE_URL = "http://127.0.0.1:8765/v1"


@dataclass
class UnreachableBreaker:
    """Counts connection failures in a row; trips when the servers look dead.

    It trips when at least ``threshold`` connections in a row failed and the
    first of them is at least ``grace_s`` old (a server restarting for a moment
    does not stop a long run; a closed port stops it within seconds). Any answer
    from a server (even an HTTP error) resets it.

    Attributes:
        threshold: Connection failures in a row that may trip it (0: never trips).
        grace_s: Shortest time the failures must span.
    """

    threshold: int = 5
    grace_s: float = 2.0
    count: int = 0
    since: float = 0.0

    def answered(self) -> None:
        """A server answered: the streak ends."""
        self.count = 0

    def failed(self, now: float) -> bool:
        """One more connection failure; True when the breaker trips."""
        if self.count == 0:
            self.since = now
        self.count += 1
        return self.tripped(now)

    def tripped(self, now: float) -> bool:
        """Whether the failures so far are enough to give up."""
        return 0 < self.threshold <= self.count and now - self.since >= self.grace_s


def unreachable_error(
    urls: Sequence[str], failures: int, last: BaseException
) -> LLMUnavailableError:
    """The error that stops a run whose servers refuse every connection."""
    where = ", ".join(urls)
    return LLMUnavailableError(
        f"cannot connect to {where}: {failures} connection attempts in a row failed "
        f"(last: {last}); the run stops, and no admission was recorded as failed",
        hint=f"start the server (`ctk teacher serve` listens on {TEACHER_SERVE_URL}) or point "
        "at yours with --base-url URL; `ctk teacher wait URL` waits until it answers; run the "
        "same command again to resume",
    )


@dataclass
class EndpointState:
    """What the pool knows about one server (see :meth:`EndpointPool.states`)."""

    base_url: str
    capacity: int
    in_flight: int = 0
    answered: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    connect_failures: int = 0  # connection failures in a row (refused, unreachable)
    open_until: float = 0.0  # monotonic time; the circuit is open before it
    probing: bool = False
    skip_until: float = 0.0  # 429 back-pressure

    def usable(self, now: float) -> bool:
        """Whether a request may go to this server now."""
        if now < self.skip_until or self.in_flight >= self.capacity:
            return False
        if self.consecutive_failures == 0:
            return True
        # open, then half-open: one probe at a time once the cool-down has passed
        return now >= self.open_until and not self.probing


class EndpointPool(Generic[C]):
    """Spreads requests over several servers with circuit breakers.

    Args:
        endpoints: ``(spec, client)`` pairs; the client is what ``call`` receives.
        capacity: Default per-server concurrency where a spec gives none.
        cooldown_s: First time a failed server stays out.
        max_cooldown_s: Longest time out.
        max_attempts: Attempts of one request, over all servers, before giving up.
        on_retry: Called each time a request is sent again (for the backend's stats).
        max_connect_failures: Connection failures in a row (each server among them)
            after which the whole pool is given up (0: never).
        unreachable_after_s: Shortest time those failures must span.

    Example:
        >>> pool = EndpointPool([(spec, client) for spec, client in pairs])  # doctest: +SKIP
        >>> await pool.run(lambda client: client.chat(request))
    """

    def __init__(
        self,
        endpoints: Sequence[tuple[EndpointSpec, C]],
        *,
        capacity: int = 16,
        cooldown_s: float = 5.0,
        max_cooldown_s: float = 120.0,
        max_attempts: int = 8,
        on_retry: Callable[[], None] | None = None,
        max_connect_failures: int = 5,
        unreachable_after_s: float = 2.0,
    ) -> None:
        if not endpoints:
            raise ConfigError("an endpoint pool needs at least one endpoint")
        urls = [spec.base_url for spec, _ in endpoints]
        if len(set(urls)) != len(urls):
            raise ConfigError("an endpoint is listed twice", hint=f"endpoints: {', '.join(urls)}")
        self._clients = [client for _, client in endpoints]
        self._states = [
            EndpointState(base_url=spec.base_url, capacity=spec.max_concurrency or capacity)
            for spec, _ in endpoints
        ]
        self.cooldown_s = cooldown_s
        self.max_cooldown_s = max_cooldown_s
        self.max_attempts = max(1, max_attempts)
        self.on_retry = on_retry
        self._breaker = UnreachableBreaker(max_connect_failures, unreachable_after_s)
        self._unreachable: LLMUnavailableError | None = None
        self._changed: asyncio.Condition | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def clients(self) -> list[C]:
        """The clients, in endpoint order."""
        return list(self._clients)

    @property
    def capacity(self) -> int:
        """Requests all servers take at once."""
        return sum(s.capacity for s in self._states)

    def states(self) -> list[EndpointState]:
        """A copy of each server's state, in endpoint order."""
        return [EndpointState(**vars(s)) for s in self._states]

    def _condition(self) -> asyncio.Condition:
        loop = asyncio.get_running_loop()
        if self._changed is None or self._loop is not loop:
            self._changed, self._loop = asyncio.Condition(), loop
            for s in self._states:  # requests of a finished loop are gone
                s.in_flight, s.probing = 0, False
            self._unreachable = None  # a new run tries the servers again
            self._breaker.answered()
        return self._changed

    def _pick(self, now: float) -> int | None:
        best: int | None = None
        for i, s in enumerate(self._states):
            if not s.usable(now):
                continue
            if best is None:
                best = i
                continue
            b = self._states[best]
            if (s.capacity - s.in_flight, -s.answered) > (b.capacity - b.in_flight, -b.answered):
                best = i
        return best

    def _next_change(self, now: float) -> float:
        """Seconds until a cool-down or a back-off ends (a release also wakes waiters)."""
        times = [t for s in self._states for t in (s.open_until, s.skip_until) if t > now]
        return min(times) - now + 0.01 if times else 1.0

    async def _acquire(self) -> int:
        changed = self._condition()
        async with changed:
            while True:
                if self._unreachable is not None:
                    raise self._unreachable
                now = time.monotonic()
                i = self._pick(now)
                if i is not None:
                    s = self._states[i]
                    s.in_flight += 1
                    if s.consecutive_failures:
                        s.probing = True
                        logger.info("probing %s after its cool-down", s.base_url)
                    return i
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), timeout=self._next_change(now))

    async def _release(self, i: int, outcome: str, error: LLMError | None = None) -> None:
        changed = self._condition()
        async with changed:
            s = self._states[i]
            s.in_flight = max(0, s.in_flight - 1)
            was_probe, s.probing = s.probing, False
            now = time.monotonic()
            if isinstance(error, LLMConnectionError):
                s.connect_failures += 1
                tripped = self._breaker.failed(now)
                if tripped and all(st.connect_failures for st in self._states):
                    self._unreachable = unreachable_error(
                        [st.base_url for st in self._states], self._breaker.count, error
                    )
            elif outcome in ("ok", "busy") or error is not None:
                s.connect_failures = 0  # it answered, if only with an error
                self._breaker.answered()
            if outcome == "ok":
                s.answered += 1
                if s.consecutive_failures:
                    logger.warning("%s answers again; back in the pool", s.base_url)
                s.consecutive_failures = 0
            elif outcome == "busy":
                retry_after = getattr(error, "retry_after", None)
                wait = retry_after if isinstance(retry_after, float) else self.cooldown_s
                s.skip_until = max(s.skip_until, now + min(wait, self.max_cooldown_s))
            elif outcome == "failed":
                s.failures += 1
                if s.consecutive_failures == 0 or was_probe or now >= s.open_until:
                    s.consecutive_failures += 1
                    cool = min(
                        self.cooldown_s * 2 ** (s.consecutive_failures - 1), self.max_cooldown_s
                    )
                    s.open_until = now + cool
                    logger.warning(
                        "%s failed (%s); out of the pool for %.1f s, its requests go to the others",
                        s.base_url,
                        error,
                        cool,
                    )
            changed.notify_all()

    async def run(self, call: Callable[[C], Awaitable[T]], *, what: str = "request") -> T:
        """Run ``call`` on a client with free capacity; on failure, on another.

        Raises:
            RetryableLLMError: ``max_attempts`` attempts failed.
            LLMError: A failure another server would repeat (HTTP 4xx, a bad answer).
        """
        last: LLMError | None = None
        for attempt in range(1, self.max_attempts + 1):
            if attempt > 1 and self.on_retry is not None:
                self.on_retry()
            i = await self._acquire()
            try:
                result = await call(self._clients[i])
            except RateLimitError as e:
                await self._release(i, "busy", e)
                last = e
                continue
            except RetryableLLMError as e:
                await self._release(i, "failed", e)
                if self._unreachable is not None:
                    raise self._unreachable from e
                last = e
                logger.info(
                    "%s failed on %s (attempt %d of %d); sending it elsewhere",
                    what,
                    self._states[i].base_url,
                    attempt,
                    self.max_attempts,
                )
                continue
            except LLMError as e:  # the server answered: it is alive
                await self._release(i, "done", e)
                raise
            except BaseException:
                await self._release(i, "done")
                raise
            await self._release(i, "ok")
            return result
        assert last is not None
        raise RetryableLLMError(
            f"{what} failed on every try ({self.max_attempts} attempts over "
            f"{len(self._states)} servers); last error: {last}",
            hint="check the servers; a resumed run generates the failed admissions again "
            "(--retry-failed)",
        ) from last
