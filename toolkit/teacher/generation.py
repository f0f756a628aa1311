"""Teacher rationale generation: retrieve, prompt, call a backend, validate, record.

For each admission of a cohort :func:`generate_rationales`:

1. builds a :class:`~ctk.retrieval.RetrievalQuery` (note section, lab anomaly
   captions, true diagnoses at training time) and asks a retriever for evidence;
2. renders the versioned teacher prompt (:mod:`ctk.teacher.prompts`); evidence is shown
   as ``[E1] ...`` so a model cites short numbers, mapped back to fact ids;
3. computes the *input hash* (prompt, schema, backend, model, sampling settings)
   and answers from the cache when it has that hash;
4. otherwise calls the backend; the answer must be one JSON object valid for the
   template's answer (:class:`~ctk.teacher.answer.TeacherAnswer`, or the grounded
   answer of :mod:`ctk.teacher.grounded`) that cites only evidence it was given, and
   it must pass the quality gate (:mod:`ctk.teacher.gate`: whole sentences, no repeated
   claim, claims about their facts, ...). An answer that fails gets one repair turn
   with the reasons; if that fails too the admission is recorded as ``rejected`` with
   its ``gate_reasons`` (never ``ok``). A backend that cannot answer at all (network,
   server errors) gives a ``failed`` record. The run goes on either way;
5. appends a :class:`~ctk.records.Rationale` line to the output JSONL in one
   write, flushed at once (a killed process loses at most the record being
   written) and fsynced by a background thread (group commit) and at the end.

A re-run skips the admissions already in the output (resume) and drops an
incomplete last line left by a kill. Admissions run concurrently (asyncio, at
most ``concurrency`` backend calls at once); records are written as they finish.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ctk.errors import ConfigError, LLMError, LLMUnavailableError, RetrievalError
from ctk.llm import ChatMessage, LLMBackend, LLMRequest, LLMResponse
from ctk.plugin import plugin_stamp
from ctk.records import Admission, CitedFact, GateFinding, PluginStamp, Rationale
from ctk.retrieval import Retriever
from ctk.teacher.answer import AnswerError, parse_answer
from ctk.teacher.backend import check_data_policy
from ctk.teacher.cache import RationaleCache
from ctk.teacher.gate import NO_EVIDENCE_SENTENCE, ConceptLexicon, GateContext, gate_answer
from ctk.teacher.grounded import compose_grounded, parse_grounded_answer
from ctk.teacher.inputs import (
    DEFAULT_SECTION,
    TeacherInput,
    build_request,
    build_teacher_input,
    input_hash,
)
from ctk.teacher.output import RationaleWriter
from ctk.teacher.prompts import PromptTemplate, load_prompt

if TYPE_CHECKING:
    from ctk.graph import GraphReader

__all__ = [
    "GenerationConfig",
    "GenerationProgress",
    "GenerationSummary",
    "agenerate_rationales",
    "generate_rationales",
]

logger = logging.getLogger(__name__)

#: Backends whose text no language model wrote (the grounded prompt keeps all of it).
RULE_WRITTEN_BACKENDS = frozenset({"template"})

P = ParamSpec("P")
T = TypeVar("T")

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
    rejected: int = 0


class GenerationSummary(BaseModel):
    """What a generation run did.

    Attributes:
        out: The output file.
        seen: Admissions read from the cohort.
        skipped_existing: Already in the output (resume).
        generated: New ``ok`` rationales from the backend.
        cached: ``ok`` rationales answered from the cache (no backend call).
        failed: Admissions recorded as ``failed`` by this run (the backend gave no answer).
        failed_earlier: Failed records of earlier runs still in the output (not retried).
        rejected: Admissions recorded as ``rejected`` by this run (answers that failed
            the quality gate after one repair).
        rejected_earlier: Rejected records of earlier runs still in the output.
        gate_reasons: Rejected records by gate reason (a record counts once per reason).
        warnings: Provenance differences between this run and the records in the output.
        notes: Differences appended anyway, as ``allow_mixed`` allowed.
        repaired: Answers that needed (and passed) the repair turn.
        repair_reasons: First answers sent to the repair turn, by gate reason.
        failure_reasons: Failures by reason.
        model_sentences_kept: Grounded prompt: sentences of the model's own in the
            ``ok`` records written (ctk adds the picked facts to them).
        model_sentences_dropped: Grounded prompt: sentences of the model's own that
            ctk dropped from ``ok`` records, by gate reason (see
            :func:`ctk.teacher.grounded.compose_grounded`).
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
    failed_earlier: int = 0
    rejected: int = 0
    rejected_earlier: int = 0
    gate_reasons: dict[str, int] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    repaired: int = 0
    repair_reasons: dict[str, int] = Field(default_factory=dict)
    failure_reasons: dict[str, int] = Field(default_factory=dict)
    model_sentences_kept: int = 0
    model_sentences_dropped: dict[str, int] = Field(default_factory=dict)
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
        """Admissions finished per second (generated + cached + failed + rejected)."""
        n = self.generated + self.cached + self.failed + self.rejected
        return n / self.elapsed_s if self.elapsed_s > 0 else 0.0


