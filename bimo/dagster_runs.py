"""`bimo run` and `bimo backfill`: the Dagster jobs for a date range, one run per job and range
(`orchestration.run.run_range`), with a progress bar and a summary.

Progress follows the runs' own events: each job's bar counts the assets materialised out of
those the run plans (dbt reports every model as it finishes), and names the step that is
running. dbt's console output and every Dagster event go to a log file beside the warehouse
(`logs/bimo-<command>-<time>.log`) so they do not break the bar.

Sources map to the loads a run performs: a gateway source reloads the gateway logs, a billing
source the billing months, a SaaS source the SaaS snapshots and invoices (each step reads
every file of its kind in the landing folder: loads merge on request id or replace by delivery,
so the other files change nothing); then the marts and analytics are rebuilt. `all` runs both
jobs in full. Running the same range twice changes nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bimo.settings import PROJECT_ROOT, Settings
from bimo.source_health import SOURCES

LOAD_OF_KIND = {"gateway": "gateway", "export": "billing", "api": "billing", "saas": "saas",
                "invoice": "saas"}  # fmt: skip


def loads_for(source: str) -> list[str] | None:
    """The raw loads a backfill of `source` runs (None: all of them, for `all`)."""
    if source == "all":
        return None
    kinds = {s.name: s.kind for s in SOURCES}
    if source not in kinds:
        raise ValueError(f"unknown source {source!r}")
    return [LOAD_OF_KIND[kinds[source]]]


def check_range(settings: Settings, start: date, end: date) -> None:
    """Raise ValueError unless start..end is a range of existing daily partitions."""
    today = datetime.now(UTC).date()
    if start > end:
        raise ValueError(f"--start {start} is after --end {end}")
    if start < settings.start_date:
        raise ValueError(
            f"--start {start} is before the first partition {settings.start_date} (BIMO_START_DATE)"
        )
    if end > today:
        raise ValueError(f"--end {end} is in the future (today is {today}, UTC)")


def prepare_environment(settings: Settings) -> None:
    """What the assets read: the warehouse, and the Dagster instance `bimo ui` shows."""
    os.environ["BIMO_WAREHOUSE"] = str(settings.warehouse)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    if not os.environ.get("DAGSTER_HOME") and (PROJECT_ROOT / "dagster_home").is_dir():
        os.environ["DAGSTER_HOME"] = str(PROJECT_ROOT / "dagster_home")


class RunProgress:
    """A bar per job, fed by the runs' events; keeps what the summary needs."""

    def __init__(self, progress: Progress, log, totals: dict[str, int], label: dict[str, str]):
        self.progress, self.log = progress, log
        self.tasks = {
            job: progress.add_task(label[job], total=n, step="") for job, n in totals.items()
        }
        self.started: dict[str, float] = {}
        self.finished: dict[str, float] = {}
        self.materialized: dict[str, set] = defaultdict(set)  # a range run: one event per day
        self.errors: dict[str, list[str]] = defaultdict(list)

    def __call__(self, job: str, entry) -> None:
        stamp = datetime.fromtimestamp(entry.timestamp, UTC).strftime("%H:%M:%S")
        level = logging.getLevelName(entry.level) if isinstance(entry.level, int) else entry.level
        self.log.write(f"{stamp} {job} {level} {entry.user_message or ''}\n")
        event = entry.dagster_event
        if event is None:
            return
        self.started.setdefault(job, entry.timestamp)
        self.finished[job] = entry.timestamp
        kind, task = event.event_type_value, self.tasks[job]
        if kind == "ASSET_MATERIALIZATION":
            self.materialized[job].add(event.asset_key)
            self.progress.update(task, completed=len(self.materialized[job]))
        elif kind == "STEP_START":
            self.progress.update(task, step=event.step_key)
        elif kind in ("STEP_FAILURE", "STEP_UP_FOR_RETRY"):
            error = event.event_specific_data.error
            if error is not None:
                self.log.write(error.to_string() + "\n")
                self.errors[job].append(f"{event.step_key}: {root_cause(error)}")
            if kind == "STEP_UP_FOR_RETRY":
                self.progress.update(task, step=f"{event.step_key} (retrying)")
        elif kind == "RUN_SUCCESS":
            total = self.progress.tasks[task].total
            self.progress.update(task, completed=total, step="[green]done[/]")
        elif kind == "RUN_FAILURE":
            self.progress.update(task, step="[red]failed[/]")


