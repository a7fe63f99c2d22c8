"""The pipeline stages the end-to-end benchmark times, each one call into product code.

These are the functions `bimo load`, `bimo build` and the Dagster assets call (the assets are thin
wrappers over them), run without Dagster so the figures are the work itself; Dagster adds its own
per-step overhead on top (docs/benchmarks.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from datetime import date
from pathlib import Path

from bimo.settings import DBT_PROJECT_DIR, Settings, get_settings

LOG_SOURCES = ("bimo-gateway", "litellm", "otel-genai", "cli-log")
API_FILES = {
    "openai/costs.json": "openai-costs",
    "openai/usage-completions.json": "openai-usage",
    "anthropic/cost_report.json": "anthropic-costs",
    "anthropic/usage-messages.json": "anthropic-usage",
}
DAY = re.compile(r"(\d{4}-\d{2}-\d{2})")


def settings_for(work: Path) -> Settings:
    return get_settings(Path(work) / "warehouse.duckdb")


def file_day(path: Path) -> date | None:
    """The day in a daily file's name (`requests-2026-10-02.jsonl`, `2026-10-02.json`)."""
    m = DAY.search(path.name)
    return date.fromisoformat(m.group(1)) if m else None


def in_days(files: list[Path], days: tuple[str, str] | None) -> list[Path]:
    """Files whose name's day is in [first, last] (all files when `days` is None)."""
    if days is None:
        return files
    first, last = (date.fromisoformat(d) for d in days)
    return [f for f in files if (d := file_day(f)) is not None and first <= d <= last]


def generate_data(
    landing: str, days: int, requests_per_day: int, seed: int, end: str, gzip_logs: bool = False
) -> dict:
    """`bimo generate`; with `gzip_logs`, every log file is then gzipped (`gzip -1`, one process
    per core, file times kept: the daily asset picks files by when they were written)."""
    from bimo.demo import generate

    out = Path(landing)
    if out.exists():
        shutil.rmtree(out)
    result = generate(
        out, days=days, requests_per_day=requests_per_day, seed=seed, end=date.fromisoformat(end)
    )
    raw = size = _tree_bytes(out)
    if gzip_logs:
        logs = [f for s in LOG_SOURCES for f in sorted((out / s).iterdir())]
        gzip_files([f for f in logs if f.suffix != ".gz"])
        size = _tree_bytes(out)
    return {"requests": result.requests, "counts": result.counts, "bytes": size, "raw_bytes": raw}


def _tree_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def gzip_files(files: list[Path]) -> None:
    """Gzip files in place (`name.gz`, the original removed, its modification time kept)."""
    import subprocess

    procs: list[subprocess.Popen] = []
    for f in files:
        if len(procs) >= (os.cpu_count() or 1) and procs.pop(0).wait():
            raise RuntimeError("gzip failed")
        procs.append(subprocess.Popen(["gzip", "-1", "-n", str(f)]))
    if any(p.wait() for p in procs):
        raise RuntimeError("gzip failed")


def log_files(
    landing: Path, days: tuple[str, str] | None = None, sources: tuple[str, ...] = LOG_SOURCES
) -> dict[str, list[Path]]:
    from ingestion.readers import expand_paths

    return {s: in_days(expand_paths([landing / s]), days) for s in sources}


def load_logs(
    work: str,
    landing: str,
    sources: list[str],
    days: tuple[str, str] | None = None,
    window: tuple[str, str] | None = None,
) -> dict:
    """`bimo load <source> <files>` (one source) or the Dagster gateway asset (every source):
    the sources' files (of `days`) in one dlt run. `window` keeps only rows in [start, end)
    of the files written since it began, as the Dagster daily asset does."""
    from datetime import datetime

    from ingestion.load import load_files
    from ingestion.readers import written_since

    files = log_files(Path(landing), days, tuple(sources))
    bounds = tuple(datetime.fromisoformat(w) for w in window) if window else None
    if bounds and days is None:  # the asset's choice: the files written since the window began
        files = {s: written_since(fs, bounds[0]) for s, fs in files.items()}
    settings = settings_for(Path(work))
    summary = load_files(files, settings=settings, window=bounds)
    return {
        "phases": dlt_phases(settings),
        "rows": summary.rows_loaded,
        "parsed": sum(st.rows for st in summary.stats.values()),
        "records": sum(st.records for st in summary.stats.values()),
        "files": sum(map(len, files.values())),
        "bytes": sum(f.stat().st_size for fs in files.values() for f in fs),
    }


def dlt_phases(settings: Settings) -> dict[str, list[float]]:
    """[start, end] (epoch seconds) of the last dlt run's extract, normalize and load steps
    (the parse runs inside extract: the resources are generators)."""
    from ingestion.load import make_pipeline

    trace = make_pipeline(settings).last_trace
    if trace is None:
        return {}
    return {
        step.step: [step.started_at.timestamp(), step.finished_at.timestamp()]
        for step in trace.steps
        if step.step in ("extract", "normalize", "load") and step.finished_at
    }


