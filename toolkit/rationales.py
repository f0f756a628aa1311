"""Teacher rationale generation: retrieve, prompt, call a backend, validate, record.

For each admission of a cohort :func:`generate_rationales`:

1. builds a :class:`~ctk.retrieval.RetrievalQuery` (note section, lab anomaly
   captions, true diagnoses at training time) and asks a retriever for evidence;
2. renders the versioned teacher prompt (:mod:`ctk.prompts`); evidence is shown
   as ``[E1] ...`` so a model cites short numbers, mapped back to fact ids;
3. computes the *input hash* (prompt, schema, backend, model, sampling settings)
   and answers from the cache when it has that hash;
4. otherwise calls the backend; the answer must be one JSON object valid for
   :class:`TeacherAnswer` that cites only evidence it was given; an invalid answer
   gets one repair turn, then the admission is recorded as ``failed`` with the
   reason (the run goes on);
5. appends a :class:`~ctk.records.Rationale` line to the output JSONL in one
   write, flushed at once (a killed process loses at most the record being
   written) and fsynced by a background thread (group commit) and at the end.

A re-run skips the admissions already in the output (resume) and drops an
incomplete last line left by a kill. Admissions run concurrently (asyncio, at
most ``concurrency`` backend calls at once); records are written as they finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ctk.errors import ConfigError, DataError, LLMError, LLMResponseError, RetrievalError
from ctk.llm import ChatMessage, LLMBackend, LLMRequest, LLMResponse, check_data_policy
from ctk.prompts import PromptTemplate, load_prompt
from ctk.records import Admission, CitedFact, Rationale
from ctk.retrieval import EvidenceRecord, RetrievalQuery, Retriever

__all__ = [
    "DEFAULT_SECTION",
    "GenerationProgress",
    "GenerationSummary",
    "RationaleCache",
    "RationaleWriter",
    "TeacherAnswer",
    "TeacherInput",
    "agenerate_rationales",
    "build_request",
    "build_teacher_input",
    "constrained_schema",
    "generate_rationales",
    "input_hash",
    "parse_answer",
    "read_rationales",
]

logger = logging.getLogger(__name__)

#: The note section the teacher reads (the whole note when absent).
DEFAULT_SECTION = "brief hospital course"
_ALIAS = re.compile(r"^\s*\[?\s*[Ee](\d+)\s*\]?\s*$")
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


# --------------------------------------------------------------------------- answer model


class CitedClaim(BaseModel):
    """One knowledge item a rationale relies on."""

    model_config = ConfigDict(extra="ignore")

    fact_id: str = Field(description="The number of the knowledge item, e.g. E3.")
    claim: str = Field(default="", description="What the rationale takes from it.")


class TeacherAnswer(BaseModel):
    """The JSON object a teacher must answer with."""

    model_config = ConfigDict(extra="ignore", title="TeacherRationale")

    note_rationale: str = Field(
        min_length=1, description="Rm: why the diagnoses fit, from the clinical note."
    )
    lab_rationale: str = Field(
        default="", description="Rt: why the diagnoses fit, from the lab anomalies."
    )
    cited_facts: list[CitedClaim] = Field(
        default_factory=list, description="Knowledge items used, by number."
    )


@functools.cache
def _schema_json() -> str:
    return json.dumps(TeacherAnswer.model_json_schema(), sort_keys=True)


def answer_schema() -> dict[str, Any]:
    """The JSON schema of :class:`TeacherAnswer` shown to the model (a fresh copy)."""
    schema: dict[str, Any] = json.loads(_schema_json())
    return schema


#: Bounds of the schema sent to the server (see :func:`constrained_schema`).
RATIONALE_MIN_CHARS = 20
RATIONALE_MAX_CHARS = 300
CLAIM_MAX_CHARS = 160
MAX_CITED_FACTS = 4


def constrained_schema(aliases: Iterable[str]) -> dict[str, Any]:
    """The schema sent as structured output: :class:`TeacherAnswer` with bounds.

    Grammar-constrained servers (llama.cpp's json-schema-to-grammar, vLLM's guided
    decoding) enforce it while sampling, so even a small model cannot answer an empty
    or punctuation-only rationale, cite a number it was not given (``fact_id`` is an
    ``enum`` of the evidence numbers), or run away past ``max_tokens``: rationales
    hold ``RATIONALE_MIN_CHARS``..``RATIONALE_MAX_CHARS`` characters, claims at most
    ``CLAIM_MAX_CHARS``, and there are at most ``MAX_CITED_FACTS`` citations.
    ctk still validates every answer (servers that ignore the schema exist).

    Args:
        aliases: The evidence numbers of this prompt (``E1``, ``E2``, ...).

    Returns:
        A self-contained JSON schema (no ``$ref``), every property required.
    """
    ids = list(aliases)
    text = {
        "type": "string",
        "minLength": RATIONALE_MIN_CHARS,
        "maxLength": RATIONALE_MAX_CHARS,
    }
    fact: dict[str, Any] = (
        {"type": "string", "enum": ids} if ids else {"type": "string", "maxLength": 0}
    )
    cited: dict[str, Any] = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "fact_id": fact,
                "claim": {"type": "string", "minLength": 5, "maxLength": CLAIM_MAX_CHARS},
            },
            "required": ["fact_id", "claim"],
            "additionalProperties": False,
        },
        "minItems": 1 if ids else 0,
        "maxItems": min(MAX_CITED_FACTS, len(ids)),
    }
    return {
        "title": "TeacherRationale",
        "type": "object",
        "properties": {
            "note_rationale": {
                **text,
                "description": TeacherAnswer.model_fields["note_rationale"].description,
            },
            "lab_rationale": {
                **text,
                "description": TeacherAnswer.model_fields["lab_rationale"].description,
            },
            "cited_facts": cited,
        },
        "required": ["note_rationale", "lab_rationale", "cited_facts"],
        "additionalProperties": False,
    }


def _extract_json(text: str) -> Any:
    body = _FENCE.sub("", text.strip()).strip()
    try:
        return json.loads(body, strict=False)  # raw newlines inside strings are common
    except json.JSONDecodeError:
        pass
    start = body.find("{")
    end = body.rfind("}")
    if start < 0 or end <= start:
        raise LLMResponseError("the answer holds no JSON object")
    try:
        return json.loads(body[start : end + 1], strict=False)
    except json.JSONDecodeError as e:
        raise LLMResponseError(f"the answer is not valid JSON ({e.msg} at char {e.pos})") from e


def parse_answer(text: str, aliases: dict[str, str]) -> tuple[TeacherAnswer, list[CitedFact]]:
    """Parse and validate a teacher's answer and resolve its citations.

    Args:
        text: The model's answer.
        aliases: Short evidence numbers (``E1``) -> evidence ids, in prompt order.

    Returns:
        The validated answer and its citations as fact/chunk ids.

    Raises:
        LLMResponseError: Not JSON, not valid for the schema, or citing evidence
            that was not given (the message says which).
    """
    raw = _extract_json(text)
    if not isinstance(raw, dict):
        raise LLMResponseError(f"the answer is JSON {type(raw).__name__}, not an object")
    try:
        answer = TeacherAnswer.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "answer"
        raise LLMResponseError(
            f"the answer does not follow the schema: {where}: {first['msg']}"
        ) from e
    by_id = set(aliases.values())
    cited: list[CitedFact] = []
    unknown: list[str] = []
    for c in answer.cited_facts:
        m = _ALIAS.match(c.fact_id)
        real = aliases.get(f"E{m.group(1)}") if m else (c.fact_id if c.fact_id in by_id else None)
        if real is None:
            unknown.append(c.fact_id)
        elif all(f.fact_id != real for f in cited):
            cited.append(CitedFact(fact_id=real, claim=c.claim))
    if unknown:
        raise LLMResponseError(
            f"the answer cites {', '.join(repr(u) for u in unknown[:5])}, not among the "
            f"evidence given (E1..E{len(aliases)})"
        )
    return answer, cited


# --------------------------------------------------------------------------- inputs


class TeacherInput(BaseModel):
    """Everything the teacher is given for one admission.

    Attributes:
        admission_id: The admission.
        section: The note section used.
        note_text: Its text ("" when the admission has no note).
        captions: Lab anomaly captions.
        diagnoses: True diagnoses (training time) or empty.
        evidence: Retrieved evidence, best first.
    """

    model_config = ConfigDict(extra="forbid")

    admission_id: str
    section: str = DEFAULT_SECTION
    note_text: str = ""
    captions: list[str] = Field(default_factory=list)
    diagnoses: list[str] = Field(default_factory=list)
    evidence: list[EvidenceRecord] = Field(default_factory=list)

    def aliases(self) -> dict[str, str]:
        """``E1`` -> evidence id, in prompt order."""
        return {f"E{i}": ev.id for i, ev in enumerate(self.evidence, start=1)}


def _captions_of(admission: Admission) -> list[str]:
    if admission.labs is None:
        return []
    try:
        from ctk.anomalies import anomaly_captions
    except ImportError:  # pragma: no cover - the anomalies module ships with ctk
        logger.warning("ctk.anomalies is unavailable: prompts get no lab anomaly captions")
        return []
    return [str(c) for c in anomaly_captions(admission.labs)]


def build_teacher_input(
    admission: Admission,
    retriever: Retriever,
    *,
    k: int = 8,
    section: str = DEFAULT_SECTION,
    use_true_diagnoses: bool = True,
    captioner: Callable[[Admission], list[str]] | None = None,
) -> TeacherInput:
    """Collect the note section, anomaly captions and evidence for one admission.

    Args:
        admission: The admission.
        retriever: Where evidence comes from.
        k: Evidence records to retrieve.
        section: Note section to read.
        use_true_diagnoses: Give the true diagnoses (label-conditioned teacher).
        captioner: Turns labs into captions (default :func:`ctk.anomalies.anomaly_captions`).

    Returns:
        The teacher's input.

    Raises:
        RetrievalError: The retriever failed.
    """
    note = admission.note.main_text(section) if admission.note is not None else ""
    captions = (captioner or _captions_of)(admission)
    diagnoses = list(admission.phenotypes) if use_true_diagnoses else []
    query = RetrievalQuery(
        admission_id=admission.admission_id,
        note_text=note,
        anomaly_captions=captions,
        diagnoses=diagnoses,
    )
    evidence = retriever.retrieve(query, k) if (note or captions or diagnoses) else []
    return TeacherInput(
        admission_id=admission.admission_id,
        section=section,
        note_text=note,
        captions=captions,
        diagnoses=diagnoses,
        evidence=evidence,
    )


def _evidence_lines(evidence: list[EvidenceRecord]) -> str:
    if not evidence:
        return "(none retrieved)"
    lines = []
    for i, ev in enumerate(evidence, start=1):
        where = f" ({ev.source}{': ' + ev.document_id if ev.document_id else ''})"
        lines.append(f"[E{i}] {' '.join(ev.text.split())}{where}")
    return "\n".join(lines)


#: Characters of the note section a compact prompt shows (``$note_excerpt``).
NOTE_EXCERPT_CHARS = 700


def build_request(
    inp: TeacherInput,
    template: PromptTemplate,
    *,
    temperature: float = 0.0,
    max_tokens: int = 384,
) -> LLMRequest:
    """Render the teacher prompt for one admission.

    The request's ``metadata`` carries the same inputs in structured form for
    backends that do not read text (``template``); network backends never send it.
    """
    schema = constrained_schema(inp.aliases())
    note = inp.note_text.strip()
    excerpt = " ".join(note.split())
    if len(excerpt) > NOTE_EXCERPT_CHARS:
        excerpt = excerpt[:NOTE_EXCERPT_CHARS].rsplit(" ", 1)[0] + " ..."
    values = {
        "diagnoses": ", ".join(inp.diagnoses) if inp.diagnoses else "(not given)",
        "section": inp.section,
        "note": note or "(no note available)",
        "note_excerpt": excerpt or "(no note available)",
        "captions": "\n".join(f"- {c}" for c in inp.captions) or "- none (all values in range)",
        "evidence": _evidence_lines(inp.evidence),
        "evidence_ids": ", ".join(inp.aliases()) or "(none)",
        "schema": _schema_json(),
    }
    metadata = {
        "task": "teacher_rationale",
        "admission_id": inp.admission_id,
        "diagnoses": inp.diagnoses,
        "captions": inp.captions,
        "has_note": bool(inp.note_text.strip()),
        "evidence": [
            {
                "alias": alias,
                **ev.model_dump(
                    include={"id", "text", "source", "document_id", "concept_ids", "fact_ids"}
                ),
            }
            for alias, ev in zip(inp.aliases(), inp.evidence, strict=True)
        ],
    }
    return LLMRequest(
        messages=template.render(**values),
        json_schema=schema,
        temperature=temperature,
        max_tokens=max_tokens,
        metadata=metadata,
    )


def input_hash(request: LLMRequest, *, backend: str, model: str | None, prompt: str) -> str:
    """SHA-256 of the full input of one generation: the cache key.

    Covers the messages, schema, sampling settings, structured metadata, backend,
    model and prompt version, so any change gives a new key.
    """
    payload = {
        "request": request.model_dump(mode="json"),
        "backend": backend,
        "model": model,
        "prompt": prompt,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- storage


class RationaleCache:
    """Finished rationales keyed by input hash: one small JSON file each.

    Files are written to a temporary name and renamed, so a kill never leaves a
    half file. Only ``ok`` rationales are cached.

    Args:
        folder: The cache folder (created on first write).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> Rationale | None:
        """The cached rationale for ``key``, or None (an unreadable entry counts as a miss)."""
        path = self._path(key)
        try:
            return Rationale.model_validate_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (ValidationError, OSError, UnicodeDecodeError) as e:
            logger.warning("ignoring unreadable cache entry %s (%s)", path, type(e).__name__)
            return None

    def put(self, rationale: Rationale) -> None:
        """Store an ``ok`` rationale under its input hash."""
        if rationale.status != "ok" or not rationale.input_hash:
            return
        path = self._path(rationale.input_hash)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(rationale.model_dump_json(exclude_none=True), encoding="utf-8")
        tmp.replace(path)