def root_cause(error) -> str:
    """The first line of the innermost cause of a Dagster error (what actually went wrong)."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip().splitlines()[0] if error.message.strip() else error.cls_name


def run_jobs(
    settings: Settings,
    start: date,
    end: date,
    *,
    loads: list[str] | None,
    console: Console,
    command: str = "run",
) -> int:
    """Run the jobs for start..end with a progress bar; print a summary; 0 when all succeeded."""
    from orchestration.run import job_assets, run_range

    prepare_environment(settings)
    jobs = ["bimo_daily"]
    if loads is None or "billing" in loads:
        jobs.insert(0, "bimo_billing")
    first, last = start.replace(day=1), end.replace(day=1)
    label = {
        "bimo_billing": f"bimo_billing {first:%Y-%m} .. {last:%Y-%m}",
        "bimo_daily": f"bimo_daily {start} .. {end}",
    }
    totals = {job: len(job_assets(job, loads)) for job in jobs}
    log_dir = settings.warehouse.parent / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"bimo-{command}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.log"
    began = time.monotonic()
    bar_console = Console(file=sys.stdout, width=console.width)
    with (
        open(log_path, "w", encoding="utf-8") as log,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[step]}"),
            console=bar_console,
            redirect_stdout=False,
            redirect_stderr=False,
        ) as progress,
    ):
        tracker = RunProgress(progress, log, totals, label)
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            results = run_range(start, end, log_level="CRITICAL", loads=loads, on_event=tracker)
    ok = len(results) == len(jobs) and all(r.success for r in results)
    _summary(console, results, tracker, jobs, label, log_path, time.monotonic() - began)
    return 0 if ok else 1


def _summary(console: Console, results, tracker, jobs, label, log_path: Path, took: float) -> None:
    from rich.markup import escape

    runs = Table(title="Dagster runs")
    for col in ("job and range", "run id", "result", "seconds", "assets"):
        runs.add_column(col, justify="right" if col in ("seconds", "assets") else "left")
    loaded = Table(title="Raw tables loaded")
    loaded.add_column("table")
    loaded.add_column("rows", justify="right")
    failures: list[str] = []
    for result in results:
        job = result.job_def.name
        seconds = tracker.finished.get(job, 0) - tracker.started.get(job, 0)
        ok = "[green]succeeded[/]" if result.success else "[red]failed[/]"
        materializations = result.get_asset_materialization_events()
        assets = len({e.asset_key for e in materializations})
        runs.add_row(label[job], result.run_id[:8], ok, f"{seconds:.0f}", str(assets))
        for key, event in {e.asset_key: e for e in materializations}.items():
            rows = event.materialization.metadata.get("dagster/row_count")
            if key.path[0].startswith("raw_") and rows is not None:
                loaded.add_row(key.to_user_string(), f"{rows.value:,}")
        if not result.success:
            failures += [f"{job} {e}" for e in dict.fromkeys(tracker.errors[job])] or [
                f"{job}: {e.message}" for e in result.all_events if e.is_failure
            ]
    console.print(runs)
    if loaded.row_count:
        console.print(loaded)
    for failure in failures:
        console.print(f"[red]{escape(failure)}[/]", highlight=False)
    skipped = [job for job in jobs if job not in {r.job_def.name for r in results}]
    if skipped:
        console.print(f"not run after the failure: {', '.join(sorted(skipped))}")
    ok = len(results) == len(jobs) and all(r.success for r in results)
    verdict = "[green]done[/]" if ok else "[red]failed[/]"
    console.print(f"{verdict} in {took:.0f}s; dbt output and Dagster events: {log_path}")