def _reason_key(error: str) -> str:
    return error.split(":", 1)[0][:80]


@dataclass
class _Verdict:
    """One answer read and gated: its parts when it parsed, and what is wrong with it."""

    note_rationale: str = ""
    lab_rationale: str = ""
    cited: list[CitedFact] | None = None
    findings: list[GateFinding] | None = None
    dropped: list[GateFinding] = field(default_factory=list)
    kept_sentences: int = 0

    @property
    def parsed(self) -> bool:
        return self.cited is not None


def _describe_findings(findings: list[GateFinding]) -> str:
    return "; ".join(f"{f.reason}: {f.detail}" for f in findings)


@dataclass(kw_only=True, eq=False)
class _Run:
    """One generation run: its settings and parts, and the counts it keeps as admissions finish."""

    config: GenerationConfig
    backend: LLMBackend
    template: PromptTemplate
    repair: PromptTemplate
    writer: RationaleWriter
    cache: RationaleCache | None
    summary: GenerationSummary
    progress: GenerationProgress
    on_progress: Callable[[GenerationProgress], None] | None
    stamps: dict[str, PluginStamp]
    lexicon: ConceptLexicon
    reasons: Counter[str] = field(default_factory=Counter, init=False)
    gate_reasons: Counter[str] = field(default_factory=Counter, init=False)
    repair_reasons: Counter[str] = field(default_factory=Counter, init=False)
    dropped_reasons: Counter[str] = field(default_factory=Counter, init=False)

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
        elif rationale.status == "rejected":
            self.progress.rejected += 1
            self.summary.rejected += 1
            self.gate_reasons.update({f.reason for f in rationale.gate_reasons})
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
            **self.stamps,
        }

    def fail(self, admission_id: str, error: str, **extra: Any) -> None:
        base: dict[str, Any] = {
            "admission_id": admission_id,
            "backend": self.backend.name,
            "model": self.backend.model_name,
            "prompt_version": self.template.key,
            **self.stamps,
        }
        base.update(extra)
        self._record(Rationale(status="failed", error=error, **base))

    def judge(self, response: LLMResponse, inp: TeacherInput, ctx: GateContext) -> _Verdict:
        """Parse one answer and pass it through the gate."""
        aliases = inp.aliases()
        dropped: list[GateFinding] = []
        kept_sentences = 0
        try:
            if self.template.answer == "grounded":
                grounded, cited = parse_grounded_answer(response.text, inp.evidence, self.lexicon)
                # rule-written text restates the inputs and the facts: nothing to drop
                rule_written = self.backend.name in RULE_WRITTEN_BACKENDS
                composed = compose_grounded(
                    grounded.note_rationale,
                    grounded.lab_rationale,
                    cited,
                    ctx,
                    check_sentences=self.config.gate and not rule_written,
                )
                note, lab = composed.note_rationale, composed.lab_rationale
                dropped, kept_sentences = composed.dropped, composed.kept_sentences
            else:
                answer, cited = parse_answer(response.text, aliases)
                note, lab = answer.note_rationale, answer.lab_rationale
        except AnswerError as bad:
            return _Verdict(findings=[GateFinding(reason=bad.reason, detail=str(bad))])
        note, lab = note.strip(), lab.strip()
        finish = response.raw.get("finish_reason")
        findings = (
            gate_answer(
                note, lab, cited, ctx, finish_reason=finish if isinstance(finish, str) else None
            )
            if self.config.gate
            else []
        )
        return _Verdict(
            note_rationale=note,
            lab_rationale=lab,
            cited=cited,
            findings=findings,
            dropped=dropped,
            kept_sentences=kept_sentences,
        )

    async def one(self, inp: TeacherInput, request: LLMRequest, key: str) -> None:
        base = self._base(inp, key)
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "calls": 0}
        ctx = GateContext(
            diagnoses=inp.diagnoses,
            note_text=inp.note_text,
            captions=inp.captions,
            evidence=inp.evidence,
            lexicon=self.lexicon,
            claim_ends=2 if self.template.answer == "grounded" else 1,
            check_pairs=self.config.require_supported_pairs or self.template.answer == "grounded",
        )

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

        repaired = False
        try:
            first = await call(request)
            verdict = self.judge(first, inp, ctx)
            if verdict.findings:
                logger.info(
                    "admission %s: answer refused (%s); one repair attempt",
                    inp.admission_id,
                    ", ".join(sorted({f.reason for f in verdict.findings})),
                )
                self.repair_reasons.update({f.reason for f in verdict.findings})
                fix = self.repair.render(
                    reason=_describe_findings(verdict.findings),
                    schema=json.dumps(request.json_schema, sort_keys=True),
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
                repaired = True
                again = self.judge(second, inp, ctx)
                # keep the text of the last answer that parsed, with the last findings
                if again.parsed or not verdict.parsed:
                    verdict = again
                else:
                    verdict.findings = again.findings
        except LLMUnavailableError:
            raise  # a dead server says nothing about this admission: stop, record nothing
        except LLMError as e:
            self._record(
                Rationale(status="failed", error=f"{type(e).__name__}: {e}", usage=usage, **base)
            )
            return
        if verdict.findings:
            self._record(
                Rationale(
                    status="rejected",
                    note_rationale=verdict.note_rationale,
                    lab_rationale=verdict.lab_rationale,
                    cited_facts=verdict.cited or [],
                    gate_reasons=verdict.findings,
                    repaired=repaired,
                    usage=usage,
                    **base,
                )
            )
            return
        if repaired:
            self.summary.repaired += 1
        self.summary.model_sentences_kept += verdict.kept_sentences
        self.dropped_reasons.update(f.reason for f in verdict.dropped)
        note = verdict.note_rationale
        if not inp.evidence and NO_EVIDENCE_SENTENCE not in f"{note} {verdict.lab_rationale}":
            note = f"{note} {NO_EVIDENCE_SENTENCE}".strip()
        self._record(
            Rationale(
                status="ok",
                note_rationale=note,
                lab_rationale=verdict.lab_rationale,
                cited_facts=verdict.cited or [],
                gate_reasons=verdict.dropped,
                repaired=repaired,
                usage=usage,
                **base,
            )
        )


class GenerationConfig(BaseModel):
    """How a generation run behaves (the plugins are chosen in :class:`TeacherConfig`).

    Attributes:
        k: Evidence records per admission.
        concurrency: Most backend calls in flight.
        cache_dir: Cache folder (default ``OUT.cache`` beside the output).
        use_cache: Read and write the cache.
        prompt: Teacher prompt template name or file.
        section: Note section the teacher reads.
        use_true_diagnoses: Give the true diagnoses (training-time teacher).
        allow_remote: Consent to sending cohort text to a non-loopback host.
        retry_failed: Generate again the admissions recorded as failed.
        retry_rejected: Generate again the admissions recorded as rejected by the gate.
        gate: Run the quality gate's content checks (:mod:`ctk.teacher.gate`); answers
            that do not parse are refused either way.
        require_supported_pairs: Refuse a free-form answer whose Rm or Rt relates two
            concepts the graph does not relate (gate reason ``unsupported_pair``); the
            grounded prompt always checks this, sentence by sentence.
        allow_mixed: Append to an output whose records were made with another
            retriever or backend, or other options (refused by default).
        temperature: Sampling temperature.
        max_tokens: Most tokens per answer.
    """

    model_config = ConfigDict(extra="forbid")

    k: int = Field(default=8, ge=1)
    concurrency: int = Field(default=4, ge=1)
    cache_dir: Path | None = None
    use_cache: bool = True
    prompt: str | Path = "teacher"
    section: str = DEFAULT_SECTION
    use_true_diagnoses: bool = True
    allow_remote: bool = False
    retry_failed: bool = False
    retry_rejected: bool = False
    gate: bool = True
    require_supported_pairs: bool = False
    allow_mixed: bool = False
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=384, ge=16)


