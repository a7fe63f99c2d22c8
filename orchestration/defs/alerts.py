"""Budgets and alerts: two thin assets over `bimo.alerts`, and the sensor that delivers alerts."""

import dagster as dg

from bimo.alerts.channels import load_channels
from bimo.alerts.config import load_budgets
from bimo.alerts.deliver import deliver_pending
from bimo.alerts.run import refresh_alerts, refresh_budget_status
from bimo.settings import get_settings
from bimo.warehouse import write_connection
from orchestration.defs.publishing import publish_rule

ALERTS_ASSET = {
    "group_name": "analytics",
    "owners": ["team:finops"],
    "kinds": {"polars", "duckdb"},
    "pool": "warehouse_writer",
}


@dg.asset(
    key=["analytics", "budget_status"],
    deps=[dg.AssetKey(["marts", "fct_daily_cost"]), dg.AssetKey(["analytics", "cost_forecast"])],
    **ALERTS_ASSET,
)
def budget_status(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Each budget of `budgets.yml` in its current period: spent to date, % used, forecast at
    period end (cost forecast or run rate), days until exceeded and risk."""
    settings = get_settings()
    config = load_budgets(settings=settings)
    with write_connection(settings, publish=publish_rule(context)) as con:
        frame = refresh_budget_status(con, config)
    context.log.info(f"{frame.height} budgets from {config.path or 'no budgets file'}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": frame.height,
            "high_risk": int((frame["risk"] == "high").sum()),
            "budgets_file": str(config.path or ""),
        }
    )


@dg.asset(
    key=["analytics", "alerts"],
    deps=[
        budget_status,
        dg.AssetKey(["analytics", "cost_anomalies"]),
        dg.AssetKey(["marts", "fct_daily_cost"]),
    ],
    **ALERTS_ASSET,
)
def alerts(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Budget thresholds crossed, forecast overruns, open anomalies and spend spikes, appended
    once per dedupe key; the `bimo_alert_delivery` sensor sends them."""
    settings = get_settings()
    config = load_budgets(settings=settings)
    with write_connection(settings, publish=publish_rule(context)) as con:
        new = refresh_alerts(con, config)
    context.log.info(f"{new.height} new alerts")
    by_kind = new.group_by("kind").len().rows() if new.height else []
    return dg.MaterializeResult(
        metadata={"new_alerts": new.height, **{f"new_{k}": n for k, n in by_kind}}
    )


@dg.sensor(
    name="bimo_alert_delivery",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Delivers new alerts to the channels of alert_channels.yml and retries failed "
    "deliveries with backoff; results are in analytics.alert_deliveries.",
)
def alert_delivery_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    """Sends due deliveries; launches no runs (every tick ends in a skip reason that says what
    it did)."""
    settings = get_settings()
    report = deliver_pending(settings, config=load_channels(settings=settings))
    context.log.info(report.summary())
    return dg.SkipReason(report.summary())
