"""The insights asset: a thin wrapper over `bimo.analytics.insights` (no Dagster in there)."""

import dagster as dg

from bimo.analytics.insights import compute_insights, store_insights
from bimo.warehouse import write_connection
from orchestration.defs.publishing import publish_rule


@dg.asset(
    key=["analytics", "insights"],
    deps=[
        dg.AssetKey(["marts", "fct_daily_cost"]),
        dg.AssetKey(["marts", "fct_llm_requests"]),
        dg.AssetKey(["marts", "fct_saas_idle_seats"]),
        dg.AssetKey(["intermediate", "int_llm_prices"]),
    ],
    group_name="analytics",
    owners=["team:finops"],
    kinds={"polars", "duckdb"},
    pool="warehouse_writer",
)
def insights(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Deterministic, explained findings per source tag over the last 30 days: provider
    concentration, high growth, feature spikes, models dearer than a similar one, idle SaaS seats
    and unpriced models — each with its threshold, evidence and monthly $ impact."""
    with write_connection(publish=publish_rule(context)) as con:
        frame = compute_insights(con)
        rows = store_insights(con, frame)
    by_kind = frame.group_by("kind").len().sort("kind").rows() if rows else []
    context.log.info(f"{rows} insights: {dict(by_kind)}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "high_severity": int((frame["severity"] == "high").sum()) if rows else 0,
            **{f"kind_{k}": n for k, n in by_kind},
        }
    )