async def agenerate_rationales(
    admissions: Iterable[Admission],
    *,
    retriever: Retriever,
    backend: LLMBackend,
    out: str | Path,
    config: GenerationConfig | None = None,
    total: int | None = None,
    on_progress: Callable[[GenerationProgress], None] | None = None,
    captioner: Callable[[Admission], list[str]] | None = None,
    store: GraphReader | None = None,
) -> GenerationSummary:
    """Generate teacher rationales for admissions; see the module docstring.

    Args:
        admissions: The admissions (streamed).
        retriever: Evidence retriever.
        backend: LLM backend.
        out: Output JSONL (appended to; admissions already in it are skipped).
        config: How the run behaves (default: :class:`GenerationConfig` defaults).
        total: Number of admissions, for progress.
        on_progress: Called after each finished admission.
        captioner: Lab captions function (default :func:`ctk.anomalies.anomaly_captions`).
        store: The knowledge graph, for the gate's concept names and synonyms and the
            grounded prompt's claim patterns (without one, a concept id stands for its
            name and the ``no_concept`` check only sees the facts' concepts).

    Returns:
        The run summary.

    Raises:
        DataPolicyError: The backend is remote and ``config.allow_remote`` is false.
        ConfigError: Bad settings, or ``out`` holds records made with another retriever
            or backend or other options (unless ``config.allow_mixed``).
    """
    cfg = config or GenerationConfig()
    k, concurrency, cache_dir, use_cache = cfg.k, cfg.concurrency, cfg.cache_dir, cfg.use_cache
    prompt, section, use_true_diagnoses = cfg.prompt, cfg.section, cfg.use_true_diagnoses
    allow_remote, retry_failed = cfg.allow_remote, cfg.retry_failed
    temperature, max_tokens = cfg.temperature, cfg.max_tokens
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
    if retriever.needs_store:
        retriever.require_store()  # before the output file exists
    started = time.perf_counter()
    stamps = {"retriever": plugin_stamp(retriever), "llm": plugin_stamp(backend)}
    # opened first: an output made with other plugins is refused before a model loads
    writer = RationaleWriter(
        out_path,
        retry_failed=retry_failed,
        retry_rejected=cfg.retry_rejected,
        retriever=stamps["retriever"],
        llm=stamps["llm"],
        allow_mixed=cfg.allow_mixed,
    )
    with writer:
        await backend.aprepare()
        summary.model = backend.model_name
        summary.failed_earlier = writer.failed_kept
        summary.rejected_earlier = writer.rejected_kept
        summary.warnings = list(writer.warnings)
        summary.notes = list(writer.notes)
        progress = GenerationProgress(total=total)
        lexicon = ConceptLexicon(store)
        run = _Run(
            config=cfg,
            lexicon=lexicon,
            backend=backend,
            template=template,
            repair=repair,
            writer=writer,
            cache=cache,
            summary=summary,
            progress=progress,
            on_progress=on_progress,
            stamps=stamps,
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
                    inp, template, temperature=temperature, max_tokens=max_tokens, lexicon=lexicon
                )
                key = input_hash(
                    request, backend=backend.name, model=backend.model_name, prompt=template.key
                )
                hit = cache.get(key) if cache is not None else None
                if hit is not None and hit.status == "ok":
                    # same input hash: same evidence and backend; this run's plugins answer for it
                    run._record(
                        hit.model_copy(update={"admission_id": admission.admission_id, **stamps}),
                        cached=True,
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
    summary.gate_reasons = dict(run.gate_reasons.most_common())
    summary.repair_reasons = dict(run.repair_reasons.most_common())
    summary.model_sentences_dropped = dict(run.dropped_reasons.most_common())
    summary.elapsed_s = time.perf_counter() - started
    logger.info(
        "rationales: %d generated, %d cached, %d rejected, %d failed, %d skipped (already done), "
        "%d calls",
        summary.generated,
        summary.cached,
        summary.rejected,
        summary.failed,
        summary.skipped_existing,
        summary.llm_calls,
    )
    return summary


def _blocking(coroutine_function: Callable[P, Awaitable[T]]) -> Callable[P, T]:
    """A blocking twin of an async function (same signature, run with :func:`asyncio.run`)."""

    @functools.wraps(coroutine_function)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return asyncio.run(coroutine_function(*args, **kwargs))  # type: ignore[arg-type]

    return run


#: Blocking :func:`agenerate_rationales` (same arguments).
#:
#: Example::
#:
#:     summary = generate_rationales(iter_admissions("cohort"),
#:         retriever=GraphRetriever(store=store), backend=TemplateBackend(),
#:         out="rationales.jsonl", config=GenerationConfig(k=8, concurrency=4))
generate_rationales = _blocking(agenerate_rationales)
