"""Sensors: load export files as they land, and rebuild the marts after a billing load.

`bimo_landing` watches the landing folder (`BIMO_LANDING_DIR`):

| files under | start | partitions |
|---|---|---|
| `<landing>/<log source>/…` | `bimo_gateway` | the files' days and the day before each |
| `<landing>/saas/<source>/…` | `bimo_daily` (covers new log files too) | the files' days |
| `<landing>/billing/<source>[-suffix]/…` | `bimo_billing` | the files' billing months |

(A log file can hold the last requests of the day before its name's day.)

A file's day is the last `YYYY-MM-DD` in its name, else the day it changed (UTC); a billing file's
month comes from its path (`BILLING_PERIOD=2026-10`, `20261001-20261101`, `_202610_`,
`2026-10`), else the month it changed. All days of one kind go to one run (a partition range).
The cursor is the newest change time seen (max of mtime and ctime, so a copy that keeps an old
mtime still counts as new) and the files changed at exactly that time; a file changed in the
last BIMO_LANDING_SETTLE_SECONDS (default 60) waits for the next tick, as it may be half written.
While a run of a job it would start is queued or running, the sensor waits (cursor unchanged).
"""

import json
import os
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg

from bimo.settings import get_settings
from ingestion.formats import FORMATS
from ingestion.readers import JSON_SUFFIXES
from orchestration.defs.automation import (
    active_run,
    billing_job,
    billing_schedule,
    daily_job,
    gateway_job,
    marts_job,
    partition_range,
)
from orchestration.defs.partitions import daily_partitions, monthly_partitions
from orchestration.run import reap_dead_runs

_DAY_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")
_MONTH_IN_PATH = (
    re.compile(r"BILLING_PERIOD=(\d{4})-(\d{2})"),
    re.compile(r"(?<!\d)(\d{4})(\d{2})01-\d{8}(?!\d)"),  # CUR / Azure 20261001-20261101
    re.compile(r"(?<!\d)(\d{4})(\d{2})(?!\d)"),  # FOCUS exports: acme_focus_202610_…
    re.compile(r"(?<!\d)(\d{4})-(\d{2})(?!\d)"),  # invoices-2026-10.csv
)


def settle_seconds() -> float:
    return float(os.environ.get("BIMO_LANDING_SETTLE_SECONDS", "60"))


@dataclass(frozen=True)
class Landed:
    """One landed file: which job loads it, for which day (a billing file: its month's 1st)."""

    kind: str  # gateway | saas | billing
    relpath: str
    changed_ns: int
    day: date


@dataclass
class Cursor:
    """The newest change time seen, and the files changed at exactly that time."""

    changed_ns: int = 0
    relpaths: set[str] = field(default_factory=set)

    @classmethod
    def parse(cls, text: str | None) -> "Cursor":
        if not text:
            return cls()
        raw = json.loads(text)
        return cls(raw["changed_ns"], set(raw["relpaths"]))

    def dump(self) -> str:
        return json.dumps({"changed_ns": self.changed_ns, "relpaths": sorted(self.relpaths)})

    def is_new(self, f: Landed) -> bool:
        return f.changed_ns > self.changed_ns or (
            f.changed_ns == self.changed_ns and f.relpath not in self.relpaths
        )

    def advance(self, files: list[Landed]) -> "Cursor":
        newest = max([self.changed_ns, *(f.changed_ns for f in files)])
        at_newest = {f.relpath for f in files if f.changed_ns == newest}
        return Cursor(newest, at_newest | (self.relpaths if newest == self.changed_ns else set()))


def scan(landing: Path, *, settle_s: float, now: float) -> list[Landed]:
    """Every settled file the ingestion assets read under `landing`, with its kind and day."""
    from ingestion.billing.files import FILE_SOURCES
    from ingestion.saas import SAAS_SOURCES

    found: list[Landed] = []

    def add(kind: str, root: Path, day_of, suffixes: tuple[str, ...] = ("",)) -> None:
        for path in sorted(root.rglob("*")):
            inner = path.relative_to(root)
            if any(p.startswith(".") for p in inner.parts) or not path.name.endswith(suffixes):
                continue
            if not path.is_file():
                continue
            st = path.stat()
            changed_ns = max(st.st_mtime_ns, st.st_ctime_ns)
            if now - changed_ns / 1e9 < settle_s:
                continue
            rel = str(path.relative_to(landing))
            found.append(Landed(kind, rel, changed_ns, day_of(inner, changed_ns)))

    for source in FORMATS:
        if (landing / source).is_dir():
            add("gateway", landing / source, file_day, JSON_SUFFIXES)
    for source in SAAS_SOURCES:
        if (landing / "saas" / source).is_dir():
            add("saas", landing / "saas" / source, file_day)
    billing = landing / "billing"
    if billing.is_dir():
        for folder in sorted(p for p in billing.iterdir() if p.is_dir()):
            if any(folder.name == s or folder.name.startswith(f"{s}-") for s in FILE_SOURCES):
                add("billing", folder, billing_month)
    return found