def load_billing(work: str, landing: str) -> dict:
    """`bimo load <export source>` for every billing export folder and saved API response."""
    from ingestion.billing.apis import parse_saved
    from ingestion.billing.files import FILE_SOURCES, expand_billing_paths
    from ingestion.billing.load import load_billing as load

    root, parses = Path(landing), []
    for folder in sorted(p for p in (root / "billing").iterdir() if p.is_dir()):
        source = next(
            (s for s in FILE_SOURCES if folder.name == s or folder.name.startswith(f"{s}-")), None
        )
        if source:
            parses += [FILE_SOURCES[source](f) for f in expand_billing_paths([folder])]
    for name, source in API_FILES.items():
        if (root / "billing-api" / name).exists():
            parses.append(parse_saved(source, root / "billing-api" / name))
    summary = load(parses, settings=settings_for(Path(work)))
    return {"rows": summary.line_items + summary.usage_rows, "files": summary.files}


def load_saas(work: str, landing: str, days: tuple[str, str] | None = None) -> dict:
    """`bimo load <saas source>` for the saved seat snapshots (of `days`) and invoices."""
    from ingestion.saas import SAAS_SOURCES, parse_saved
    from ingestion.saas.invoices import SOURCE as INVOICES
    from ingestion.saas.load import load_saas as load

    parses = []
    for source in SAAS_SOURCES:
        folder = Path(landing) / "saas" / source
        if not folder.is_dir():
            continue
        files = sorted(f for f in folder.rglob("*") if f.is_file())
        if source != INVOICES and source != "zoom-daily-report":
            files = in_days(files, days)
        parses += [parse_saved(source, f) for f in files]
    summary = load(parses, settings=settings_for(Path(work)))
    return {"rows": sum(c.loaded for c in summary.sources.values()), "files": len(parses)}


def window_days(window: list[str] | None) -> tuple[date, date] | None:
    """[start, end) ISO strings (as tasks take them, JSON-safe) as dates; None for no window."""
    return (date.fromisoformat(window[0]), date.fromisoformat(window[1])) if window else None


def dbt_build(work: str, target: str, window: list[str] | None = None) -> dict:
    """`bimo build` without the publish: raw tables ensured, `dbt build` (models and tests),
    with its own target and log folders so it never touches the project's. `window` [start,
    end) passes the days as a partitioned Dagster run does (in the environment): the
    per-request models rebuild those days only. Time a windowed build after `dbt_parse` of
    another window, as a daily run finds the cache the day before left."""
    from bimo.dbt_fingerprint import record_full_build
    from bimo.dbt_runner import dbt_build as build
    from bimo.dbt_runner import dbt_build_args
    from bimo.warehouse import writer_lock
    from ingestion.tables import ensure_raw_tables

    settings = settings_for(Path(work))
    days = window_days(window)
    with writer_lock(settings):
        ensure_raw_tables(settings)
        args = ["--target-path", target, "--log-path", f"{target}/logs"]
        result = build(settings, *args, *dbt_build_args(days)[1:], window=days)
        if result.ok and not window:  # as `bimo build` records its full builds
            record_full_build(settings, result.target / "manifest.json")
    if not result.ok:
        raise RuntimeError(f"dbt build failed: {result.failures[:5]}\n{result.output_tail}")
    results = json.loads((Path(target) / "run_results.json").read_text())
    return {"layers": layer_times(results), "elapsed_dbt": results.get("elapsed_time")}


def dbt_parse(work: str, target: str | None = None, window: list[str] | None = None) -> dict:
    """Warm dbt's partial-parse cache in `target` (default: the warehouse's own, which Dagster
    builds in) for this warehouse path, as a project that has built before has it (a changed
    BIMO_WAREHOUSE makes dbt parse everything again). `window` [start, end): as a windowed run
    of those days left it."""
    import os
    import subprocess

    from bimo.dbt_runner import DBT, target_path, window_env

    settings = settings_for(Path(work))
    target = target or str(target_path(settings))
    days = window_days(window)
    env = {**os.environ, **window_env(days), "BIMO_WAREHOUSE": str(settings.warehouse)}
    args = [
        "parse",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        target,
        "--log-path",
        f"{target}/logs",
    ]
    subprocess.run([DBT, *args], check=True, capture_output=True, env=env)
    return {}


