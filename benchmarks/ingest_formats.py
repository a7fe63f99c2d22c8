"""Ingestion throughput per source format: Bimo's loader vs DuckDB reading the same files
natively into a table (the practical limit) vs dlt's default dict path.

Each (format, variant) runs in its own process (`harness.run_task`), so its peak RSS is its own.
The request-log formats use the demo's generated files; the billing formats use a FOCUS export of
the demo replicated to `billing_rows` rows, written once as CSV and once as Parquet. `measure`
runs the whole section.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from harness import median, peak_rss_mb, run_task
from pipeline import file_day, log_files
from scales import END, SEED

LOG_FORMATS = {  # source: how DuckDB reads its files
    "bimo-gateway": "read_json({files}, format='newline_delimited', ignore_errors=true)",
    "litellm": "read_json({files}, format='array', ignore_errors=true)",
    "otel-genai": "read_json({files}, format='newline_delimited', ignore_errors=true)",
    "cli-log": "read_json({files}, format='newline_delimited', ignore_errors=true)",
}
BILLING_FORMATS = {
    "focus-csv": "read_csv({files}, all_varchar=true)",
    "focus-parquet": "read_parquet({files})",
}
DESCRIPTION = {
    "bimo-gateway": "JSON Lines, every 7th day gzip",
    "litellm": "one JSON array per file",
    "otel-genai": "OTLP JSON Lines (spans)",
    "cli-log": "JSON Lines",
    "focus-csv": "FOCUS 1.x CSV",
    "focus-parquet": "FOCUS 1.x Parquet",
}
VARIANTS = ("bimo", "duckdb", "dlt_dicts")


def sample_files(landing: Path, fmt: str, days: tuple[str, str] | None = None) -> list[str]:
    if fmt in LOG_FORMATS:
        return [str(f) for f in log_files(landing, days, (fmt,))[fmt]]
    folder = landing / fmt
    return sorted(str(f) for f in folder.iterdir() if f.is_file())


def make_billing_samples(landing: str, rows: int) -> dict:
    """A FOCUS export of the demo replicated to `rows` rows, as CSV and as Parquet (all text
    columns, as exports are), under `<landing>/focus-csv/` and `<landing>/focus-parquet/`."""
    import duckdb

    root = Path(landing)
    source = sorted((root / "billing" / "focus-gcp").glob("*.csv"))[-1]
    con = duckdb.connect()
    con.execute(f"create table src as select * from read_csv('{source}', all_varchar=true)")
    n = con.sql("select count(*) from src").fetchall()[0][0]
    copies = max(1, -(-rows // n))
    # distinct resource ids per copy, so the Parquet file does not shrink to one copy's size
    con.execute(
        f"create table big as select src.* replace (case when ResourceId is null or ResourceId "
        f"= 'NULL' then ResourceId else ResourceId || '-' || c.range end as ResourceId) "
        f"from src, range({copies}) as c limit {rows}"
    )
    out = {}
    for fmt, ext, opts in (
        ("focus-csv", "csv", "(header true)"),
        ("focus-parquet", "parquet", "(format parquet)"),
    ):
        folder = root / fmt
        folder.mkdir(exist_ok=True)
        path = folder / f"{source.stem}.{ext}"
        con.execute(f"copy big to '{path}' {opts}")
        out[fmt] = {
            "rows": con.sql("select count(*) from big").fetchall()[0][0],
            "bytes": path.stat().st_size,
        }
    return out


def _fresh(work: str) -> Path:
    import shutil

    path = Path(work)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _size(files: list[str]) -> int:
    return sum(os.path.getsize(f) for f in files)


def run_bimo(fmt: str, files: list[str], work: str) -> dict:
    """The product's loader: parse + validate + quarantine + dlt (Arrow) merge into DuckDB."""
    from pipeline import settings_for

    settings = settings_for(_fresh(work))
    if fmt in LOG_FORMATS:
        from ingestion.load import load_files

        summary = load_files({fmt: [Path(f) for f in files]}, settings=settings)
        return {"rows": summary.rows_loaded, "bytes": _size(files)}
    from ingestion.billing.files import FILE_SOURCES
    from ingestion.billing.load import load_billing

    summary = load_billing([FILE_SOURCES["focus"](Path(f)) for f in files], settings=settings)
    return {"rows": summary.line_items, "bytes": _size(files)}


def run_duckdb(fmt: str, files: list[str], work: str) -> dict:
    """DuckDB reading the files itself into a table: no validation, no quarantine, no dedupe."""
    import duckdb

    reader = {**LOG_FORMATS, **BILLING_FORMATS}[fmt].format(files=repr(files))
    con = duckdb.connect(str(_fresh(work) / "native.duckdb"))
    con.execute(f"create table t as select * from {reader}")
    rows = con.sql("select count(*) from t").fetchall()[0][0]
    con.close()
    (Path(work) / "native.duckdb").unlink()  # large at scale; only the timing is kept
    return {"rows": rows, "bytes": _size(files)}


def native_history(source: str, landing: str, days: list[str], work: str) -> dict:
    """DuckDB natively loading the history files of one log source at a scale (beside Bimo's
    load of the same files in the end-to-end run)."""
    return run_duckdb(source, sample_files(Path(landing), source, tuple(days)), work)


