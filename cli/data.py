"""``ctk data``: make, import and inspect cohorts.

Thin commands over :mod:`ctk.synth`, :mod:`ctk.ehr` and :mod:`ctk.anomalies`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from ctk.cli.options import JsonOpt, OverwriteOpt

if TYPE_CHECKING:
    from ctk.cohort import CohortManifest
    from ctk.report import ProblemReport

__all__ = ["app"]

#: The cohort ``stats``, ``anomalies`` and ``validate`` read.
CohortArg = Annotated[Path, typer.Argument(help="Cohort folder (or admissions JSONL).")]

#: ``ctk data import --help`` lists the options of one source format under its own heading.
_BENCHMARK_PANEL = "Options of --format mimic3-benchmark"
_RAW_PANEL = "Options of --format mimic3 and mimic4 (raw MIMIC)"

app = typer.Typer(
    help=(
        "Make, import and inspect cohorts (MIMIC-III benchmark, raw MIMIC-III/IV, synthetic).\n\n"
        "Example: ctk data synth --n 200 --seed 1 --out S && "
        "ctk data import --format mimic3-benchmark S --out C && ctk data stats C"
    ),
    no_args_is_help=True,
)


@app.command("synth")
def synth(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the benchmark layout to.")],
    n: Annotated[int, typer.Option("--n", min=1, help="Number of admissions.")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same files).")] = 0,
    note_noise: Annotated[
        float,
        typer.Option("--note-noise", help="Chance a note omits a true or names a false phenotype."),
    ] = 0.1,
    test_fraction: Annotated[
        float, typer.Option("--test-fraction", help="Share of test admissions.")
    ] = 0.2,
    max_hours: Annotated[
        int, typer.Option("--max-hours", min=1, help="Longest stay in hours.")
    ] = 96,
) -> None:
    """Write a synthetic cohort with a planted signal, in the MIMIC-III benchmark layout.

    Example: ctk data synth --n 200 --seed 1 --out S
    """
    from rich.progress import Progress

    from ctk.synth import write_synthetic_benchmark

    console = Console(stderr=True)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("writing admissions", total=n)
        summary = write_synthetic_benchmark(
            out,
            n=n,
            seed=seed,
            note_noise=note_noise,
            test_fraction=test_fraction,
            max_hours=max_hours,
            progress=lambda done: progress.update(task, completed=done),
        )
    typer.echo(f"wrote {summary.admissions} synthetic admissions to {summary.out}")


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="The source folder.")],
    out: Annotated[Path, typer.Option("--out", help="Cohort folder to write.")],
    source_format: Annotated[
        str, typer.Option("--format", help="mimic3-benchmark, mimic3 or mimic4.")
    ] = "mimic3-benchmark",
    notes: Annotated[
        Path | None,
        typer.Option(
            "--notes",
            help="NOTEEVENTS(.csv.gz) to take discharge summaries from.",
            rich_help_panel=_BENCHMARK_PANEL,
        ),
    ] = None,
    stays_root: Annotated[
        Path | None,
        typer.Option(
            "--stays-root",
            help="The benchmark root with {subject}/stays.csv.",
            rich_help_panel=_BENCHMARK_PANEL,
        ),
    ] = None,
    note_root: Annotated[
        Path | None,
        typer.Option(
            "--note-root",
            help="MIMIC-IV: the MIMIC-IV-Note folder (discharge.csv).",
            rich_help_panel=_RAW_PANEL,
        ),
    ] = None,
    testset: Annotated[
        Path | None,
        typer.Option(
            "--testset",
            help="Wide cohorts: subject_id,0|1 file of test subjects.",
            rich_help_panel=_RAW_PANEL,
        ),
    ] = None,
    cohort: Annotated[
        str | None,
        typer.Option(
            "--cohort",
            help="MIMIC-III: 'benchmark' (default; the MIMIC-III benchmark's phenotyping"
            " cohort, labels and test/val split) or 'wide' (every admission with a discharge"
            " summary or a diagnosis).",
            rich_help_panel=_RAW_PANEL,
        ),
    ] = None,
    max_hours: Annotated[
        int, typer.Option("--max-hours", min=1, help="Length cap of the hourly grid.")
    ] = 1000,
    chunksize: Annotated[
        int,
        typer.Option(
            "--chunksize",
            min=1,
            help="Hour cells kept in memory while streaming events.",
            rich_help_panel=_RAW_PANEL,
        ),
    ] = 200_000,
    compress: Annotated[
        bool, typer.Option("--compress", help="Write admissions.jsonl.gz.")
    ] = False,
    overwrite: OverwriteOpt = False,
) -> None:
    """Import EHR data into a cohort folder and print a summary and the problem report.

    A cohort already in --out is replaced only with --overwrite.

    Example: ctk data import --format mimic3 mimic-iii-1.4/ --out cohort
    (the MIMIC-III benchmark's phenotyping cohort; add --cohort wide for every admission)
    """
    from ctk.ehr.importer import SourceOptions, import_cohort
    from ctk.report import ProblemReport

    report = ProblemReport()
    with _import_progress(Console(stderr=True)) as (on_table, on_admission):
        options = SourceOptions(
            max_hours=max_hours,
            chunksize=chunksize,
            notes=notes,
            stays_root=stays_root,
            note_root=note_root,
            testset=testset,
            cohort=cohort,
            on_table=on_table,
        )
        manifest = import_cohort(
            source_format,
            path,
            out,
            report=report,
            overwrite=overwrite,
            compress=compress,
            on_admission=on_admission,
            options=options,
        )
    _print_import_summary(manifest, report, out)


def _print_import_summary(manifest: CohortManifest, report: ProblemReport, out: Path) -> None:
    """Admissions by split, the problem report, and the counts the loader recorded."""
    splits = ", ".join(f"{k} {v}" for k, v in sorted(manifest.splits.items()))
    typer.echo(f"imported {manifest.admissions} admissions ({splits}) into {out}")
    if report:
        typer.echo(f"problems: {report.total} (skipped or repaired; details in manifest.json)")
        for line in report.lines():
            typer.echo(f"  {line}")
    else:
        typer.echo("problems: none")
    counts = {
        k: v
        for k, v in manifest.details.items()
        if isinstance(v, int) and v and k != "max_hours"  # a setting, not a count
    }
    if counts:
        typer.echo("counts:")
        for label, number in sorted(counts.items()):
            typer.echo(f"  {number} x {label}")


@contextlib.contextmanager
def _import_progress(
    console: Console,
) -> Iterator[tuple[Callable[[Path], None], Callable[[object], None]]]:
    """A spinner naming the table being read, then the admissions written so far."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True
    ) as progress:
        task = progress.add_task("reading", total=None)
        count = [0]

        def on_table(table: Path) -> None:
            progress.update(task, description=f"reading {table.name}")

        def on_admission(_: object) -> None:
            count[0] += 1
            if count[0] % 500 == 0:
                progress.update(task, description=f"{count[0]} admissions written")

        yield on_table, on_admission


