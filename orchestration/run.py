"""Run the asset graph through Dagster for a date range (what `make demo` and the CLI do; the
Dagster UI shows the runs when DAGSTER_HOME is set): the billing months covering the range in one
run, then the daily logs → marts → analytics job over the range in one run.

`loads` narrows a run to some raw loads (`billing`, `gateway`, `saas`; default all): the
billing job runs only for `billing`, and the daily job leaves out the raw assets not asked for
but always rebuilds the marts and analytics. `on_event(job_name, entry)` sees every event of
the runs as it happens (the CLI's progress bar).

A run records the host and process that execute it (`bimo/host`, `bimo/process`): a process that
died mid-run (killed, out of memory, a reboot) never reports its run's end, so the next run here
marks such runs failed and frees the `warehouse_writer` pool slot they still hold — else every
later run would wait for that slot forever."""

import os
import socket
import uuid
from collections.abc import Callable, Collection
from datetime import date
from pathlib import Path

import dagster as dg

PARTITION_RANGE_START = "dagster/asset_partition_range_start"
PARTITION_RANGE_END = "dagster/asset_partition_range_end"
LOADS = ("billing", "gateway", "saas")
RUN_HOST, RUN_PROCESS = "bimo/host", "bimo/process"
UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]

EventHandler = Callable[[str, dg.EventLogEntry], None]


def job_assets(job_name: str, loads: Collection[str] | None = None) -> list[dg.AssetKey]:
    """The assets a run of `job_name` materialises for `loads` (default: all of the job's); the
    daily job leaves out the raw tables (`raw_gateway/*`, `raw_saas/*`) of loads not asked for."""
    from orchestration.definitions import defs

    keys = defs.resolve_job_def(job_name).asset_layer.executable_asset_keys
    skipped = {
        f"raw_{load}" for load in ("gateway", "saas") if loads is not None and load not in loads
    }
    return sorted(k for k in keys if k.path[0] not in skipped)


def _execute(
    job_name: str,
    start: str,
    end: str,
    log_level: str,
    *,
    loads: Collection[str] | None = None,
    on_event: EventHandler | None = None,
) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import defs

    instance = (
        dg.DagsterInstance.get()
        if os.environ.get("DAGSTER_HOME")
        else dg.DagsterInstance.ephemeral()
    )
    reap_dead_runs(instance)
    run_id = str(uuid.uuid4())
    if on_event:
        instance.add_event_listener(run_id, lambda entry: on_event(job_name, entry))
    return defs.resolve_job_def(job_name).execute_in_process(
        instance=instance,
        run_id=run_id,
        asset_selection=None if loads is None else job_assets(job_name, loads),
        tags={
            PARTITION_RANGE_START: start,
            PARTITION_RANGE_END: end,
            RUN_HOST: socket.gethostname(),
            RUN_PROCESS: process_id(os.getpid()),
        },
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        raise_on_error=False,
    )


def reap_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the unfinished runs whose process on this host no longer exists, and free the
    concurrency slots they hold; returns their run ids. A `bimo run` names its process in the
    run's tags; a run the daemon or the UI launched names it in the engine event its process
    reports first (`Started process for run (pid: …)`), judged only when runs are launched as
    local processes (Dagster's default run launcher) and the process started before that event
    (a later one reuses the pid)."""
    host, reaped = socket.gethostname(), []
    for record in instance.get_run_records(dg.RunsFilter(statuses=UNFINISHED)):
        run = record.dagster_run
        gone = ended_process(instance, run, host)
        if gone is None:
            continue  # still running, not started yet, or not ours to judge
        instance.report_run_failed(run, f"{gone} ended without finishing it")
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        reaped.append(run.run_id)
    return reaped


def ended_process(instance: dg.DagsterInstance, run: dg.DagsterRun, host: str) -> str | None:
    """The run's process, named, when it has ended; None while it runs or cannot be judged."""
    recorded = run.tags.get(RUN_PROCESS, "")
    if recorded:
        if run.tags.get(RUN_HOST) != host or process_id(int(recorded.split(":")[0])) == recorded:
            return None
        return f"process {recorded} on {host}"
    if not isinstance(instance.run_launcher, dg.DefaultRunLauncher):
        return None  # its runs may live on other hosts
    worker = worker_process(instance, run.run_id)
    if worker is None:
        return None
    pid, reported_at = worker
    started = process_start(pid)
    if started is not None and started <= reported_at + 2:  # /proc/stat's boot time: whole s
        return None
    return f"process {pid} on {host}"


def worker_process(instance: dg.DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """The pid the run's process reported first, and when it reported it (epoch seconds)."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, limit=20
    ).records
    for record in records:
        event = record.event_log_entry.dagster_event
        data = event.engine_event_data if event else None
        pid = data.metadata.get("pid") if data else None
        if pid is not None:
            return int(pid.value), record.event_log_entry.timestamp
    return None


def process_start(pid: int) -> float | None:
    """When the live process `pid` started (epoch seconds); None when there is none. Without
    /proc (macOS) a live pid counts as started at the epoch: judged alive."""
    recorded = process_id(pid)
    if not recorded:
        return None
    ticks = recorded.split(":")[1]
    if not ticks:
        return 0.0
    stat = Path("/proc/stat").read_text()
    boot = float(next(line.split()[1] for line in stat.splitlines() if line.startswith("btime")))
    return boot + int(ticks) / os.sysconf("SC_CLK_TCK")


def process_id(pid: int) -> str:
    """`<pid>:<start time>` of a live process ("" when there is none): a pid alone can be
    reused by a later process, the pair cannot."""
    if Path("/proc/self/stat").exists():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            return ""
        return f"{pid}:{stat.rsplit(')', 1)[1].split()[19]}"  # field 22: start time
    try:  # no /proc (macOS): the pid being in use is all there is to know
        os.kill(pid, 0)
    except ProcessLookupError:
        return ""
    except PermissionError:
        pass
    return f"{pid}:"


def run_range(
    start: date,
    end: date,
    *,
    log_level: str = "WARNING",
    billing: bool = True,
    loads: Collection[str] | None = None,
    on_event: EventHandler | None = None,
) -> list[dg.ExecuteInProcessResult]:
    """Billing months, then daily partitions start..end (inclusive); stops at the first failure."""
    results = []
    options = {"loads": loads, "on_event": on_event}
    if billing and (loads is None or "billing" in loads):
        first, last = start.replace(day=1), end.replace(day=1)
        results.append(
            _execute("bimo_billing", first.isoformat(), last.isoformat(), log_level, **options)
        )
        if not results[-1].success:
            return results
    results.append(_execute("bimo_daily", start.isoformat(), end.isoformat(), log_level, **options))
    return results