def read_rationales(path: str | Path) -> Iterator[Rationale]:
    """Yield the rationales of a JSONL file (an incomplete last line is ignored).

    Raises:
        DataError: The file is missing.
        RecordParseError: A complete line is not a valid rationale (names file and line).
    """
    from ctk.errors import RecordParseError

    p = Path(path)
    if not p.exists():
        raise DataError(f"rationale file {p} does not exist", hint="check the path")
    with p.open("r", encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            if not line.endswith("\n"):
                logger.warning("%s: ignoring an incomplete last line (interrupted run)", p)
                return
            try:
                yield Rationale.model_validate_json(line)
            except ValidationError as e:
                raise RecordParseError(
                    f"invalid rationale: {e.errors()[0]['msg']}",
                    source=str(p),
                    position=f"line {line_no}",
                ) from e


class RationaleWriter:
    """Append-only JSONL of rationales, durable record by record.

    Opening an existing file reads the admission ids already written (resume),
    drops an incomplete last line left by a killed run, and, with
    ``retry_failed``, removes the ``failed`` records so they are generated again.

    Args:
        path: The output file.
        retry_failed: Forget failed records (rewrites the file atomically first).
    """

    def __init__(self, path: str | Path, *, retry_failed: bool = False) -> None:
        self.path = Path(path)
        self.done: set[str] = set()
        self.dropped_failed = 0
        self.repaired_tail = False
        self._prepare(retry_failed)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("ab")
        self._dirty = threading.Event()
        self._closing = False
        self._syncer = threading.Thread(target=self._sync_loop, name="rationale-fsync", daemon=True)
        self._syncer.start()

    def _sync_loop(self) -> None:
        # group commit: one fsync covers every line written since the last one
        while True:
            self._dirty.wait()
            self._dirty.clear()
            if self._fh.closed:
                return
            with contextlib.suppress(OSError, ValueError):
                os.fsync(self._fh.fileno())
            if self._closing:
                return

    def _prepare(self, retry_failed: bool) -> None:
        # streamed: a file of millions of records is never read into memory at once
        if not self.path.exists():
            return
        good_end = 0  # offset just after the last complete line
        failed_lines: list[int] = []
        with self.path.open("rb") as fh:
            for line_no, line in enumerate(fh, start=1):
                if not line.endswith(b"\n"):
                    break  # a torn last line: dropped below
                good_end += len(line)
                if not line.strip():
                    continue
                try:
                    raw = json.loads(line)
                    admission_id = str(raw["admission_id"])
                except (json.JSONDecodeError, KeyError, TypeError) as e:
                    raise DataError(
                        f"{self.path} line {line_no}: not a rationale record ({type(e).__name__})",
                        hint="pass a new --out file, or fix or remove that line",
                    ) from e
                if retry_failed and raw.get("status") == "failed":
                    failed_lines.append(line_no)
                    continue
                self.done.add(admission_id)
        if good_end < self.path.stat().st_size:
            logger.warning("%s: dropping an incomplete last line (interrupted run)", self.path)
            with self.path.open("r+b") as fh:
                fh.truncate(good_end)
                fh.flush()
                os.fsync(fh.fileno())
            self.repaired_tail = True
        if failed_lines:
            self.dropped_failed = len(failed_lines)
            drop = set(failed_lines)
            tmp = self.path.with_suffix(self.path.suffix + ".tmp")
            with self.path.open("rb") as src, tmp.open("wb") as dst:
                dst.writelines(line for n, line in enumerate(src, start=1) if n not in drop)
                dst.flush()
                os.fsync(dst.fileno())
            tmp.replace(self.path)

    def write(self, rationale: Rationale) -> None:
        """Append one record as one ``write`` and flush it to the OS.

        Once this returns the line survives a kill of the process; a background
        thread fsyncs soon after (group commit), and :meth:`close` fsyncs, for
        durability against power loss without an fsync per record on the event loop.
        """
        line = rationale.model_dump_json(exclude_none=True).encode("utf-8") + b"\n"
        self._fh.write(line)
        self._fh.flush()
        self.done.add(rationale.admission_id)
        self._dirty.set()

    def close(self) -> None:
        """Fsync and close the file."""
        if self._fh.closed:
            return
        self._closing = True
        self._dirty.set()
        self._syncer.join(timeout=30)
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()

    def __enter__(self) -> RationaleWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- the run


@dataclass
class GenerationProgress:
    """Counters passed to the progress callback after each admission."""

    total: int | None
    done: int = 0
    ok: int = 0
    failed: int = 0
    cached: int = 0
    skipped: int = 0


class GenerationSummary(BaseModel):
    """What a generation run did.

    Attributes:
        out: The output file.
        seen: Admissions read from the cohort.
        skipped_existing: Already in the output (resume).
        generated: New ``ok`` rationales from the backend.
        cached: ``ok`` rationales answered from the cache (no backend call).
        failed: Admissions recorded as ``failed``.
        repaired: Answers that needed (and passed) the repair turn.
        failure_reasons: Failures by reason.
        llm_calls: Backend calls made (repairs included).
        prompt_tokens: Tokens read by the backend.
        completion_tokens: Tokens written by the backend.
        elapsed_s: Wall time.
        backend: Backend name.
        model: Model name, where known.
        prompt: Prompt id and version.
        retriever: Retriever name.
    """

    model_config = ConfigDict(extra="forbid")

    out: str
    seen: int = 0
    skipped_existing: int = 0
    generated: int = 0
    cached: int = 0
    failed: int = 0
    repaired: int = 0
    failure_reasons: dict[str, int] = Field(default_factory=dict)
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    elapsed_s: float = 0.0
    backend: str = ""
    model: str | None = None
    prompt: str = ""
    retriever: str = ""

    @property
    def rate(self) -> float:
        """Admissions finished per second (generated + cached + failed)."""
        n = self.generated + self.cached + self.failed
        return n / self.elapsed_s if self.elapsed_s > 0 else 0.0


def _reason_key(error: str) -> str:
    return error.split(":", 1)[0][:80]


class _Run:
    def __init__(
        self,
        *,
        backend: LLMBackend,
        template: PromptTemplate,
        repair: PromptTemplate,
        writer: RationaleWriter,
        cache: RationaleCache | None,
        summary: GenerationSummary,
        progress: GenerationProgress,
        on_progress: Callable[[GenerationProgress], None] | None,
        temperature: float,
        max_tokens: int,
    ) -> None:
        self.backend = backend
        self.template = template
        self.repair = repair
        self.writer = writer
        self.cache = cache
        self.summary = summary
        self.progress = progress
        self.on_progress = on_progress
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.reasons: Counter[str] = Counter()

    def _record(self, rationale: Rationale, *, cached: bool = False) -> None:
        self.writer.write(rationale)
        self.progress.done += 1
        if rationale.status == "ok":
            self.progress.ok += 1
            if cached:
                self.progress.cached += 1
                self.summary.cached += 1
            else:
                self.summary.generated += 1
                if self.cache is not None:
                    self.cache.put(rationale)
        else:
            self.progress.failed += 1
            self.summary.failed += 1
            self.reasons[_reason_key(rationale.error or "unknown")] += 1
        if self.on_progress is not None:
            self.on_progress(self.progress)

    def _base(self, inp: TeacherInput, key: str) -> dict[str, Any]:
        return {
            "admission_id": inp.admission_id,
            "diagnoses": inp.diagnoses,
            "evidence_ids": [ev.id for ev in inp.evidence],
            "anomaly_captions": inp.captions,
            "backend": self.backend.name,
            "model": self.backend.model_name,
            "prompt_version": self.template.key,
            "input_hash": key,
        }

    def fail(self, admission_id: str, error: str, **extra: Any) -> None:
        base: dict[str, Any] = {
            "admission_id": admission_id,
            "backend": self.backend.name,
            "model": self.backend.model_name,
            "prompt_version": self.template.key,
        }
        base.update(extra)
        self._record(Rationale(status="failed", error=error, **base))

    async def one(self, inp: TeacherInput, request: LLMRequest, key: str) -> None:
        base = self._base(inp, key)
        aliases = inp.aliases()
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "calls": 0}

        async def call(req: LLMRequest) -> LLMResponse:
            usage["calls"] += 1
            self.summary.llm_calls += 1
            resp = await self.backend.agenerate(req)
            usage["prompt_tokens"] += resp.prompt_tokens
            usage["completion_tokens"] += resp.completion_tokens
            self.summary.prompt_tokens += resp.prompt_tokens
            self.summary.completion_tokens += resp.completion_tokens
            if resp.model:
                base["model"] = resp.model
            return resp

        try:
            first = await call(request)
            try:
                answer, cited = parse_answer(first.text, aliases)
            except LLMResponseError as bad:
                logger.info(
                    "admission %s: invalid answer (%s); one repair attempt", inp.admission_id, bad
                )
                fix = self.repair.render(
                    reason=str(bad), schema=json.dumps(request.json_schema, sort_keys=True)
                )
                repair_req = request.model_copy(
                    update={
                        "messages": [
                            *request.messages,
                            ChatMessage(role="assistant", content=first.text),
                            *fix,
                        ],
                    }
                )
                second = await call(repair_req)
                try:
                    answer, cited = parse_answer(second.text, aliases)
                except LLMResponseError as still:
                    raise LLMResponseError(
                        f"invalid output after one repair attempt: {still}"
                    ) from still
                self.summary.repaired += 1
        except LLMError as e:
            self._record(
                Rationale(status="failed", error=f"{type(e).__name__}: {e}", usage=usage, **base)
            )
            return
        self._record(
            Rationale(
                status="ok",
                note_rationale=answer.note_rationale.strip(),
                lab_rationale=answer.lab_rationale.strip(),
                cited_facts=cited,
                usage=usage,
                **base,
            )
        )


