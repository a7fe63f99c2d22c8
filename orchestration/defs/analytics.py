"""Analytics assets: thin wrappers over `bimo.analytics` (which never imports Dagster)."""

import dagster as dg
import polars as pl

from bimo.analytics.run import (
    POINTS_TABLE,
    compute_accuracy,
    compute_anomalies,
    compute_forecast,
    compute_projections,
    store,
)
from bimo.warehouse import write_connection
from orchestration.defs.publishing import publish_rule

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
    """Days whose spend (total, per provider, service, model, project, team, feature) or AI signal
    (cost per 1k tokens, error rate, unpriced share, cache-hit ratio) is far from a seasonal
    expectation, per source tag and over its complete days only, with bounds, severity, $ impact,
    top driver, first day of the run and ack status (acks survive this recomputation)."""
    with write_connection(publish=publish_rule(context)) as con:
        frame = compute_anomalies(con)
        rows = store(con, "cost_anomalies", frame)
    is_open = frame["status"] == "open"
    context.log.info(f"{rows} anomalies, {int(is_open.sum())} open")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "open": int(is_open.sum()),
            "high_severity_open": int(((frame["severity"] == "high") & is_open).sum()),
        }
    )


@dg.asset(key=["analytics", "cost_forecast"], **ANALYTICS_ASSET)
def cost_forecast(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """90-day daily cost forecast per source tag, in total and per provider (ensemble of AutoETS
    and AutoTheta, 80 % and 95 % bands; `horizon_day` cuts 30/60/90 days), extended to the end
    of the quarter when that is further."""
    with write_connection(publish=publish_rule(context)) as con:
        frame = compute_forecast(con)
        rows = store(con, "cost_forecast", frame)
    series = pl.struct("source_tag", "series_level", "series_key").n_unique()
    models = dict(frame.group_by("model_name").agg(series).rows())
    context.log.info(f"{rows} forecast rows; series per model: {models}")
    return dg.MaterializeResult(
        metadata={"dagster/row_count": rows, "horizon_days": _max(frame, "horizon_day")}
    )


@dg.asset(
    key=["analytics", "cost_projections"],
    **{**ANALYTICS_ASSET, "deps": [*MARTS, cost_forecast.key], "kinds": {"polars", "duckdb"}},
)
def cost_projections(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """End-of-month and end-of-quarter spend projections per source tag, in total and per
    provider: actual to date + forecast of the remaining days, with 80 % and 95 % bounds (sums
    of the daily bounds)."""
    with write_connection(publish=publish_rule(context)) as con:
        frame = compute_projections(con)
        rows = store(con, "cost_projections", frame)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})


@dg.asset(key=["analytics", "forecast_accuracy"], **ANALYTICS_ASSET)
def forecast_accuracy(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Published accuracy of the cost forecast: a rolling-origin backtest (4 origins on Sundays
    7 days apart, 30 days ahead) per series with MASE, WAPE, bias, interval coverage and skill,
    for Bimo's model beside seasonal naive and a linear trend ± 20 %. Its points are kept in
    `analytics.forecast_backtest_points`; an origin whose days are unchanged reuses them."""
    with write_connection(publish=publish_rule(context)) as con:
        backtest = compute_accuracy(con)
        store(con, POINTS_TABLE, backtest.points)
        frame = backtest.accuracy
        rows = store(con, "forecast_accuracy", frame)
    context.log.info(f"backtest origins: {backtest.origins}, reused unchanged: {backtest.reused}")
    scored = frame.filter(pl.col("mase").is_not_null())
    mase = dict(scored.group_by("method").agg(pl.col("mase").mean()).rows())
    context.log.info(f"{rows} accuracy rows; mean MASE by method: {mase}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "origins_reused": f"{backtest.reused} of {backtest.origins}",
            **{f"mean_mase_{m}": float(v) for m, v in sorted(mase.items())},
        }
    )


def _max(frame: pl.DataFrame, column: str) -> int:
    return int(frame[column].max()) if frame.height else 0
