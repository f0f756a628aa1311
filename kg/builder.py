"""One way to build a knowledge graph: a typed config, the policies, one call.

``ctk kg build`` and a Python user call the same function, as ``ctk rationale
generate`` and :func:`ctk.teacher.build_teacher` do::

    from ctk.kg.builder import KGBuildConfig, build_kg

    config = KGBuildConfig(
        sources=["pubmed:samples/corpora/pubmed_efetch_sample.xml"], store="kg.db"
    )
    summary = build_kg(config)

The policies live here, not in the CLI: an extractor that asks an LLM backend
(``uses_llm``) runs in one process on the local engine, caches its answers in a
folder (``STORE.llm-cache`` beside an embedded store by default; a Neo4j store
needs an explicit folder), and sends ``text:`` sources (possibly clinical notes)
to a backend on another machine only with ``allow_remote``. Every check runs
before the store is opened, so a refused build leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ctk.errors import ConfigError
from ctk.extraction import ConceptExtractor
from ctk.kg.build import BuildProgress, BuildSummary, build_graph
from ctk.kg.engines import ENGINES
from ctk.kg.sources.spec import open_source
from ctk.kg.stores import FILE_SCHEME, StoreOptions, open_store, store_scheme
from ctk.kg.stores.base import GraphStore
from ctk.llm import LLMBackend
from ctk.registry import EXTRACTORS
from ctk.teacher.backend import check_data_policy
from ctk.teacher.factory import BackendSettings, build_backend

__all__ = ["KGBuildConfig", "build_kg", "open_extractor"]

logger = logging.getLogger(__name__)

#: Part of the LLM answers' cache key (the answer length the built-in extractor asks for).
LLM_EXTRACTOR_MAX_TOKENS = 256


class KGBuildConfig(BaseModel):
    """Everything ``ctk kg build`` needs, as one typed value.

    Attributes:
        sources: Corpora as ``FORMAT:PATH`` (``pubmed``, ``wikipedia``, ``text``).
        store: The store's path or Neo4j URI: :func:`build_kg` opens it when it is
            given no open store, and an LLM extractor's cache defaults to
            ``STORE.llm-cache`` beside an embedded store.
        extractor: Concept extractor plugin (``ctk.extractors``).
        extractor_options: The extractor's options (validated by its ``Options``).
        llm: With an extractor that uses an LLM: the backend plugin (``openai``...).
        llm_options: The backend's own options.
        backend: Shared backend settings (model, base URL, API key).
        llm_cache: Folder caching the LLM's answers (None: beside an embedded store).
        allow_remote: Allow sending ``text:`` sources to a backend on another machine.
        workers: Worker processes or Ray actors (None: every core / cluster CPU).
        engine: ``local`` or ``ray``.
        ray_address: The Ray cluster for ``engine="ray"``.
        chunk_docs: Records per chunk, the unit of resume.
        max_evidence: Evidence sentences kept per edge.
        min_count: Drop edges seen in fewer documents after the build.
        wiki_categories: Keep Wikipedia pages with one of these categories.
        wiki_title_pattern: Keep Wikipedia pages whose title matches this regex.
    """

    model_config = ConfigDict(extra="forbid")

    sources: list[str] = Field(min_length=1)
    store: str | None = None
    extractor: str = "dictionary"
    extractor_options: dict[str, Any] = Field(default_factory=dict)
    llm: str | None = None
    llm_options: dict[str, Any] = Field(default_factory=dict)
    backend: BackendSettings = Field(default_factory=BackendSettings)
    llm_cache: Path | None = None
    allow_remote: bool = False
    workers: int | None = Field(default=None, ge=1)
    engine: str = "local"
    ray_address: str | None = None
    chunk_docs: int = Field(default=2000, ge=1)
    max_evidence: int = Field(default=5, ge=1)
    min_count: int = Field(default=1, ge=1)
    wiki_categories: list[str] | None = None
    wiki_title_pattern: str | None = None


def _llm_cache(config: KGBuildConfig) -> Path:
    """Where an LLM extractor's answers are cached."""
    if config.llm_cache is not None:
        return config.llm_cache
    if config.store is None or store_scheme(config.store) != FILE_SCHEME:
        raise ConfigError(
            "--extractor llm with a Neo4j (or any non-file) store needs --llm-cache FOLDER",
            hint="the answers cache lives in a folder on this machine",
        )
    return Path(config.store + ".llm-cache")


