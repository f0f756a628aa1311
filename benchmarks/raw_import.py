"""Full-size raw MIMIC-III import: engines for the CHARTEVENTS pass, and ctk's whole import.

Writes a synthetic CHARTEVENTS.csv in the real MIMIC-III v1.4 column layout (quoted header
and text fields, 15 columns; ~20% of the rows are items of the benchmark's item map, about
their share in the real table), plus the small tables a benchmark-exact import needs, then
measures in the same run, each engine in a fresh process (wall time, CPU time and peak RSS
of that process):

* ``pandas``: plain chunked ``pandas.read_csv`` (1M rows a chunk, the 6 columns used, all
  text) keeping the rows of wanted items: the baseline the issue asks for;
* ``csv``: ctk's streaming reader (:func:`ctk.ehr.tables.iter_rows`, the csv module, rows of
  other items passed over before parsing);
* ``duckdb``: ``read_csv`` with the item filter pushed into the scan, wanted rows fetched
  into Python in batches;
* ``polars``: ``scan_csv`` + filter, streaming engine, batches;
* ``ctk-import``: the whole benchmark-exact import (``load_mimic3``) over the synthetic
  tables: scan, validate_events rules, cleaning, hourly aggregation in SQLite, assembly,
  with the polars scan of :func:`ctk.ehr.tables.iter_rows` (an uncompressed table);
* ``ctk-import-csv``: the same import with the csv-module scan (what a ``.csv.gz`` gets).

Usage::

    python benchmarks/raw_import.py --rows 20000000 --work /tmp/ctk-raw-import
    python benchmarks/raw_import.py --rows 2000000 --engines pandas,csv,duckdb

Needs ``pandas``, ``duckdb`` and ``polars`` for their rows (``pip install
"clinragen-toolkit[bench]"``); engines whose package is absent are skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

CHART_COLUMNS = [
    "ROW_ID",
    "SUBJECT_ID",
    "HADM_ID",
    "ICUSTAY_ID",
    "ITEMID",
    "CHARTTIME",
    "STORETIME",
    "CGID",
    "VALUE",
    "VALUENUM",
    "VALUEUOM",
    "WARNING",
    "ERROR",
    "RESULTSTATUS",
    "STOPPED",
]
USED = ["HADM_ID", "ICUSTAY_ID", "ITEMID", "CHARTTIME", "VALUE", "VALUEUOM"]
ROWS_PER_STAY = 2000
OTHER_ITEMS = list(range(900_000, 900_400))  # not in the item map (like most of D_ITEMS)
WANTED_SHARE = 20  # percent of rows of mapped items


def _wanted() -> list[int]:
    from ctk.ehr.itemids import item_map

    return sorted(i for i, item in item_map().items() if item.linksto == "chartevents")


def generate(work: Path, rows: int) -> Path:
    """Write the synthetic tables with DuckDB (fast); returns the folder."""
    import duckdb

    root = work / f"mimic3-{rows}"
    chart = root / "CHARTEVENTS.csv"
    if chart.is_file():
        return root
    root.mkdir(parents=True, exist_ok=True)
    stays = max(1, rows // ROWS_PER_STAY)
    wanted = _wanted()
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute(f"CREATE TABLE wanted AS SELECT unnest({wanted}) AS itemid")
    con.execute(f"CREATE TABLE others AS SELECT unnest({OTHER_ITEMS}) AS itemid")
    query = f"""
        SELECT i + 1 AS ROW_ID,
               (i // {ROWS_PER_STAY}) + 1 AS SUBJECT_ID,
               100000 + (i // {ROWS_PER_STAY}) AS HADM_ID,
               200000 + (i // {ROWS_PER_STAY}) AS ICUSTAY_ID,
               CASE WHEN hash(i) % 100 < {WANTED_SHARE}
                    THEN {wanted}[1 + CAST(hash(i + 7) % {len(wanted)} AS INTEGER)]
                    ELSE {OTHER_ITEMS}[1 + CAST(hash(i + 7) % {len(OTHER_ITEMS)} AS INTEGER)]
               END AS ITEMID,
               strftime(TIMESTAMP '2150-01-01 10:00:00'
                        + to_minutes(CAST(i % {ROWS_PER_STAY} AS BIGINT)),
                        '%Y-%m-%d %H:%M:%S') AS CHARTTIME,
               strftime(TIMESTAMP '2150-01-01 10:30:00'
                        + to_minutes(CAST(i % {ROWS_PER_STAY} AS BIGINT)),
                        '%Y-%m-%d %H:%M:%S') AS STORETIME,
               17000 + i % 50 AS CGID,
               CASE WHEN i % 97 = 0 THEN 'Normal <3 secs'
                    ELSE CAST(60 + hash(i) % 80 AS VARCHAR) END AS VALUE,
               CASE WHEN i % 97 = 0 THEN NULL ELSE 60 + hash(i) % 80 END AS VALUENUM,
               'bpm' AS VALUEUOM,
               0 AS WARNING, 0 AS ERROR, NULL AS RESULTSTATUS, NULL AS STOPPED
        FROM range({rows}) t(i)
    """
    con.execute(
        f"COPY ({query}) TO '{chart}' (HEADER, DELIMITER ',', "
        "FORCE_QUOTE (CHARTTIME, STORETIME, VALUE, VALUEUOM))"
    )
    text = chart.read_bytes()[:300].decode()
    header = text.splitlines()[0]
    quoted = ",".join(f'"{c.strip(chr(34))}"' for c in header.split(","))
    _replace_header(chart, header, quoted)
    _small_tables(root, stays)
    return root


def _replace_header(path: Path, old: str, new: str) -> None:
    """Quote the header in place (the full release quotes it): rewrite via a temp file."""
    tmp = path.with_suffix(".tmp")
    with path.open("rb") as src, tmp.open("wb") as dst:
        src.readline()
        dst.write((new + "\n").encode())
        while chunk := src.read(1 << 24):
            dst.write(chunk)
    tmp.replace(path)
    assert old


def _small_tables(root: Path, stays: int) -> None:
    def write(name: str, header: str, lines: list[str]) -> None:
        (root / f"{name}.csv").write_text(header + "\n" + "\n".join(lines) + "\n")

    ids = range(stays)
    write(
        "ADMISSIONS",
        "ROW_ID,SUBJECT_ID,HADM_ID,ADMITTIME",
        [f"{i},{i + 1},{100000 + i},2150-01-01 08:00:00" for i in ids],
    )
    write("PATIENTS", "ROW_ID,SUBJECT_ID,DOB", [f"{i},{i + 1},2080-01-01 00:00:00" for i in ids])
    write(
        "ICUSTAYS",
        "ROW_ID,SUBJECT_ID,HADM_ID,ICUSTAY_ID,FIRST_CAREUNIT,LAST_CAREUNIT,FIRST_WARDID,"
        "LAST_WARDID,INTIME,OUTTIME,LOS",
        [
            f"{i},{i + 1},{100000 + i},{200000 + i},MICU,MICU,12,12,2150-01-01 10:00:00,"
            "2150-01-03 10:00:00,2.0"
            for i in ids
        ],
    )
    write(
        "DIAGNOSES_ICD",
        "ROW_ID,SUBJECT_ID,HADM_ID,SEQ_NUM,ICD9_CODE",
        [f"{i},{i + 1},{100000 + i},1,{('4280', '4019', '5849')[i % 3]}" for i in ids],
    )
    write("D_ICD_DIAGNOSES", "ROW_ID,ICD9_CODE,SHORT_TITLE", ["1,4280,a", "2,4019,b", "3,5849,c"])
    items = [*_wanted(), *OTHER_ITEMS]  # D_ITEMS knows every item, as in the release
    write("D_ITEMS", "ROW_ID,ITEMID,LABEL", [f"{n},{i},item {i}" for n, i in enumerate(items)])


# ----------------------------------------------------------------------- engines (children)


def run_pandas(chart: Path) -> int:
    import pandas as pd

    wanted = {str(i) for i in _wanted()}
    kept = 0
    for chunk in pd.read_csv(chart, usecols=USED, dtype=str, chunksize=1_000_000):
        kept += int(chunk["ITEMID"].isin(wanted).sum())
    return kept


def run_csv(chart: Path) -> int:
    from ctk.ehr.tables import iter_rows

    wanted = {str(i) for i in _wanted()}
    others = frozenset(str(i) for i in OTHER_ITEMS)
    kept = 0
    for _, row in iter_rows(chart, [c.lower() for c in USED], skip=("itemid", others)):
        kept += row["itemid"] in wanted
    return kept


def run_duckdb(chart: Path) -> int:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET memory_limit = '1GB'")
    wanted = ",".join(f"'{i}'" for i in _wanted())
    cur = con.execute(
        f"SELECT {', '.join(USED)} FROM read_csv(?, header = true, all_varchar = true) "
        f"WHERE ITEMID IN ({wanted})",
        [str(chart)],
    )
    kept = 0
    while batch := cur.fetchmany(100_000):
        kept += len(batch)
    return kept


def run_polars(chart: Path) -> int:
    import polars as pl

    wanted = [str(i) for i in _wanted()]
    frame = (
        pl.scan_csv(chart, infer_schema=False)
        .select(USED)
        .filter(pl.col("ITEMID").is_in(wanted))
        .collect(engine="streaming")
    )
    return frame.height


def run_ctk_import_csv(chart: Path) -> int:
    import ctk.ehr.tables

    ctk.ehr.tables._POLARS_MIN_BYTES = 1 << 62  # the csv module even when polars is installed
    return run_ctk_import(chart)


def run_ctk_import(chart: Path) -> int:
    from ctk.ehr.mimic3 import load_mimic3
    from ctk.report import ProblemReport

    report = ProblemReport()
    details: dict[str, object] = {}
    n = 0
    for _ in load_mimic3(chart.parent, report=report, details=details):
        n += 1
    return n


ENGINES = {
    "pandas": run_pandas,
    "csv": run_csv,
    "duckdb": run_duckdb,
    "polars": run_polars,
    "ctk-import": run_ctk_import,
    "ctk-import-csv": run_ctk_import_csv,
}
NEEDS = {"pandas": "pandas", "duckdb": "duckdb", "polars": "polars", "ctk-import": "polars"}


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss it does not inherit the parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(engine: str, chart: Path) -> None:
    start = time.perf_counter()
    result = ENGINES[engine](chart)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "engine": engine,
                "result": result,
                "wall_s": wall,
                "cpu_s": usage.ru_utime + usage.ru_stime,
                "peak_rss_mb": _peak_rss_mb(),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/ctk-raw-import"))
    parser.add_argument("--engines", default="pandas,csv,duckdb,polars,ctk-import,ctk-import-csv")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--chart", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.chart)
        return
    t0 = time.perf_counter()
    root = generate(args.work, args.rows)
    chart = root / "CHARTEVENTS.csv"
    size = chart.stat().st_size
    print(
        f"CHARTEVENTS.csv: {args.rows:,} rows, {size / 1e9:.2f} GB"
        f" (ready in {time.perf_counter() - t0:.0f} s); load average {os.getloadavg()[0]:.1f}"
    )
    print("| engine | wall s | CPU s | rows/s (wall) | peak RSS MB | result |")
    print("|---|---:|---:|---:|---:|---:|")
    for engine in args.engines.split(","):
        module = NEEDS.get(engine)
        if module is not None:
            try:
                __import__(module)
            except ImportError:
                print(f"| {engine} | skipped: {module} not installed | | | | |")
                continue
        out = subprocess.run(
            [sys.executable, __file__, "--child", engine, "--chart", str(chart)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        m = json.loads(out.strip().splitlines()[-1])
        print(
            f"| {engine} | {m['wall_s']:.1f} | {m['cpu_s']:.1f} |"
            f" {args.rows / m['wall_s']:,.0f} | {m['peak_rss_mb']:.0f} | {m['result']:,} |",
            flush=True,
        )
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
