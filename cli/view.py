"""``ctk view``: serve the local, read-only web viewer."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ctk.cli.options import (
    CohortOpt,
    DatabaseOpt,
    GraphOpt,
    HostOpt,
    MinSupportOpt,
    PortOpt,
    RationalesOpt,
    UserOpt,
    open_cli_store,
)
from ctk.graph import DEFAULT_MIN_SUPPORT

if TYPE_CHECKING:
    from ctk.view import AdmissionIndex
    from ctk.view.run import EvalRun

__all__ = ["view"]


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ctk" / "view"


def view(
    cohort: CohortOpt,
    rationales: RationalesOpt = None,
    store: GraphOpt = None,
    eval_dir: Annotated[
        Path | None,
        typer.Option(
            "--eval",
            help="Evaluation folder (ctk distill eval --out): report and "
            "the student's predictions.",
        ),
    ] = None,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8040,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Serve on a non-loopback --host. MIMIC's data use agreement forbids showing "
            "notes to anyone not credentialed: only for data that allows it.",
        ),
    ] = False,
    min_count: MinSupportOpt = DEFAULT_MIN_SUPPORT,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir",
            help="Where the admission index is kept (default: $XDG_CACHE_HOME/ctk/view); "
            "never inside the inputs.",
        ),
    ] = None,
    neo4j_user: UserOpt = None,
    neo4j_database: DatabaseOpt = None,
) -> None:
    """Browse admissions, rationales, cited facts, the graph and an evaluation in a browser.

    A local web app (read-only; nothing is written to the inputs). Every input is
    opened and checked before the server starts: a missing or corrupt one is an
    error (exit 2). The first start on a cohort indexes it (once; the index lives
    in --cache-dir). The URL is printed; no browser is opened.

    Example: ctk view -c out/cohort -r out/rationales.jsonl --store out/kg.db --eval out/eval
    """
    from ctk.view import (
        AdmissionIndex,
        Viewer,
        check_bind_address,
        create_app,
        load_eval_run,
        serve,
    )
    from ctk.view.app import LOOPBACK_NAMES

    check_bind_address(host, allow_remote=allow_remote)  # before any work
    with contextlib.ExitStack() as stack:
        index = AdmissionIndex.open(
            cohort, rationales=rationales, cache_dir=cache_dir or _default_cache_dir()
        )
        stack.callback(index.close)
        _print_index_summary(index, cohort, with_rationales=rationales is not None)
        run = load_eval_run(eval_dir) if eval_dir is not None else None
        if run is not None:
            _print_run_summary(run, index)
        graph = None
        if store is not None:
            graph = stack.enter_context(
                open_cli_store(
                    store,
                    user=neo4j_user,
                    database=neo4j_database,
                    read_only=True,
                )
            )
            stats = graph.stats()
            typer.echo(f"graph: {stats.concepts} concepts, {stats.relations} relations ({store})")
        # loopback: only loopback Host headers (no DNS rebinding); remote: whatever name reaches it
        hosts = ("*",) if allow_remote else (*LOOPBACK_NAMES, host)
        app = create_app(Viewer(index, store=graph, run=run, min_count=min_count), hosts=hosts)
        serve(
            app,
            host=host,
            port=port,
            allow_remote=allow_remote,
            on_ready=lambda url: typer.echo(f"ctk view: {url}  (Ctrl-C stops it)"),
        )


def _print_index_summary(index: AdmissionIndex, cohort: Path, *, with_rationales: bool) -> None:
    """What the viewer read: admissions, rationale records by status, unmatched ones."""
    s = index.summary
    typer.echo(f"cohort: {s.admissions} admissions ({cohort})")
    if with_rationales:
        statuses = ", ".join(f"{n} {k}" for k, n in sorted(s.statuses.items()))
        typer.echo(
            f"rationales: {s.rationales} records; {s.matched_rationales} admissions ({statuses})"
        )
        if s.unmatched_rationales:
            typer.echo(
                f"warning: {s.unmatched_rationales} of {s.rationales} rationale records match no "
                "admission of the cohort (made from another cohort?)",
                err=True,
            )


def _print_run_summary(run: EvalRun, index: AdmissionIndex) -> None:
    """What the evaluation folder holds, and predictions for admissions not in the cohort."""
    typer.echo(f"evaluation: {run.report.n} admissions, {len(run.predictions)} predictions")
    stray = sum(not index.contains(a) for a in run.predictions)
    if stray:
        typer.echo(
            f"warning: {stray} of {len(run.predictions)} predictions are for admissions "
            "not in the cohort (an evaluation of another cohort?)",
            err=True,
        )
