"""Automation, declared in one place: jobs, schedules, retries and freshness expectations.

| job | what | started |
|---|---|---|
| `bimo_gateway` | a day's gateway logs → the dbt models they feed → budgets, alerts | hourly |
| `bimo_daily` | a whole day: logs, SaaS seats, every dbt model, analytics | 02:00 UTC, yesterday |
| `bimo_billing` | a billing month: exports and the AI cost APIs | 01:00 UTC, this month |
| `bimo_marts` | every dbt model and analytics asset, no load | after a billing load |

The landing sensor (`sensors.py`) also starts the first three when export files land.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg

from orchestration.defs.partitions import daily_partitions, monthly_partitions
from orchestration.run import reap_dead_runs

GATEWAY = dg.AssetSelection.key_prefixes(["raw_gateway"])
BILLING = dg.AssetSelection.key_prefixes(["raw_billing"])
WAREHOUSE = dg.AssetSelection.groups("warehouse")
ANALYTICS = dg.AssetSelection.groups("analytics")
# Budgets and alerts are cheap and worth an hourly refresh; anomalies and forecasts read complete
# days only, so they run nightly.
HOURLY_ANALYTICS = dg.AssetSelection.assets(["analytics", "budget_status"], ["analytics", "alerts"])

# Every source load (gateway, billing, SaaS) retries a failure after 30 s, 60 s and 120 s.
SOURCE_RETRY = dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL)
BILLING_CLOSE_DAYS = 5  # the first days of a month also reload last month (late final exports)

daily_job = dg.define_asset_job(
    "bimo_daily",
    selection=dg.AssetSelection.all() - BILLING,
    partitions_def=daily_partitions,
    description="Load a day's logs and SaaS snapshots, rebuild the marts, recompute anomalies, "
    "forecasts, budgets and alerts.",
)

gateway_job = dg.define_asset_job(
    "bimo_gateway",
    selection=(GATEWAY | (GATEWAY.downstream() & WAREHOUSE) | HOURLY_ANALYTICS),
    partitions_def=daily_partitions,
    description="Load a day's gateway and CLI logs, rebuild the dbt models they feed, refresh "
    "budgets and alerts (hourly for today).",
)

billing_job = dg.define_asset_job(
    "bimo_billing",
    selection=BILLING,
    partitions_def=monthly_partitions,
    description="Load a billing month: export deliveries and the AI providers' cost/usage APIs.",
)

marts_job = dg.define_asset_job(
    "bimo_marts",
    selection=WAREHOUSE | ANALYTICS,
    description="Rebuild every dbt model and analytics asset from the raw tables as they are.",
)


def active_run(
    context: dg.ScheduleEvaluationContext | dg.SensorEvaluationContext, job_name: str
) -> str | None:
    """The id of a queued or running run of `job_name`, if any. Runs whose process died are
    marked failed first (and their pool slots freed), or a tick would wait on them forever."""
    reap_dead_runs(context.instance)
    runs = context.instance.get_run_records(
        dg.RunsFilter(
            job_name=job_name,
            statuses=[
                dg.DagsterRunStatus.QUEUED,
                dg.DagsterRunStatus.NOT_STARTED,
                dg.DagsterRunStatus.STARTING,
                dg.DagsterRunStatus.STARTED,
            ],
        ),
        limit=1,
    )
    return runs[0].dagster_run.run_id if runs else None


@dg.schedule(
    name="bimo_daily_schedule", job=daily_job, cron_schedule="0 2 * * *", execution_timezone="UTC"
)
def daily_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Every night, yesterday as a complete day: its last hours of logs, the SaaS snapshots
    (pulled live when tokens are set), every mart and the analytics."""
    day = context.scheduled_execution_time.date() - timedelta(days=1)
    return dg.RunRequest(partition_key=day.isoformat())


@dg.schedule(
    name="bimo_gateway_hourly",
    job=gateway_job,
    cron_schedule="15 * * * *",
    execution_timezone="UTC",
)
def gateway_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """Every hour, today's gateway logs so far; skipped while the previous one is still queued
    or running (the writer pool runs one at a time; ticks must not pile up behind it)."""
    if run_id := active_run(context, gateway_job.name):
        return dg.SkipReason(f"run {run_id} of {gateway_job.name} is still queued or running")
    return dg.RunRequest(partition_key=context.scheduled_execution_time.date().isoformat())


@dg.schedule(job=billing_job, cron_schedule="0 1 * * *", execution_timezone="UTC")
def billing_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Every day, reload the current billing month (month-to-date exports are re-delivered daily
    and recent API days are provisional); in a month's first days, last month too."""
    first, last = billing_months(context.scheduled_execution_time.date())
    if first == last:
        return dg.RunRequest(partition_key=last)
    return dg.RunRequest(tags=partition_range(first, last))


def billing_months(today: date) -> tuple[str, str]:
    """The first and last billing month a daily billing run reloads."""
    this_month = today.replace(day=1)
    if today.day > BILLING_CLOSE_DAYS:
        return this_month.isoformat(), this_month.isoformat()
    return (this_month - timedelta(days=1)).replace(day=1).isoformat(), this_month.isoformat()


def partition_range(first: str, last: str) -> dict[str, str]:
    """Run tags that hand a range of partitions to one run (every asset is single-run)."""
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


@dataclass(frozen=True)
class Expectation:
    """How late a raw table's last load may be (a Dagster FreshnessPolicy, evaluated by the
    daemon). How old its newest row may be is the sources' expected lag in
    `bimo.source_health` (the `data_freshness` check of `checks.py`, and `bimo status`)."""

    warn_after: timedelta
    fail_after: timedelta


HOURLY = Expectation(timedelta(hours=2), timedelta(hours=6))
DAILY = Expectation(timedelta(hours=26), timedelta(hours=50))
# by dataset, then by table: the most specific entry wins
FRESHNESS: dict[str, Expectation] = {
    "raw_gateway": HOURLY,
    "raw_billing": DAILY,
    "raw_saas": DAILY,
}


def expectation(key: dg.AssetKey) -> Expectation | None:
    """The freshness expectation of a raw table, if it has one."""
    return FRESHNESS.get("/".join(key.path)) or FRESHNESS.get(key.path[0])


def with_freshness(*assets: dg.AssetsDefinition) -> list[dg.AssetsDefinition]:
    """The assets with the FreshnessPolicy of `FRESHNESS` on every raw table."""

    def attach(spec: dg.AssetSpec) -> dg.AssetSpec:
        found = expectation(spec.key)
        if found is None:
            return spec
        policy = dg.FreshnessPolicy.time_window(
            fail_window=found.fail_after, warn_window=found.warn_after
        )
        return spec.replace_attributes(freshness_policy=policy)

    return [a.map_asset_specs(attach) for a in assets]


JOBS = [daily_job, gateway_job, billing_job, marts_job]
SCHEDULES = [daily_schedule, gateway_schedule, billing_schedule]
