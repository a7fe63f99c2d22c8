"""Run the whole asset graph through Dagster for a date range, in one run (what `make demo` and
`bimo run` do; the Dagster UI shows the run when DAGSTER_HOME is set)."""

from datetime import date

import dagster as dg

PARTITION_RANGE_START = "dagster/asset_partition_range_start"
PARTITION_RANGE_END = "dagster/asset_partition_range_end"


def run_range(start: date, end: date, *, log_level: str = "WARNING") -> dg.ExecuteInProcessResult:
    """Materialise every asset for the daily partitions start..end (inclusive) in one run."""
    from orchestration.definitions import defs

    job = defs.resolve_job_def("bimo_daily")
    instance = dg.DagsterInstance.get() if _has_home() else dg.DagsterInstance.ephemeral()
    return job.execute_in_process(
        instance=instance,
        tags={PARTITION_RANGE_START: start.isoformat(), PARTITION_RANGE_END: end.isoformat()},
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        raise_on_error=False,
    )


def _has_home() -> bool:
    import os

    return bool(os.environ.get("DAGSTER_HOME"))
