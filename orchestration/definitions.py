"""Bimo's Dagster definitions: assembled here, defined in `orchestration/defs/`."""

import dagster as dg
from dagster_dlt import DagsterDltResource

from orchestration.defs.alerts import alert_delivery_sensor, alerts, budget_status
from orchestration.defs.analytics import (
    cost_anomalies,
    cost_forecast,
    cost_projections,
    forecast_accuracy,
)
from orchestration.defs.automation import JOBS, SCHEDULES, with_freshness
from orchestration.defs.billing import billing_assets, reconciliation_variance
from orchestration.defs.checks import ASSET_CHECKS
from orchestration.defs.dbt import bimo_dbt_assets, dbt_resource
from orchestration.defs.ingestion import gateway_log_assets
from orchestration.defs.insights import insights
from orchestration.defs.publishing import read_copy_asset
from orchestration.defs.saas import saas_assets
from orchestration.defs.sensors import SENSORS

ASSETS = [
    *with_freshness(gateway_log_assets, billing_assets, saas_assets),
    bimo_dbt_assets,
    cost_anomalies,
    cost_forecast,
    cost_projections,
    forecast_accuracy,
    budget_status,
    alerts,
    insights,
]

# Every run executes its steps in its one process, as `bimo run` does. Dagster's default for a
# run the daemon or the UI launches is a process per step, and each step's process imports
# these definitions again (dagster-dbt, dlt and the rest): a day at S took 99 s that way
# against 23 s in one process (docs/benchmarks.md, item 18). Steps that write the warehouse
# run one at a time anyway (the `warehouse_writer` pool), so separate processes ran nothing
# in parallel; dbt and the parse workers still run in their own processes. A run whose process
# dies is marked failed, and its pool slot freed, by the `bimo_dead_runs` sensor (every
# minute, on by default) and by `bimo run` (`orchestration.run.reap_dead_runs`).
defs = dg.Definitions(
    assets=[*ASSETS, read_copy_asset(ASSETS)],
    asset_checks=[reconciliation_variance, *ASSET_CHECKS],
    jobs=JOBS,
    schedules=SCHEDULES,
    sensors=[alert_delivery_sensor, *SENSORS],
    resources={"dlt": DagsterDltResource(), "dbt": dbt_resource()},
    executor=dg.in_process_executor,
)
