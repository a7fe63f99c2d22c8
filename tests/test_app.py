"""Streamlit dashboard tests: `AppTest` runs against small generated warehouses."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from bimo.settings import get_settings
from bimo.warehouse import publish_snapshot

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("fresh_streamlit_cache")]

APP = Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py"
FIRST, LAST = date(2025, 5, 1), date(2025, 6, 20)
DAYS = [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
SERIES = [("openai", "gpt-4o", "search"), ("anthropic", "claude-sonnet-4", "chat")]

DDL = """
create schema marts;
create table marts.fct_daily_cost (
    charge_date date, source_tag varchar, service_category varchar, provider varchar,
    service varchar, model varchar, project varchar, team varchar, environment varchar,
    feature varchar, api_key_id varchar, charge_category varchar, currency varchar,
    cost decimal(38, 12), cost_usd decimal(38, 12), effective_cost_usd decimal(38, 12),
    list_cost_usd decimal(38, 12), requests bigint, unpriced_requests bigint
);
create table marts.fct_llm_usage_daily (
    usage_date date, provider varchar, model varchar, project varchar, team varchar,
    environment varchar, feature varchar, api_key_id varchar, source_tag varchar,
    requests bigint, error_requests bigint, input_uncached_tokens bigint,
    cache_read_tokens bigint, cache_write_tokens bigint, output_tokens bigint,
    reasoning_tokens bigint, total_tokens bigint, latency_p50_ms double, latency_p95_ms double,
    estimated_cost_usd decimal(38, 12), reported_cost_usd decimal(38, 12),
    unpriced_requests bigint, gateway_cache_hits bigint
);
"""
ANALYTICS_DDL = """
create schema analytics;
create table analytics.cost_anomalies (
    anomaly_id varchar, source_tag varchar, metric varchar, series_level varchar,
    series_key varchar, provider varchar, model varchar, anomaly_date date, actual double,
    expected double, lower_bound double, upper_bound double, score double, severity varchar,
    impact_usd double, direction varchar, method varchar, status varchar, detected_at timestamp
);
create table analytics.cost_forecast (
    source_tag varchar, series_level varchar, series_key varchar, provider varchar,
    forecast_date date, model_name varchar, forecast double, lo_80 double, hi_80 double,
    lo_95 double, hi_95 double, trained_through date, generated_at timestamp
);
"""


def _cost(tag: str, series: int, day: int) -> Decimal:
    """The fixture's USD cost of one series on one day: prod grows, dev stays small."""
    if tag == "prod":
        return Decimal("10.25") + Decimal("0.5") * day if series == 0 else Decimal("5.10")
    return Decimal("1.20") if series == 0 else Decimal("0.75")


def _daily_cost() -> pl.DataFrame:
    """A few weeks of daily cost rows for dev and prod."""
    rows = [
        {
            "charge_date": d,
            "source_tag": tag,
            "service_category": "ai",
            "provider": provider,
            "service": provider,
            "model": model,
            "project": project,
            "team": "core",
            "environment": "production" if tag == "prod" else "development",
            "feature": "answer",
            "api_key_id": None,
            "charge_category": "Usage",
            "currency": "USD",
            "cost": _cost(tag, s, i),
            "cost_usd": _cost(tag, s, i),
            "effective_cost_usd": _cost(tag, s, i),
            "list_cost_usd": _cost(tag, s, i),
            "requests": 100,
            "unpriced_requests": 3 if (tag == "prod" and s == 1) else 0,
        }
        for i, d in enumerate(DAYS)
        for tag in ("dev", "prod")
        for s, (provider, model, project) in enumerate(SERIES)
    ]
    money = pl.Decimal(38, 12)
    return pl.DataFrame(
        rows,
        schema_overrides={c: money for c in ("cost", "effective_cost_usd", "list_cost_usd")},
    )