def run_dlt_dicts(fmt: str, files: list[str], work: str) -> dict:
    """The same parser, rows handed to dlt as Python dicts with its default loader
    (insert_values), same write disposition as Bimo's."""
    import dlt
    import duckdb

    from ingestion.dlt_settings import configure_dlt

    configure_dlt()
    path = _fresh(work)
    if fmt in LOG_FORMATS:
        from ingestion.source import parse_files

        def batches():
            for batch in parse_files(fmt, [Path(f) for f in files]):
                if hasattr(batch, "to_pylist") and batch.num_rows:
                    yield from batch.to_pylist()

        hints = {"write_disposition": "merge", "primary_key": "request_id"}
    else:
        from ingestion.billing.files import FILE_SOURCES

        def batches():
            for f in files:
                yield from FILE_SOURCES["focus"](Path(f)).line_items.to_pylist()

        hints = {
            "write_disposition": {"disposition": "merge", "strategy": "delete-insert"},
            "merge_key": "delivery_key",
        }
    pipeline = dlt.pipeline(
        pipeline_name="bench_dicts",
        destination=dlt.destinations.duckdb(str(path / "dicts.duckdb")),
        dataset_name="raw",
        pipelines_dir=str(path / "dlt"),
    )
    pipeline.run(dlt.resource(batches(), name="rows", **hints))
    con = duckdb.connect(str(path / "dicts.duckdb"), read_only=True)
    rows = con.sql("select count(*) from raw.rows").fetchall()[0][0]
    con.close()
    return {"rows": rows, "bytes": _size(files)}


def day_span(files: list[str]) -> str:
    days = sorted(d for f in files if (d := file_day(Path(f))))
    return f"{days[0]} .. {days[-1]}" if days else ""


def measure(
    work: Path,
    *,
    n: int,
    dict_n: int,
    rows: int,
    billing_rows: int,
    formats: list[str],
    log=print,
) -> dict:
    """Section 1: each format's files loaded by Bimo, by DuckDB natively and by dlt's dict path;
    repetitions interleave the variants so machine load hits them alike."""
    landing = work / "ingest" / "landing"
    gen = run_task(
        "pipeline:generate_data",
        landing=str(landing),
        days=30,
        requests_per_day=max(300, rows // 4),
        seed=SEED,
        end=END.isoformat(),
    )
    samples = run_task(
        "ingest_formats:make_billing_samples", landing=str(landing), rows=billing_rows
    )["result"]
    per_day = {f: gen["result"]["counts"][f] / 30 for f in LOG_FORMATS}
    out = {}
    for fmt in [f for f in [*LOG_FORMATS, *samples] if f in formats]:
        days = None
        if fmt in LOG_FORMATS:
            k = max(1, min(30, -(-rows // max(1, int(per_day[fmt])))))
            days = ((END - timedelta(days=k - 1)).isoformat(), END.isoformat())
        files = sample_files(landing, fmt, days)
        runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
        for rep in range(n):
            for variant in VARIANTS:
                if variant == "dlt_dicts" and rep >= dict_n:
                    continue
                log(f"ingestion {fmt} {variant} {rep + 1}/{n}")
                runs[variant].append(
                    run_task(
                        f"ingest_formats:run_{variant}",
                        fmt=fmt,
                        files=files,
                        work=str(work / "ingest" / "w"),
                    )
                )
        out[fmt] = _ingest_summary(fmt, files, runs)
    return {"formats": out, "n": n, "dict_n": dict_n}


def _ingest_summary(fmt: str, files: list[str], runs: dict[str, list[dict]]) -> dict:
    out = {"description": DESCRIPTION[fmt], "files": len(files), "days": day_span(files)}
    # Rates use the rows Bimo loads for every variant: DuckDB counts top-level JSON values
    # (an OTLP line holds many spans), so its own count is kept apart as `rows_read`.
    rows = runs["bimo"][0]["result"]["rows"]
    for variant, reports in runs.items():
        secs = median([r["seconds"] for r in reports])
        size = reports[0]["result"]["bytes"]
        out[variant] = {
            "n": len(reports),
            "rows": rows,
            "rows_read": reports[0]["result"]["rows"],
            "bytes": size,
            "seconds": round(secs, 3),
            "seconds_runs": [r["seconds"] for r in reports],
            "rows_per_s": round(rows / secs),
            "mb_per_s": round(size / 2**20 / secs, 2),
            "peak_rss_mb": max(peak_rss_mb(r) for r in reports),
        }
    # same files, same invocation: a throughput ratio is the inverse ratio of the times
    for variant, key, digits in (
        ("duckdb", "bimo_vs_duckdb", 4),
        ("dlt_dicts", "bimo_vs_dicts", 2),
    ):
        if variant in out:
            out[key] = round(out[variant]["seconds"] / out["bimo"]["seconds"], digits)
    return out


def dicts_at_scale(scale: dict, work: Path, source: str = "bimo-gateway", log=print) -> dict:
    """Bimo vs dlt's dict path on one source's whole history at a scale (n=1 each: the dict
    path takes minutes there), interleaved in one invocation."""
    from scales import SCALES

    files = sample_files(Path(scale["landing"]), source, SCALES[scale["scale"]].history)
    runs: dict[str, list[dict]] = {}
    for variant in ("bimo", "dlt_dicts"):
        log(f"dict path at scale {scale['scale']}: {source} {variant}")
        report = run_task(
            f"ingest_formats:run_{variant}", fmt=source, files=files, work=str(work / "dicts")
        )
        runs[variant] = [report]
    out = _ingest_summary(source, files, runs)
    return {"scale": scale["scale"], "source": source, **out}
