"""Analytics assets: thin wrappers over `bimo.analytics` (which never imports Dagster)."""

import dagster as dg

from bimo.analytics.run import compute_anomalies, compute_forecast, store
from bimo.warehouse import write_connection

MARTS = [dg.AssetKey(["marts", "fct_daily_cost"]), dg.AssetKey(["marts", "fct_llm_usage_daily"])]
ANALYTICS_ASSET = {
    "deps": MARTS,
    "group_name": "analytics",
    "owners": ["team:finops"],
    "kinds": {"statsforecast", "polars", "duckdb"},
    "pool": "warehouse_writer",
}


@dg.asset(key=["analytics", "cost_anomalies"], **ANALYTICS_ASSET)
def cost_anomalies(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Days whose cost (total, per provider, per model) or error rate (total, per provider) is
    far from a seasonal expectation, per source tag, with bounds, severity and $ impact."""
    with write_connection() as con:
        frame = compute_anomalies(con)
        rows = store(con, "cost_anomalies", frame)
    context.log.info(f"{rows} anomalies")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "high_severity": int((frame["severity"] == "high").sum()) if rows else 0,
        }
    )


@dg.asset(key=["analytics", "cost_forecast"], **ANALYTICS_ASSET)
def cost_forecast(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """30-day cost forecast per source tag, in total and per provider (80 % and 95 % bands)."""
    with write_connection() as con:
        frame = compute_forecast(con)
        rows = store(con, "cost_forecast", frame)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})
