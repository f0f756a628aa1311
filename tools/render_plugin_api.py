"""Render docs/plugin-api.md, the plugin author's reference, from ctk's docstrings.

The page is generated so that it cannot drift from the code: tests/docs check that
the committed page equals what this script renders.

Usage:
    python tools/render_plugin_api.py          # rewrite docs/plugin-api.md
    python tools/render_plugin_api.py --check  # exit 1 when the page is stale
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ctk.plugin import describe_options

PAGE = Path(__file__).resolve().parent.parent / "docs" / "plugin-api.md"

#: (section title, introduction, dotted names), in page order.
SECTIONS: list[tuple[str, str, list[str]]] = [
    (
        "Base classes of the three plugin kinds",
        "Subclass one, set `name` (and `Options`), implement the one abstract method. "
        "Callers use the public method (`retrieve`, `generate`/`agenerate`, `extract`), "
        "which checks what the plugin returns.",
        [
            "ctk.plugin.Plugin",
            "ctk.plugin.PluginOptions",
            "ctk.retrieval.Retriever",
            "ctk.llm.LLMBackend",
            "ctk.extraction.ConceptExtractor",
        ],
    ),
    (
        "What a retriever is asked and returns",
        "ctk builds the query from the admission: the note section, the lab anomaly "
        "captions and, at training time, the true diagnoses. It does **not** fill "
        "`concept_ids` or `concept_names`; use `ConceptSeeder` (below) to find concepts.",
        [
            "ctk.retrieval.RetrievalQuery",
            "ctk.retrieval.EvidenceRecord",
            "ctk.retrieval.chunk_id",
            "ctk.retrieval.fact_id_of",
        ],
    ),
    (
        "The knowledge graph a retriever reads",
        "`self.require_store()` returns a `GraphReader`: the embedded store and Neo4j "
        "both implement it.",
        ["ctk.graph.GraphReader", "ctk.graph.Neighbour", "ctk.graph.ConceptFinder"],
    ),
    (
        "Records",
        "Import them from `ctk.records`. A relation's fact id is "
        "`source_id|type|target_id` (`Relation.make_id`); a chunk id adds `#e<index>`.",
        [
            "ctk.records.Concept",
            "ctk.records.Relation",
            "ctk.records.Evidence",
            "ctk.records.PluginStamp",
        ],
    ),
    (
        "Building block: which concepts an admission is about",
        "The `graph` retriever's note-to-concept matching, as a supported API.",
        ["ctk.plugins.retrievers.seeds.ConceptSeeder"],
    ),
    (
        "What an LLM backend is asked and returns",
        "",
        [
            "ctk.llm.LLMRequest",
            "ctk.llm.LLMResponse",
            "ctk.llm.ChatMessage",
            "ctk.teacher.backend.RetryPolicy",
            "ctk.teacher.backend.call_with_retries",
            "ctk.teacher.backend.retryable_for_status",
        ],
    ),
    ("What an extractor returns", "", ["ctk.extraction.Mention"]),
    (
        "Registries",
        "One registry per kind: `RETRIEVERS`, `LLM_BACKENDS`, `EXTRACTORS` in `ctk.registry`.",
        ["ctk.registry.Registry", "ctk.registry.PluginInfo", "ctk.registry.PluginDescription"],
    ),
    (
        "Options and provenance helpers",
        "",
        ["ctk.plugin.describe_options", "ctk.plugin.plugin_stamp", "ctk.plugin.OptionDoc"],
    ),
    (
        "Errors",
        "Raise a `CtkError` subclass with a hint for a failure the user can fix; any "
        "other exception from `_retrieve`, `_generate` or `_extract` is wrapped by the base "
        "class, and one from a constructor becomes `PluginConstructionError` naming the "
        "plugin.",
        [
            "ctk.errors",
            "ctk.errors.CtkError",
            "ctk.errors.ConfigError",
            "ctk.errors.RetrievalError",
            "ctk.errors.LLMError",
            "ctk.errors.RetryableLLMError",
            "ctk.errors.RateLimitError",
            "ctk.errors.PluginConstructionError",
        ],
    ),
]


def _resolve(dotted: str) -> Any:
    try:
        return importlib.import_module(dotted)
    except ImportError:
        module, _, attr = dotted.rpartition(".")
        return getattr(importlib.import_module(module), attr)


def _doc(obj: Any) -> str:
    return inspect.cleandoc(obj.__doc__ or "").strip()


def _signature(obj: Any) -> str:
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"


def _own_members(cls: type) -> list[tuple[str, Any]]:
    skip: set[str] = set()
    for base in (BaseModel, object):
        skip |= set(dir(base))
    members = []
    for name, value in cls.__dict__.items():
        if (
            name.startswith("__")
            or name in skip
            or (
                name.startswith("_")
                and name
                not in (
                    "_retrieve",
                    "_generate",
                    "_agenerate",
                    "_extract",
                )
            )
        ):
            continue
        if isinstance(value, (classmethod, staticmethod)):
            members.append((name, value.__func__))
        elif isinstance(value, property) or inspect.isfunction(value):
            members.append((name, value))
    return members


def _render_class(dotted: str, cls: type) -> list[str]:
    kind = "model" if issubclass(cls, BaseModel) else "class"
    lines = [f"### `{dotted}` ({kind})", ""]
    if not issubclass(cls, BaseModel) and "__init__" in cls.__dict__:
        lines += ["```python", f"{cls.__name__}{_signature(cls)}", "```", ""]
    doc = _doc(cls)
    if doc:
        lines += _fenced(doc)
    if issubclass(cls, BaseModel) and cls.model_fields:
        lines += ["| field | type | default |", "|---|---|---|"]
        for o in describe_options(cls):
            default = "required" if o.required else f"`{o.default}`"
            lines.append(f"| `{o.name}` | `{o.type}` | {default} |")
        lines.append("")
    for name, member in _own_members(cls):
        if isinstance(member, property):
            lines += [f"- **`{name}`** (property): {_first_paragraph(_doc(member))}"]
            continue
        lines += [f"#### `{name}{_signature(member)}`", "", *_fenced(_doc(member) or "-")]
    if lines[-1] != "":
        lines.append("")
    return lines


def _first_paragraph(text: str) -> str:
    return " ".join(text.split("\n\n", 1)[0].split())


def _fenced(text: str) -> list[str]:
    return ["```text", text, "```", ""]


def render() -> str:
    """The page as Markdown."""
    out = [
        "# Plugin API reference",
        "",
        "<!-- Generated by `python tools/render_plugin_api.py` from the docstrings; do not "
        "edit by hand (a test fails when this page is stale). -->",
        "",
        "Everything a retriever, LLM backend or extractor plugin sees and returns. The "
        "guide with a worked example is [plugins.md](plugins.md).",
        "",
    ]
    for title, intro, names in SECTIONS:
        out += [f"## {title}", ""]
        if intro:
            out += [intro, ""]
        for dotted in names:
            obj = _resolve(dotted)
            if inspect.ismodule(obj):
                out += [f"### `{dotted}`", "", *_fenced(_doc(obj))]
            elif isinstance(obj, type):
                out += _render_class(dotted, obj)
            else:
                out += [f"### `{dotted}{_signature(obj)}`", "", *_fenced(_doc(obj))]
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the page, or with ``--check`` say whether it is stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 when the page is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != text:
            print(f"{PAGE} is stale: run python tools/render_plugin_api.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
