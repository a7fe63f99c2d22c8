"""Ingestion throughput: Bimo's Arrow path vs dlt's default dict path, same rows, one run.

    .venv/bin/python benchmarks/ingest_throughput.py [--days 90] [--requests-per-day 1500]

Generates the demo company's gateway logs, loads the same files through dlt's dict path and
through Bimo's Arrow path into fresh DuckDB files, times Bimo's parse alone and DuckDB's own
`read_json` of the plain files, and prints rows/s with ratios against the dict path. Results go
to benchmarks/results/ingest_throughput.{json,md}, with the date, the machine, its load average
and the yardstick (benchmarks/machine.py) at the start.
"""

import argparse
import os
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import dlt
import duckdb
from machine import command_line, machine_info, write_results, yardstick

from bimo.demo import generate
from bimo.settings import get_settings
from ingestion.dlt_settings import configure_dlt
from ingestion.load import load_files
from ingestion.readers import expand_paths
from ingestion.source import FormatStats, parse_files


def arrow_path(files, work):
    settings = get_settings(work / "arrow.duckdb")
    t = time.perf_counter()
    summary = load_files({"bimo-gateway": files}, settings=settings)
    return summary.added["bimo-gateway"], time.perf_counter() - t


def parse_only(files):
    t = time.perf_counter()
    stats = FormatStats()
    for _ in parse_files("bimo-gateway", files, stats=stats):
        pass
    return stats.rows, time.perf_counter() - t


def dict_path(files, work):
    """The same parser, but rows handed to dlt as Python dicts (dlt's default loader)."""
    configure_dlt()

    @dlt.resource(name="bimo_gateway_requests", write_disposition="merge", primary_key="request_id")
    def rows():
        for batch in parse_files("bimo-gateway", files):
            if hasattr(batch, "to_pylist") and batch.num_rows:
                yield from batch.to_pylist()

    pipeline = dlt.pipeline(
        pipeline_name="bench_dicts",
        destination=dlt.destinations.duckdb(str(work / "dicts.duckdb")),
        dataset_name="raw_gateway",
        pipelines_dir=str(work / "dlt_dicts"),
    )
    t = time.perf_counter()
    pipeline.run(rows())
    elapsed = time.perf_counter() - t
    con = duckdb.connect(str(work / "dicts.duckdb"), read_only=True)
    n = con.sql("select count(*) from raw_gateway.bimo_gateway_requests").fetchall()[0][0]
    con.close()
    return n, elapsed


def duckdb_read_json(files):
    """DuckDB reading the same JSONL itself: no validation, no quarantine — a physical reference."""
    con = duckdb.connect()
    t = time.perf_counter()
    n = con.sql(
        "select count(*) from read_json(?, format='newline_delimited', ignore_errors=true)",
        params=[[str(f) for f in files]],
    ).fetchall()[0][0]
    return n, time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--requests-per-day", type=int, default=1500)
    args = p.parse_args()
    machine = machine_info() | {"yardstick_s": yardstick()}  # before the runs: what slows them
    work = Path(tempfile.mkdtemp(prefix="bimo-bench-"))
    try:
        generate(work / "demo", days=args.days, requests_per_day=args.requests_per_day,
                 seed=7, end=date(2026, 10, 31))  # fmt: skip
        files = [f for f in expand_paths([work / "demo" / "bimo-gateway"])]
        plain = [f for f in files if f.suffix == ".jsonl"]
        runs = {
            "dlt dict path (baseline)": dict_path(files, work),
            "Bimo Arrow path (parse + dlt load)": arrow_path(files, work),
            "parse only (no load)": parse_only(files),
            "DuckDB read_json, plain files only (reference)": duckdb_read_json(plain),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base_rate = runs["dlt dict path (baseline)"][0] / runs["dlt dict path (baseline)"][1]
    rows = []
    for name, (n, secs) in runs.items():
        rate = n / secs
        rows.append(
            {"path": name, "rows": n, "seconds": round(secs, 2), "rows_per_s": round(rate),
             "vs_dict_path": round(rate / base_rate, 1)}
        )  # fmt: skip
    header = "| path | rows | seconds | rows/s | × dict path |\n|---|---:|---:|---:|---:|\n"
    table = header + "".join(
        f"| {r['path']} | {r['rows']:,} | {r['seconds']} | {r['rows_per_s']:,} "
        f"| {r['vs_dict_path']} |\n"
        for r in rows
    )
    command = command_line("ingest_throughput.py", **vars(args))
    print(table)
    write_results(
        "ingest_throughput",
        {"command": command, "machine": machine, "args": vars(args), "runs": rows},
        [
            "# Ingestion throughput",
            "",
            f"`{command}` — {machine['date']}, {machine['cpu']} ({machine['cores']} cores), "
            f"Python {machine['python']}; 1-minute load average {machine['load_average_1m']}, "
            f"yardstick {machine['yardstick_s']} s at the start (benchmarks/machine.py).",
            "Bimo gateway JSONL (every 7th file gzip), same files for every path, n=1 each, "
            "one after another in one process.",
            "",
            table,
        ],
    )


if __name__ == "__main__":
    main()
