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
from orchestration.defs.automation import billing_job, billing_schedule, daily_job, daily_schedule
from orchestration.defs.billing import billing_assets, reconciliation_variance
from orchestration.defs.dbt import bimo_dbt_assets, dbt_resource
from orchestration.defs.ingestion import gateway_log_assets
from orchestration.defs.insights import insights
from orchestration.defs.saas import saas_assets

defs = dg.Definitions(
    assets=[
        gateway_log_assets,
        billing_assets,
        saas_assets,
        bimo_dbt_assets,
        cost_anomalies,
        cost_forecast,
        cost_projections,
        forecast_accuracy,
        budget_status,
        alerts,
        insights,
    ],
    asset_checks=[reconciliation_variance],
    jobs=[daily_job, billing_job],
    schedules=[daily_schedule, billing_schedule],
    sensors=[alert_delivery_sensor],
    resources={"dlt": DagsterDltResource(), "dbt": dbt_resource()},
)
