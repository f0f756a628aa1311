"""The exception tree of ctk.

Every error that ctk raises on purpose derives from :class:`CtkError`. The CLI
catches ``CtkError``, prints its message and :attr:`CtkError.hint`, and exits
with status 2; anything else is a bug and keeps its traceback.

::

    CtkError(Exception)                     .hint: str | None
    ├── ConfigError(CtkError, ValueError)
    ├── DataError
    │   ├── RecordParseError               a record (row, XML element) cannot be read
    │   │   └── TruncatedFileError         a compressed file ends early or is corrupt
    │   ├── MissingColumnError             a table lacks a required column
    │   └── FormatVersionError             a file written by a newer/unknown format
    ├── GraphStoreError
    │   ├── StoreUnavailableError          the store cannot be reached or opened
    │   ├── StoreWriteError                a write failed after retries
    │   └── SchemaViolationError           a label/type outside the schema allow-list
    ├── PluginError
    │   ├── PluginNotFoundError
    │   ├── PluginLoadError
    │   └── PluginConstructionError        the plugin's constructor raised
    ├── RetrievalError
    ├── LLMError
    │   ├── LLMResponseError               the answer cannot be parsed or validated
    │   ├── DataPolicyError                cohort text would leave the machine
    │   ├── LLMUnavailableError            no server answers: the run stops at once
    │   └── RetryableLLMError              429 / 5xx / connection errors
    │       ├── RateLimitError
    │       └── LLMConnectionError         connection refused / cannot connect
    └── DistillError
        └── CheckpointError
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ConfigError",
    "CtkError",
    "DataError",
    "DataPolicyError",
    "DistillError",
    "FormatVersionError",
    "GraphStoreError",
    "LLMConnectionError",
    "LLMError",
    "LLMResponseError",
    "LLMUnavailableError",
    "MissingColumnError",
    "MissingDependencyError",
    "PluginConstructionError",
    "PluginError",
    "PluginLoadError",
    "PluginNotFoundError",
    "RateLimitError",
    "RecordParseError",
    "RetrievalError",
    "RetryableLLMError",
    "SchemaViolationError",
    "StoreUnavailableError",
    "StoreWriteError",
    "TruncatedFileError",
]


class CtkError(Exception):
    """Root of every error ctk raises on purpose.

    Args:
        message: What went wrong, for a person.
        hint: What to do next, printed by the CLI under the message.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(CtkError, ValueError):
    """A configuration value, flag or option is invalid."""


class MissingDependencyError(CtkError, ImportError):
    """An optional dependency (an extra) is not installed."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"this feature needs the Python package {package!r}, which is not installed",
            hint=f'pip install "clinragen-toolkit[{extra}]"',
        )


class DataError(CtkError):
    """Input data is malformed or inconsistent."""


class RecordParseError(DataError):
    """One record (a CSV row, an XML element, a JSON line) cannot be read.

    Args:
        message: What is wrong with the record.
        source: The file (or stream name) the record came from.
        position: Row number, line number or byte offset, where known.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        position: int | str | None = None,
        hint: str | None = None,
    ) -> None:
        where = ""
        if source is not None:
            where = f"{source}"
            if position is not None:
                where += f" (at {position})"
            where += ": "
        super().__init__(f"{where}{message}", hint=hint)
        self.source = source
        self.position = position


class TruncatedFileError(RecordParseError):
    """A compressed file ends early or is corrupt: the rest of it cannot be read.

    Args:
        source: The file.
        after_line: The last line read whole before the damage.
        cause: What the decompressor said.
        hint: How to get a whole file (fetch it again, write it again).
    """

    def __init__(self, source: str, after_line: int, cause: Exception, *, hint: str) -> None:
        super().__init__(
            f"compressed file ends early or is corrupt ({cause})",
            source=source,
            position=f"after line {after_line}",
            hint=hint,
        )


class MissingColumnError(DataError):
    """A table is missing one or more required columns."""


class FormatVersionError(DataError):
    """A file declares a format version this ctk cannot read."""


class GraphStoreError(CtkError):
    """A knowledge-graph store failed."""


class StoreUnavailableError(GraphStoreError):
    """The store cannot be opened or reached."""


class StoreWriteError(GraphStoreError):
    """A write to the store failed (after retries where they apply)."""


class SchemaViolationError(GraphStoreError):
    """A node label or relationship type is not in the graph schema."""


class PluginError(CtkError):
    """A plugin cannot be found or loaded."""


class PluginNotFoundError(PluginError):
    """No plugin of that name is registered in the group."""


class PluginLoadError(PluginError):
    """A plugin's entry point failed to import or is not of the expected kind."""


class PluginConstructionError(PluginError):
    """A plugin's constructor raised something other than a :class:`CtkError`."""


class RetrievalError(CtkError):
    """A retriever failed."""


class ExtractionError(CtkError):
    """A concept extractor failed or returned something that is not a mention."""


class LLMError(CtkError):
    """An LLM backend failed."""


class LLMResponseError(LLMError):
    """The model answered, but the answer cannot be parsed or validated."""


class DataPolicyError(LLMError):
    """Cohort text would be sent off this machine without explicit consent."""


class RetryableLLMError(LLMError):
    """A transient failure (HTTP 429/5xx, timeout, dropped connection)."""


class RateLimitError(RetryableLLMError):
    """The server answered HTTP 429."""


class LLMConnectionError(RetryableLLMError):
    """No connection could be made to the server (refused, unreachable, connect timeout)."""


class LLMUnavailableError(LLMError):
    """The backend's servers refused connections again and again: the run stops.

    Not retryable and never recorded against an admission: a dead server says
    nothing about the admission, and a resumed run generates it.
    """


class DistillError(CtkError):
    """Student training, evaluation or inference failed."""


class CheckpointError(DistillError):
    """A checkpoint is missing, incomplete or incompatible."""
