"""Run the asset graph through Dagster for a date range (what `make demo` and the CLI do; the
Dagster UI shows the runs when DAGSTER_HOME is set): the billing months covering the range in one
run, then the daily logs → marts → analytics job over the range in one run."""

import os
from datetime import date

import dagster as dg

PARTITION_RANGE_START = "dagster/asset_partition_range_start"
PARTITION_RANGE_END = "dagster/asset_partition_range_end"


def _execute(job_name: str, start: str, end: str, log_level: str) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import defs

    instance = (
        dg.DagsterInstance.get()
        if os.environ.get("DAGSTER_HOME")
        else dg.DagsterInstance.ephemeral()
    )
    return defs.resolve_job_def(job_name).execute_in_process(
        instance=instance,
        tags={PARTITION_RANGE_START: start, PARTITION_RANGE_END: end},
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        raise_on_error=False,
    )


def run_range(
    start: date, end: date, *, log_level: str = "WARNING", billing: bool = True
) -> list[dg.ExecuteInProcessResult]:
    """Billing months, then daily partitions start..end (inclusive); stops at the first failure."""
    results = []
    if billing:
        first, last = start.replace(day=1), end.replace(day=1)
        results.append(_execute("bimo_billing", first.isoformat(), last.isoformat(), log_level))
        if not results[-1].success:
            return results
    results.append(_execute("bimo_daily", start.isoformat(), end.isoformat(), log_level))
    return results
