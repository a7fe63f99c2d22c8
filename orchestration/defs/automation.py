"""Jobs and schedules, declared in one place."""

import dagster as dg

from orchestration.defs.partitions import daily_partitions

daily_job = dg.define_asset_job(
    "bimo_daily",
    selection=dg.AssetSelection.all(),
    partitions_def=daily_partitions,
    description="Load the day's logs, rebuild the marts, recompute anomalies and forecasts.",
)

daily_schedule = dg.build_schedule_from_partitioned_job(daily_job, hour_of_day=2, minute_of_hour=0)