def layer_times(run_results: dict) -> dict[str, dict]:
    """Seconds per layer (models by folder; data and unit tests apart) from run_results.json:
    execute time summed over nodes, as dbt runs them one thread at a time here."""
    layers: dict[str, dict] = {}
    for r in run_results["results"]:
        uid = r["unique_id"]
        kind = uid.split(".")[0]
        if kind == "model":
            name = uid.split(".")[-1]
            layer = next((p for p in ("stg_", "int_", "fct_") if name.startswith(p)), "other")
            key = {"stg_": "staging", "int_": "intermediate", "fct_": "marts"}.get(layer, layer)
        else:
            key = {"test": "data tests", "unit_test": "unit tests"}.get(kind, kind)
        execute = sum(
            (t_end(t) - t_start(t)) for t in r.get("timing", []) if t["name"] == "execute"
        )
        entry = layers.setdefault(key, {"nodes": 0, "seconds": 0.0, "slowest": ("", 0.0)})
        entry["nodes"] += 1
        entry["seconds"] += execute
        if execute > entry["slowest"][1]:
            entry["slowest"] = (uid.split(".")[-1], execute)
    for entry in layers.values():
        entry["seconds"] = round(entry["seconds"], 3)
        entry["slowest"] = [entry["slowest"][0], round(entry["slowest"][1], 3)]
    return layers


def _ts(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def t_start(timing: dict) -> float:
    return _ts(timing["started_at"])


def t_end(timing: dict) -> float:
    return _ts(timing["completed_at"])


def analytics(work: str) -> dict:
    """What the analytics, insights and alert assets compute, each step timed (seconds)."""
    from bimo.alerts.config import load_budgets
    from bimo.alerts.run import refresh_alerts, refresh_budget_status
    from bimo.analytics import run
    from bimo.analytics.insights import compute_insights, store_insights
    from bimo.warehouse import connect_with_retry, writer_lock

    settings = settings_for(Path(work))
    steps: dict[str, float] = {}
    rows: dict[str, int] = {}

    def timed(name: str, fn):
        t = time.perf_counter()
        out = fn()
        steps[name] = round(time.perf_counter() - t, 3)
        return out

    with writer_lock(settings):
        con = connect_with_retry(settings.warehouse)
        try:
            frame = timed("anomalies", lambda: run.compute_anomalies(con))
            rows["anomalies"] = run.store(con, "cost_anomalies", frame)
            frame = timed("forecast", lambda: run.compute_forecast(con))
            rows["forecast_rows"] = run.store(con, "cost_forecast", frame)
            rows["forecast_series"] = (
                frame.select("source_tag", "series_level", "series_key").n_unique()
                if frame.height
                else 0
            )
            frame = timed("projections", lambda: run.compute_projections(con))
            run.store(con, "cost_projections", frame)
            backtest = timed("forecast accuracy (backtest)", lambda: run.compute_accuracy(con))
            run.store(con, run.POINTS_TABLE, backtest.points)
            run.store(con, "forecast_accuracy", backtest.accuracy)
            rows["backtest_origins_reused"] = backtest.reused
            rows["backtest_origins"] = backtest.origins
            frame = timed("insights", lambda: compute_insights(con))
            store_insights(con, frame)
            config = load_budgets(settings=settings)
            timed(
                "budgets and alerts",
                lambda: (refresh_budget_status(con, config), refresh_alerts(con, config)),
            )
        finally:
            con.close()
    return {"steps": steps, "rows": rows}


def publish(work: str) -> dict:
    """Publish the read copy the dashboard opens; the warehouse's size on disk."""
    from bimo.warehouse import publish_snapshot

    settings = settings_for(Path(work))
    publish_snapshot(settings)
    return {"warehouse_bytes": settings.warehouse.stat().st_size}


def dagster_day(work: str, landing: str, day: str) -> dict:
    """One new day through Dagster in this one process, as `bimo run` runs it (the billing
    month's job left out, as in the increment): the daily job's gateway and SaaS assets read
    the landing files written since the day began (less a day of clock skew) and keep the day's
    rows, then dbt with the day as its window, analytics, insights, alerts and publish. Seconds
    per step from the run's events."""
    import os

    os.environ["BIMO_WAREHOUSE"] = str(settings_for(Path(work)).warehouse)
    os.environ["BIMO_LANDING_DIR"] = landing
    os.environ.pop("DAGSTER_HOME", None)  # an ephemeral instance: no run history kept
    from orchestration.run import run_range

    started: dict[str, float] = {}
    steps: dict[str, float] = {}

    def on_event(_job: str, entry) -> None:
        event = entry.dagster_event
        if event is None or event.step_key is None:
            return
        if event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            steps[event.step_key] = round(entry.timestamp - started[event.step_key], 3)

    d = date.fromisoformat(day)
    results = run_range(d, d, billing=False, loads=("gateway", "saas"), on_event=on_event)
    if not all(r.success for r in results):
        failed = [k for r in results for k in r.get_failed_step_keys()]
        raise RuntimeError(f"the Dagster run of {day} failed at steps {failed}")
    return {"steps": steps}
