"""How a client retries a call that failed for a passing reason: the back-off policy.

One value object for every retrying client of ctk: the network LLM backends
(:func:`ctk.teacher.backend.call_with_retries`, on 429, 5xx and dropped connections)
and the Neo4j store (:class:`ctk.kg.stores.neo4j.Neo4jStore`, when the server is
unreachable). Each caller decides what counts as retryable; the policy says how
often and how long to wait.
"""

from __future__ import annotations

import random

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RetryPolicy"]


class RetryPolicy(BaseModel):
    """How many times to retry, and how long to wait between tries.

    Attributes:
        max_retries: Retries after the first attempt (0 = none).
        backoff_s: First wait; doubles each retry (with up to 25 % jitter).
        max_backoff_s: Longest wait, also the cap on a server's ``Retry-After``.

    Example:
        >>> policy = RetryPolicy(max_retries=2, backoff_s=0.5, max_backoff_s=30.0)
        >>> 0.5 <= policy.delay(1) <= 0.625
        True
    """

    model_config = ConfigDict(extra="forbid")

    max_retries: int = Field(default=4, ge=0)
    backoff_s: float = Field(default=0.5, ge=0.0)
    max_backoff_s: float = Field(default=30.0, ge=0.0)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based).

        Args:
            attempt: Which retry this is (1 for the first).
            retry_after: The wait a server asked for (``Retry-After``), capped by
                ``max_backoff_s``; None for the exponential back-off.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_backoff_s)
        base = self.backoff_s * (2 ** (attempt - 1))
        return float(min(base * (1.0 + 0.25 * random.random()), self.max_backoff_s))