@app.command("stats")
def stats(
    cohort: CohortArg,
    as_json: JsonOpt = False,
) -> None:
    """Print admissions, splits, phenotype prevalence, lab missingness and note counts.

    Example: ctk data stats cohort
    """
    from ctk.ehr.stats import cohort_stats

    result = cohort_stats(cohort)
    if as_json:
        typer.echo(json.dumps(result.model_dump(), indent=2))
        return
    console = Console()
    if not console.is_terminal:  # piped: do not wrap the long phenotype names
        console = Console(width=140)
    splits = ", ".join(f"{k} {v}" for k, v in result.splits.items()) or "-"
    console.print(
        f"[bold]{cohort}[/]: {result.admissions} admissions (source {result.source or '?'};"
        f" {splits}); {result.mean_labels:.2f} phenotypes per admission;"
        f" {result.problems} import problems",
        highlight=False,
    )
    table = Table(title="Phenotypes")
    table.add_column("phenotype", no_wrap=True)
    table.add_column("count", justify="right")
    table.add_column("prevalence", justify="right")
    for p in result.phenotypes:
        table.add_row(p.name, str(p.count), f"{p.prevalence:.1%}")
    console.print(table)
    labs = Table(
        title=(
            f"Lab missingness ({result.admissions_with_labs} admissions with labs,"
            f" {result.mean_hours:.1f} h on average)"
        )
    )
    labs.add_column("variable")
    labs.add_column("hours observed", justify="right")
    labs.add_column("admissions with any", justify="right")
    for lab in result.labs:
        labs.add_row(lab.variable, f"{lab.hours_observed:.1%}", f"{lab.admissions_with_any:.1%}")
    console.print(labs)
    console.print(
        f"Notes: {result.notes_present} present"
        f" ({result.notes_with_brief_hospital_course} with a Brief Hospital Course),"
        f" {result.notes_empty} empty, {result.notes_absent} absent",
        highlight=False,
    )


