"""One way to build a teacher: plugins by name, options validated, data policy first.

The CLI's ``ctk rationale generate`` and a Python user call the same function::

    from ctk.cohort import select_admissions
    from ctk.kg.stores import StoreOptions, open_store
    from ctk.teacher import GenerationConfig, TeacherConfig, build_teacher

    config = TeacherConfig(retriever="graph", llm="template",
                           generation=GenerationConfig(k=8))
    admissions, total = select_admissions("cohort", split="train")
    with open_store("kg.db", StoreOptions(read_only=True)) as store, \\
            build_teacher(config, store=store) as teacher:
        summary = teacher.generate(admissions, out="rationales.jsonl", total=total)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from ctk.closeable import Closeable
from ctk.errors import ConfigError
from ctk.llm import LLMBackend
from ctk.records import Admission
from ctk.registry import LLM_BACKENDS, RETRIEVERS
from ctk.retrieval import Retriever
from ctk.teacher.backend import check_data_policy
from ctk.teacher.generation import (
    GenerationConfig,
    GenerationProgress,
    GenerationSummary,
    generate_rationales,
)

if TYPE_CHECKING:
    from ctk.graph import GraphReader

__all__ = ["BackendSettings", "Teacher", "TeacherConfig", "build_teacher"]


class BackendSettings(BaseModel):
    """Settings several LLM backends share; each is given to a backend that has it.

    A backend whose ``Options`` lacks a field (the ``template`` backend has no
    ``base_url``) does not get it; an explicit ``llm_options`` key wins over these.
    """

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    base_url: str | None = None
    #: Several servers of one model (``[{"base_url": ..., "max_concurrency": ...}]``),
    #: for backends that spread requests over them (``openai``).
    endpoints: list[dict[str, Any]] | None = None
    api_key: str | None = Field(default=None, repr=False)
    structured_output: str | None = None
    timeout_s: float | None = None


class TeacherConfig(BaseModel):
    """Which plugins the teacher uses and how the run behaves.

    Attributes:
        retriever: Retriever plugin name (``ctk plugins list``).
        retriever_options: The retriever's options (validated by its ``Options``).
        index_dir: Folder for retrieval indexes.
        llm: LLM backend plugin name.
        llm_options: The backend's options (validated by its ``Options``).
        backend: Shared backend settings, applied where the backend has them.
        generation: How the generation run behaves.
    """

    model_config = ConfigDict(extra="forbid")

    retriever: str = "graph"
    retriever_options: dict[str, Any] = Field(default_factory=dict)
    index_dir: Path | None = None
    llm: str = "template"
    llm_options: dict[str, Any] = Field(default_factory=dict)
    backend: BackendSettings = Field(default_factory=BackendSettings)
    generation: GenerationConfig = Field(default_factory=GenerationConfig)


class Teacher(Closeable):
    """A retriever and an LLM backend, ready to generate rationales; closes both.

    Build one with :func:`build_teacher`.
    """

    def __init__(
        self,
        retriever: Retriever,
        backend: LLMBackend,
        config: TeacherConfig,
        store: GraphReader | None = None,
    ) -> None:
        self.retriever = retriever
        self.backend = backend
        self.config = config
        self.store = store

    def generate(
        self,
        admissions: Iterable[Admission],
        *,
        out: str | Path,
        total: int | None = None,
        on_progress: Callable[[GenerationProgress], None] | None = None,
    ) -> GenerationSummary:
        """Generate rationales for ``admissions`` into ``out`` (resumable, cached).

        In async code, await :func:`~ctk.teacher.generation.agenerate_rationales`
        with this teacher's ``retriever``, ``backend`` and ``config.generation``.
        """
        return generate_rationales(
            admissions,
            retriever=self.retriever,
            backend=self.backend,
            out=out,
            config=self.config.generation,
            total=total,
            on_progress=on_progress,
            store=self.store,
        )

    def close(self) -> None:
        """Close the retriever and the backend."""
        try:
            self.retriever.close()
        finally:
            self.backend.close()


def build_backend(name: str, options: dict[str, Any], shared: BackendSettings) -> LLMBackend:
    """An LLM backend by plugin name, shared settings given where its ``Options`` has them.

    Raises:
        PluginNotFoundError: No backend of that name.
        ConfigError: An option is unknown or has a bad value.
        PluginConstructionError: Its constructor failed (the message names it).
    """
    cls = LLM_BACKENDS.get(name)
    merged = dict(options)
    fields = cls.Options.model_fields
    if shared.endpoints and "endpoints" not in fields:
        raise ConfigError(
            f"backend {name!r} talks to one server; several servers need a backend with endpoints",
            hint="use --llm openai with several --base-url (or --endpoints FILE)",
        )
    for key, value in shared.model_dump(exclude_none=True).items():
        if key in fields:
            merged.setdefault(key, value)
    return LLM_BACKENDS.create(name, merged)


def build_teacher(config: TeacherConfig, *, store: GraphReader | None = None) -> Teacher:
    """Resolve the plugins of ``config`` and build them.

    The data policy is checked here, before any cohort is read: a backend that
    would send text to another machine is refused unless
    ``config.generation.allow_remote``.

    Args:
        config: The plugins and settings.
        store: The knowledge graph the retriever reads (None for retrievers that need none).

    Raises:
        PluginNotFoundError: A plugin name is unknown.
        ConfigError: A plugin option is unknown or has a bad value.
        PluginConstructionError: A plugin's constructor failed (the message names it).
        DataPolicyError: The backend is remote and remote use is not allowed.
        ConfigError: The retriever needs a knowledge graph and ``store`` is None.
    """
    backend = build_backend(config.llm, config.llm_options, config.backend)
    try:
        check_data_policy(backend, allow_remote=config.generation.allow_remote)
        retriever = RETRIEVERS.create(
            config.retriever,
            store=store,
            index_dir=config.index_dir,
            options=config.retriever_options,
        )
        if retriever.needs_store:
            retriever.require_store()  # a missing graph is found before any cohort is read
    except BaseException:
        backend.close()
        raise
    return Teacher(retriever, backend, config, store=store)