def _plain_extractor(config: KGBuildConfig) -> ConceptExtractor:
    """An extractor that needs no backend, built with its options."""
    if config.llm is not None:
        raise ConfigError("--llm needs --extractor llm", hint="add --extractor llm")
    needs = EXTRACTORS.describe(config.extractor).required_arguments
    if needs:
        raise ConfigError(
            f"the {config.extractor!r} extractor cannot be created from the command line: it "
            f"needs the argument(s) {', '.join(needs)}",
            hint="use the Python API (ctk.kg.build.build_graph(..., extractor=...)) for "
            "extractors that need arguments",
        )
    if config.extractor_options:
        return EXTRACTORS.create(config.extractor, config.extractor_options)
    return EXTRACTORS.create(config.extractor)


@contextlib.contextmanager
def open_extractor(
    config: KGBuildConfig,
) -> Iterator[tuple[ConceptExtractor, LLMBackend | None]]:
    """The build's extractor (and its LLM backend, closed on exit), the policies checked.

    Raises:
        ConfigError: A bad combination (an LLM extractor without a backend or on
            Ray, ``llm`` without an LLM extractor, a Neo4j store without a cache folder).
        DataPolicyError: ``text:`` sources would go to a remote backend without
            ``allow_remote``.
        PluginNotFoundError: An unknown extractor or backend.
    """
    cls = EXTRACTORS.get(config.extractor)
    if not cls.uses_llm:
        yield _plain_extractor(config), None
        return
    if config.engine != "local":
        raise ConfigError(
            f"--extractor {config.extractor} runs in one process, not on Ray",
            hint="leave out --engine ray (the LLM server does the heavy work)",
        )
    if config.llm is None:
        raise ConfigError(
            f"--extractor {config.extractor} needs a backend",
            hint="e.g. --llm openai --base-url http://127.0.0.1:8000/v1 --model NAME",
        )
    cache = _llm_cache(config)
    backend = build_backend(config.llm, config.llm_options, config.backend)
    try:
        if any(s.split(":", 1)[0] == "text" for s in config.sources):
            check_data_policy(backend, allow_remote=config.allow_remote)
        # the answers' cache key: which model, where, with which options
        key = json.dumps(
            [
                config.llm,
                config.backend.model,
                config.backend.base_url,
                sorted(config.llm_options.items()),
                LLM_EXTRACTOR_MAX_TOKENS,
            ],
            default=str,
        )
        extractor = cls.with_backend(
            backend,
            config.extractor_options or None,
            cache_dir=cache,
            cache_key=key,
        )
        yield extractor, backend
    finally:
        backend.close()


def build_kg(
    config: KGBuildConfig,
    store: GraphStore | None = None,
    *,
    store_options: StoreOptions | None = None,
    progress: Callable[[BuildProgress], None] | None = None,
) -> BuildSummary:
    """Build (or resume) a knowledge graph as ``config`` says.

    The extractor and its backend are built and the policies checked first;
    then the store is opened (unless one is given) and :func:`build_graph` runs.

    Args:
        config: What to build, from what, how.
        store: An open store to write to (None: open ``config.store``).
        store_options: How to open ``config.store`` (login...); its
            ``max_evidence_per_edge`` is set from ``config.max_evidence``.
        progress: Called after each chunk (see :func:`build_graph`).

    Returns:
        The build summary.

    Raises:
        ConfigError: A bad option or combination; no store given at all.
        DataPolicyError: Text would go to a remote backend without ``allow_remote``.
        StoreUnavailableError: The store cannot be opened.
        BuildWorkerError: A worker failed (applied chunks stay committed).
    """
    if config.engine not in ENGINES:
        raise ConfigError(
            f"unknown build engine {config.engine!r}", hint="use one of: " + ", ".join(ENGINES)
        )
    location = config.store
    if store is None and location is None:
        raise ConfigError("no store to build into", hint="set KGBuildConfig.store (kg.db)")
    sources = [
        open_source(
            s, wiki_categories=config.wiki_categories, wiki_title_pattern=config.wiki_title_pattern
        )
        for s in config.sources
    ]
    with open_extractor(config) as (extractor, backend), contextlib.ExitStack() as stack:
        workers = config.workers
        if backend is not None:
            if workers not in (None, 1):
                logger.warning("an LLM extractor runs in one process (workers=1)")
            workers = 1
        if store is None and location is not None:
            options = (store_options or StoreOptions()).model_copy(
                update={"max_evidence_per_edge": config.max_evidence}
            )
            store = stack.enter_context(open_store(location, options))
        assert store is not None  # checked above
        return build_graph(
            sources,
            store,
            extractor=extractor,
            workers=workers,
            chunk_docs=config.chunk_docs,
            min_count=config.min_count,
            max_evidence=config.max_evidence,
            progress=progress,
            engine=config.engine,
            ray_address=config.ray_address,
        )
