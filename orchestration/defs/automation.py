"""Jobs and schedules, declared in one place."""

import dagster as dg

from orchestration.defs.billing import billing_assets, current_month
from orchestration.defs.partitions import daily_partitions, monthly_partitions

LOGS_AND_MARTS = dg.AssetSelection.all() - dg.AssetSelection.assets(billing_assets)

daily_job = dg.define_asset_job(
    "bimo_daily",
    selection=LOGS_AND_MARTS,
    partitions_def=daily_partitions,
    description="Load the day's logs, rebuild the marts, recompute anomalies and forecasts.",
)

billing_job = dg.define_asset_job(
    "bimo_billing",
    selection=dg.AssetSelection.assets(billing_assets),
    partitions_def=monthly_partitions,
    description="Load a billing month: export deliveries and the AI providers' cost/usage APIs.",
)

daily_schedule = dg.build_schedule_from_partitioned_job(daily_job, hour_of_day=2, minute_of_hour=0)


@dg.schedule(job=billing_job, cron_schedule="0 1 * * *", execution_timezone="UTC")
def billing_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Every day, reload the current billing month: month-to-date exports are re-delivered daily
    and recent API days are provisional."""
    return dg.RunRequest(partition_key=current_month(context.scheduled_execution_time.date()))