def file_day(path: Path, changed_ns: int) -> date:
    """The last `YYYY-MM-DD` in the file name, else the UTC day the file changed."""
    for text in reversed(_DAY_IN_NAME.findall(path.name)):
        try:
            return date.fromisoformat(text)
        except ValueError:
            continue
    return datetime.fromtimestamp(changed_ns / 1e9, UTC).date()


def billing_month(path: Path, changed_ns: int) -> date:
    """The billing month a file's path (below its source folder) names, else the UTC month the
    file changed."""
    text = str(path)
    for pattern in _MONTH_IN_PATH:
        for year, month in reversed(pattern.findall(text)):
            if 2000 <= int(year) <= 2100 and 1 <= int(month) <= 12:
                return date(int(year), int(month), 1)
    return datetime.fromtimestamp(changed_ns / 1e9, UTC).date().replace(day=1)


def run_requests(files: list[Landed], *, run_key: str) -> list[dg.RunRequest]:
    """One run per job for the new files: a partition range covering their days or months."""
    by_kind: dict[str, list[date]] = {}
    for f in files:
        by_kind.setdefault(f.kind, []).append(f.day)
    requests = []
    days = [d - timedelta(days=1) for d in by_kind.get("gateway", [])] + by_kind.get("gateway", [])
    if "saas" in by_kind:
        requests.append(_request(daily_job, daily_partitions, days + by_kind["saas"], run_key))
    elif days:
        requests.append(_request(gateway_job, daily_partitions, days, run_key))
    if "billing" in by_kind:
        requests.append(_request(billing_job, monthly_partitions, by_kind["billing"], run_key))
    return [r for r in requests if r is not None]


def _request(job, partitions, days: list[date], run_key: str) -> dg.RunRequest | None:
    """A run of `job` over min(days)..max(days), clipped to the partitions that exist."""
    first = date.fromisoformat(partitions.get_first_partition_key())
    last = date.fromisoformat(partitions.get_last_partition_key())
    start, end = max(min(days), first), min(max(days), last)
    if start > end:
        return None
    if partitions is monthly_partitions:
        start, end = start.replace(day=1), end.replace(day=1)
    tags = {"bimo/trigger": "landing"}
    key = f"{job.name}:{start}:{end}:{run_key}"
    if start == end:
        return dg.RunRequest(run_key=key, job_name=job.name, partition_key=str(start), tags=tags)
    return dg.RunRequest(
        run_key=key, job_name=job.name, tags=tags | partition_range(str(start), str(end))
    )


@dg.sensor(
    name="bimo_landing",
    jobs=[gateway_job, daily_job, billing_job],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts a load when export files land in the landing folder: log files → "
    "bimo_gateway, SaaS files → bimo_daily, billing exports → bimo_billing, for the files' "
    "days or months. Off by default: turn it on in the UI.",
)
def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """Finds the files changed since the cursor and requests one run per job for them."""
    landing = get_settings().landing_dir
    cursor = Cursor.parse(context.cursor)
    new = [f for f in scan(landing, settle_s=settle_seconds(), now=time.time()) if cursor.is_new(f)]
    if not new:
        return dg.SkipReason(f"no new files in {landing}")
    moved = cursor.advance(new)
    requests = run_requests(new, run_key=str(moved.changed_ns))
    for request in requests:
        # the files stay new (cursor unchanged) until that run is done: no stacked runs, and
        # nothing a running load may have read before it changed is skipped
        if run_id := active_run(context, request.job_name):
            return dg.SkipReason(f"{len(new)} new files wait for run {run_id} to finish")
    kinds = sorted({f.kind for f in new})
    context.log.info(f"{len(new)} new files ({', '.join(kinds)}): {len(requests)} runs")
    return dg.SensorResult(run_requests=requests, cursor=moved.dump())


@dg.run_status_sensor(
    name="bimo_marts_after_billing",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[billing_job],
    request_job=marts_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Rebuilds the marts and analytics after a billing load that no nightly "
    "bimo_daily run follows (landing sensor, backfill, manual run).",
)
def marts_after_billing(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
    """A `bimo_marts` run for each successful `bimo_billing` run not started by its schedule."""
    run = context.dagster_run
    if run.tags.get("dagster/schedule_name") == billing_schedule.name:
        return dg.SkipReason("scheduled billing load: the nightly bimo_daily rebuilds the marts")
    return dg.RunRequest(run_key=f"after-{run.run_id}")


@dg.sensor(
    name="bimo_dead_runs",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks failed the runs whose process died (killed, out of memory, the machine "
    "restarted) and frees the warehouse_writer pool slot they held, so later runs do not wait "
    "on it forever. Launches no runs.",
)
def dead_runs_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    """Every minute, whatever schedules are on: `orchestration.run.reap_dead_runs`."""
    reaped = reap_dead_runs(context.instance)
    if reaped:
        context.log.warning(f"marked failed, their process gone: {', '.join(reaped)}")
    return dg.SkipReason(f"{len(reaped)} dead runs marked failed")


SENSORS = [landing_sensor, marts_after_billing, dead_runs_sensor]