async def agenerate_rationales(
    admissions: Iterable[Admission],
    *,
    retriever: Retriever,
    backend: LLMBackend,
    out: str | Path,
    k: int = 8,
    concurrency: int = 4,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    prompt: str | Path = "teacher",
    section: str = DEFAULT_SECTION,
    use_true_diagnoses: bool = True,
    allow_remote: bool = False,
    retry_failed: bool = False,
    temperature: float = 0.0,
    max_tokens: int = 384,
    total: int | None = None,
    on_progress: Callable[[GenerationProgress], None] | None = None,
    captioner: Callable[[Admission], list[str]] | None = None,
) -> GenerationSummary:
    """Generate teacher rationales for admissions; see the module docstring.

    Args:
        admissions: The admissions (streamed).
        retriever: Evidence retriever.
        backend: LLM backend.
        out: Output JSONL (appended to; admissions already in it are skipped).
        k: Evidence records per admission.
        concurrency: Most backend calls in flight.
        cache_dir: Cache folder (default ``OUT.cache`` beside the output).
        use_cache: Read and write the cache.
        prompt: Teacher prompt template name or file.
        section: Note section the teacher reads.
        use_true_diagnoses: Give the true diagnoses (training-time teacher).
        allow_remote: Consent to sending cohort text to a non-loopback host.
        retry_failed: Generate again the admissions recorded as failed.
        temperature: Sampling temperature.
        max_tokens: Most tokens per answer.
        total: Number of admissions, for progress.
        on_progress: Called after each finished admission.
        captioner: Lab captions function (default :func:`ctk.anomalies.anomaly_captions`).

    Returns:
        The run summary.

    Raises:
        DataPolicyError: The backend is remote and ``allow_remote`` is false.
        ConfigError: Bad settings.
    """
    if concurrency < 1:
        raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
    check_data_policy(backend, allow_remote=allow_remote)
    template = load_prompt(prompt)
    repair = load_prompt("repair")
    out_path = Path(out)
    cache = (
        RationaleCache(cache_dir or out_path.with_name(out_path.name + ".cache"))
        if use_cache
        else None
    )
    summary = GenerationSummary(
        out=str(out_path),
        backend=backend.name,
        model=backend.model_name,
        prompt=template.key,
        retriever=retriever.name,
    )
    started = time.perf_counter()
    await backend.aprepare()
    summary.model = backend.model_name
    with RationaleWriter(out_path, retry_failed=retry_failed) as writer:
        progress = GenerationProgress(total=total)
        run = _Run(
            backend=backend,
            template=template,
            repair=repair,
            writer=writer,
            cache=cache,
            summary=summary,
            progress=progress,
            on_progress=on_progress,
            temperature=temperature,
            max_tokens=max_tokens,
        )
        if on_progress is not None:
            on_progress(progress)
        semaphore = asyncio.Semaphore(concurrency)
        tasks: set[asyncio.Task[None]] = set()
        errors: list[BaseException] = []

        async def guarded(inp: TeacherInput, request: LLMRequest, key: str) -> None:
            try:
                await run.one(inp, request, key)
            except BaseException as e:  # a bug or an I/O error: stop the run after in-flight work
                errors.append(e)
                raise
            finally:
                semaphore.release()

        try:
            for admission in admissions:
                if errors:
                    break
                summary.seen += 1
                if admission.admission_id in writer.done:
                    summary.skipped_existing += 1
                    progress.skipped += 1
                    if on_progress is not None:
                        on_progress(progress)
                    continue
                writer.done.add(admission.admission_id)  # a duplicate id later is skipped too
                if admission.note is None and admission.labs is None:
                    run.fail(admission.admission_id, "DataError: admission has no note and no labs")
                    continue
                try:
                    inp = build_teacher_input(
                        admission,
                        retriever,
                        k=k,
                        section=section,
                        use_true_diagnoses=use_true_diagnoses,
                        captioner=captioner,
                    )
                except RetrievalError as e:
                    run.fail(admission.admission_id, f"RetrievalError: {e}")
                    continue
                request = build_request(
                    inp, template, temperature=temperature, max_tokens=max_tokens
                )
                key = input_hash(
                    request, backend=backend.name, model=backend.model_name, prompt=template.key
                )
                hit = cache.get(key) if cache is not None else None
                if hit is not None and hit.status == "ok":
                    run._record(
                        hit.model_copy(update={"admission_id": admission.admission_id}), cached=True
                    )
                    continue
                await semaphore.acquire()
                task = asyncio.create_task(guarded(inp, request, key))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                await asyncio.sleep(0)
        finally:
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            await backend.arelease()
        if errors:
            raise errors[0]
    summary.failure_reasons = dict(run.reasons.most_common())
    summary.elapsed_s = time.perf_counter() - started
    logger.info(
        "rationales: %d generated, %d cached, %d failed, %d skipped (already done), %d calls",
        summary.generated,
        summary.cached,
        summary.failed,
        summary.skipped_existing,
        summary.llm_calls,
    )
    return summary


def generate_rationales(admissions: Iterable[Admission], **kwargs: Any) -> GenerationSummary:
    """Blocking wrapper of :func:`agenerate_rationales` (same arguments).

    Example:
        >>> summary = generate_rationales(  # doctest: +SKIP
        ...     iter_admissions("cohort"), retriever=GraphRetriever(store=store),
        ...     backend=TemplateBackend(), out="rationales.jsonl")
    """
    return asyncio.run(agenerate_rationales(admissions, **kwargs))