@app.command("anomalies")
def anomalies(
    cohort: CohortArg,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Number of admissions to show.")] = 5,
    ranges: Annotated[
        Path | None,
        typer.Option(
            "--ranges", help="CSV of normal ranges (variable,low,high); the paper's by default."
        ),
    ] = None,
) -> None:
    """Print the lab-anomaly captions of the first admissions of a cohort.

    Example: ctk data anomalies cohort --limit 3
    """
    from ctk.anomalies import anomaly_captions
    from ctk.cohort import iter_admissions
    from ctk.lab_variables import load_lab_ranges

    table = load_lab_ranges(ranges) if ranges is not None else None
    shown = 0
    for adm in iter_admissions(cohort):
        if shown >= limit:
            break
        shown += 1
        typer.echo(f"{adm.admission_id} ({', '.join(adm.phenotypes) or 'no phenotype'}):")
        if adm.labs is None:
            typer.echo("  no lab values")
            continue
        captions = anomaly_captions(adm.labs, table)
        for caption in captions or ["no anomaly"]:
            typer.echo(f"  {caption}")


@app.command("compare")
def compare(
    cohort: Annotated[Path, typer.Argument(help="Cohort folder (a raw MIMIC-III import).")],
    benchmark_root: Annotated[
        Path | None,
        typer.Option(
            "--benchmark-root",
            help="The benchmark's data/phenotyping folder (train/ and test/ listfile.csv),"
            " or its data/ folder; data/root next to it names the benchmark's ICD codes.",
        ),
    ] = None,
    listfile: Annotated[
        list[Path] | None,
        typer.Option(
            "--listfile",
            help="A phenotyping listfile.csv to compare with instead (repeatable; a file in"
            " a test/ folder is the test split).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare a cohort with the MIMIC-III benchmark's own phenotyping output.

    Lists the admissions only in one of the two, the labels that differ (with the ICD
    codes behind each) and split differences; exits 1 on any difference, 0 when identical.

    Example: ctk data compare cohort --benchmark-root mimic3-benchmarks/data/phenotyping
    """
    from ctk.ehr.compare import compare_with_benchmark

    result = compare_with_benchmark(cohort, benchmark_root=benchmark_root, listfiles=listfile)
    if as_json:
        typer.echo(json.dumps(result.model_dump(), indent=2))
    else:
        for line in result.lines():
            typer.echo(line)
        typer.echo("identical" if result.identical else "DIFFERENT")
    if not result.identical:
        raise typer.Exit(1)


@app.command("validate")
def validate(
    cohort: CohortArg,
    split: Annotated[
        str | None, typer.Option(help="Only the admissions of this split (train, val, test).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Read and validate every admission of a cohort, as a long run does first.

    A line that is not a valid admission stops it with the file and line number
    (exit 2); duplicate ids, a count that differs from the manifest, or no admission
    at all are problems (exit 1); admissions with neither note nor labs are warnings
    (a teacher run records them as failed); otherwise it exits 0.

    Example: ctk data validate cohort
    """
    from ctk.cohort import validate_cohort

    report = validate_cohort(cohort, split=split)
    if as_json:
        typer.echo(json.dumps(report.model_dump(), indent=2))
    else:
        for line in report.lines():
            typer.echo(line)
        typer.echo("problems found" if report.problems else "valid")
    if report.problems:
        raise typer.Exit(1)
