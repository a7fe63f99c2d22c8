"""SQL page: one read-only query on the warehouse's read copy through the same sandbox as
`bimo sql` (`bimo.sql.run_query`), with a row and a time limit; the result downloads as CSV.
The sidebar lists every schema, table and column; example queries are one click away."""

from __future__ import annotations

import streamlit as st

from app import components as ui
from app import data, data_sql

EXAMPLES: dict[str, str] = {
    "Spend per day and tag": (
        "select charge_date, source_tag, sum(cost_usd) as usd\n"
        "from marts.fct_daily_cost\ngroup by all\norder by charge_date desc, source_tag\n"
        "limit 30"
    ),
    "Top models (prod, 30 days)": (
        "select provider, model, sum(requests) as requests, sum(estimated_cost_usd) as usd\n"
        "from marts.fct_llm_usage_daily\n"
        "where source_tag = 'prod' and usage_date >= current_date - 30\n"
        "group by all\norder by usd desc nulls last\nlimit 20"
    ),
    "Open anomalies": (
        "select anomaly_date, source_tag, metric, series_level, series_key, severity, "
        "impact_usd\nfrom analytics.cost_anomalies\nwhere status = 'open'\n"
        "order by anomaly_date desc, impact_usd desc"
    ),
    "Estimate vs invoice": (
        "select period_start as month, provider, prod_estimate_usd, billing_usd, variance_pct\n"
        "from marts.fct_reconciliation\nwhere period_grain = 'month' and model is null\n"
        "order by month desc, provider"
    ),
    "Quarantine reasons": (
        "select source, reason, count(*) as rows\nfrom raw_gateway.quarantine\n"
        "group by all\norder by rows desc"
    ),
}
SANDBOX = (
    "Read-only and sandboxed, like `bimo sql`: one SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW "
    "or SUMMARIZE. Writes, reading files or URLs, COPY, ATTACH, INSTALL/LOAD, PRAGMA, SET and "
    "several statements are refused."
)


def _use_example(sql: str) -> None:
    st.session_state["sql"] = sql


def _run() -> None:
    st.session_state["sql_ran"] = (
        st.session_state.get("sql") or "",
        int(st.session_state.get("sql_limit") or 1000),
        float(st.session_state.get("sql_timeout") or 30),
    )


def _catalogue() -> None:
    """Every schema, table and column of the warehouse, in the sidebar."""
    tables = data_sql.catalogue()
    with st.sidebar:
        st.subheader("Tables")
        if tables.is_empty():
            st.caption("No tables yet.")
            return
        for schema in tables["schema"].unique(maintain_order=True):
            part = tables.filter(tables["schema"] == schema)
            with st.expander(f"{schema} ({part.height})"):
                for row in part.iter_rows(named=True):
                    st.markdown(f"**{row['table']}**")
                    st.caption(", ".join(row["columns"]))


def render() -> None:
    """Draw the SQL page."""
    st.title("SQL")
    if not data.warehouse_published():
        st.info(data.NO_DATA_MESSAGE)
        return
    _catalogue()
    st.caption("Examples (click to load):")
    cols = st.columns(len(EXAMPLES))
    for i, (col, (name, sql)) in enumerate(zip(cols, EXAMPLES.items(), strict=True)):
        col.button(name, key=f"example_{i}", on_click=_use_example, args=(sql,), type="tertiary")
    st.text_area(
        "Query",
        key="sql",
        height=180,
        placeholder="select * from marts.fct_daily_cost limit 10",
        bind="query-params",
    )
    c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
    c1.number_input("Row limit", 1, 100_000, 1_000, step=1_000, key="sql_limit")
    c2.number_input("Time limit (s)", 1, 300, 30, key="sql_timeout")
    c3.button("Run", key="sql_run", type="primary", icon=":material/play_arrow:", on_click=_run)
    st.caption(SANDBOX)
    ran = st.session_state.get("sql_ran")
    if not ran or not ran[0].strip():
        return
    sql, limit, timeout_s = ran
    try:
        with st.spinner("Running…"):
            result = data_sql.run(sql, limit=limit, timeout_s=timeout_s)
    except data_sql.QueryError as exc:
        st.error(f"Not run: {exc}", icon=":material/block:")
        return
    note = " (the row limit: there may be more)" if result.height >= limit else ""
    st.caption(f"{result.height:,} rows × {result.width} columns{note}.")
    ui.table(result, "query")


render()