def _build(tmp_path: Path, *, analytics: bool) -> None:
    """Create, fill and publish a fixture warehouse in `tmp_path`."""
    settings = get_settings(tmp_path / "warehouse.duckdb")
    costs = _daily_cost()  # noqa: F841 - read by DuckDB's replacement scan
    con = duckdb.connect(str(settings.warehouse))
    con.execute(DDL)
    con.execute("insert into marts.fct_daily_cost by name select * from costs")
    if analytics:
        con.execute(ANALYTICS_DDL)
        detected = datetime(2025, 6, 21, 6)
        con.execute(
            "insert into analytics.cost_anomalies values"
            " ('anom-1', 'prod', 'cost_usd', 'total', 'total', null, null, ?, 120.0, 45.0,"
            " 35.0, 55.0, 6.1, 'high', 65.0, 'spike', 'mad', 'open', ?),"
            " ('anom-2', 'dev', 'cost_usd', 'model', 'openai/gpt-4o', 'openai', 'gpt-4o', ?,"
            " 0.1, 1.2, 0.9, 1.5, 3.2, 'medium', -1.1, 'drop', 'mad', 'open', ?)",
            [date(2025, 6, 15), detected, date(2025, 6, 10), detected],
        )
        con.execute(
            "insert into analytics.cost_forecast select 'prod', 'total', 'total', null,"
            " ?::date + i::int, 'AutoETS', 45.0 + i, 40.0 + i, 50.0 + i, 35.0 + i, 55.0 + i,"
            " ?, ? from range(1, 31) as t(i)",
            [LAST, LAST, datetime(2025, 6, 21, 6)],
        )
    con.close()
    publish_snapshot(settings)


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """Run the dashboard against the warehouse in `tmp_path`."""
    monkeypatch.setenv("BIMO_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    return at


def _metric(at: AppTest, tag: str, label: str) -> str:
    """The value of the metric whose label names `tag` and `label`."""
    [value] = [m.value for m in at.metric if f"[{tag}]" in m.label and label in m.label]
    return value


def _anomalies(at: AppTest):
    """The Overview's open anomalies table."""
    [table] = [d.value for d in at.dataframe if "anomaly_date" in d.value.columns]
    return table


def _chart_tags(at: AppTest) -> list[set[str]]:
    """The source tags in each Vega-Lite chart's data (empty for charts without them)."""
    tags = []
    for chart in at.get("vega_lite_chart"):
        frames = [convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.proto.datasets]
        tags.append({t for f in frames if "source_tag" in f for t in f["source_tag"]})
    return tags


def test_overview_shows_spend_anomalies_and_forecast(tmp_path, monkeypatch):
    _build(tmp_path, analytics=True)
    at = _run(tmp_path, monkeypatch)

    costs = _daily_cost().filter(pl.col("source_tag") == "prod")
    mtd = costs.filter(pl.col("charge_date") >= date(2025, 6, 1))["cost_usd"].to_list()
    last30 = costs.filter(pl.col("charge_date") >= LAST - timedelta(days=29))["cost_usd"]
    on_last = costs.filter(pl.col("charge_date") == LAST)["cost_usd"].to_list()
    assert _metric(at, "prod", "Month to date") == f"${sum(mtd):,.2f}"
    assert _metric(at, "prod", "Last 30 days") == f"${sum(last30.to_list()):,.2f}"
    assert _metric(at, "prod", "Jun 20") == f"${sum(on_last):,.2f}"
    assert _metric(at, "prod", "Unpriced") == "90"
    assert _metric(at, "dev", "Month to date") == f"${Decimal('1.95') * 20:,.2f}"
    assert _metric(at, "billing", "Month to date") == "—"  # never loaded: a dash, not $0
    assert _metric(at, "prod", "Forecast") == "—"  # no projections in this warehouse
    assert any("NULL cost, not $0" in c.value for c in at.caption)

    anomalies = _anomalies(at)
    assert anomalies["series_key"].tolist() == ["total", "openai/gpt-4o"]  # latest first
    assert anomalies["severity"].tolist() == ["high", "medium"]
    # daily spend, categories and movers: one chart per tag, never two tags in one chart
    tags = _chart_tags(at)
    assert tags.count({"prod"}) >= 3 and tags.count({"dev"}) >= 2
    assert all(len(t) == 1 for t in tags)
    assert not any("not built yet" in i.value for i in at.info)

    at.switch_page("app_pages/forecasts.py").run()
    assert not at.exception
    assert any("AutoETS" in c.value for c in at.caption)
    assert any("not backtested yet" in c.value for c in at.caption)


def test_source_tag_filter_hides_other_tags(tmp_path, monkeypatch):
    _build(tmp_path, analytics=True)
    at = _run(tmp_path, monkeypatch)
    at.multiselect(key="tag").set_value(["dev"]).run()
    assert not at.exception
    assert {m.label.split("]")[0] for m in at.metric} == {":orange-badge[dev"}
    assert _anomalies(at)["source_tag"].tolist() == ["dev"]
    assert {t for tags in _chart_tags(at) for t in tags} == {"dev"}


def test_no_warehouse_shows_guidance(tmp_path, monkeypatch):
    at = _run(tmp_path, monkeypatch)
    assert any("No data yet" in i.value and "make demo" in i.value for i in at.info)
    assert not at.metric


def test_missing_analytics_says_not_built(tmp_path, monkeypatch):
    _build(tmp_path, analytics=False)
    at = _run(tmp_path, monkeypatch)
    assert _metric(at, "prod", "Month to date").startswith("$")
    assert any("Analytics are not built yet" in i.value for i in at.info)
    assert not any("anomaly_date" in d.value.columns for d in at.dataframe)


def test_overview_renders_on_a_warehouse_built_by_the_pipeline(built, monkeypatch):
    """The real marts (decimal costs, NULL-cost unpriced groups) render, tags apart."""
    from bimo.analytics.run import compute_anomalies, compute_forecast, store
    from bimo.warehouse import write_connection

    settings, _ = built
    with write_connection(settings) as con:
        store(con, "cost_anomalies", compute_anomalies(con))
        store(con, "cost_forecast", compute_forecast(con))
    monkeypatch.setenv("BIMO_WAREHOUSE", str(settings.warehouse))
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert any("[dev]" in label for label in labels)
    assert any("[prod]" in label for label in labels)
    unpriced = [m.value for m in at.metric if "[prod]" in m.label and "Unpriced" in m.label]
    assert unpriced and int(unpriced[0].replace(",", "")) > 0
