"""Every dashboard page on missing and empty warehouses; the shared filters in the URL;
acknowledging an anomaly; the SQL page's sandbox; a day without data, a tag never loaded."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from bimo.analytics.acks import list_anomalies
from bimo.settings import get_settings
from bimo.warehouse import publish_snapshot

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("fresh_streamlit_cache")]

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app" / "streamlit_app.py"
PAGES = {
    "overview": "Overview",
    "costs": "Costs explorer",
    "ai_usage": "AI usage",
    "cloud": "Cloud",
    "saas": "SaaS",
    "reconciliation": "Reconciliation",
    "anomalies": "Anomalies",
    "forecasts": "Forecasts",
    "budgets": "Budgets & alerts",
    "insights": "Insights",
    "data_health": "Data health",
    "sql": "SQL",
}
FIRST, LAST = date(2025, 5, 1), date(2025, 6, 20)
DAYS = [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
DDL = """
create schema marts;
create table marts.fct_daily_cost (
    charge_date date, source_tag varchar, service_category varchar, provider varchar,
    service varchar, model varchar, project varchar, team varchar, environment varchar,
    feature varchar, api_key_id varchar, charge_category varchar, currency varchar,
    cost decimal(38, 12), cost_usd decimal(38, 12), effective_cost_usd decimal(38, 12),
    list_cost_usd decimal(38, 12), requests bigint, unpriced_requests bigint
);
create schema analytics;
create table analytics.cost_anomalies (
    anomaly_id varchar, anomaly_date date, first_seen date, source_tag varchar, metric varchar,
    series_level varchar, series_key varchar, provider varchar, service varchar, model varchar,
    project varchar, team varchar, feature varchar, actual double, expected double,
    lower_bound double, upper_bound double, score double, severity varchar, direction varchar,
    impact_usd double, driver_dimension varchar, driver_value varchar, driver_delta_usd double,
    method varchar, status varchar, detected_at timestamp
);
"""


def run_app(warehouse: Path, monkeypatch, *, page: str | None = None, params=None) -> AppTest:
    """The dashboard on `warehouse`, on `page` when given, with URL query `params`."""
    monkeypatch.setenv("BIMO_WAREHOUSE", str(warehouse))
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.query_params.update(params or {})
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    if page:
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, [e.message for e in at.exception]
    return at


def every_page(warehouse: Path, monkeypatch) -> dict[str, dict]:
    """Visit every page in turn; fail on the first exception, naming the page."""
    at = run_app(warehouse, monkeypatch)
    seen = {}
    for page, title in PAGES.items():
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, (page, [e.message for e in at.exception])
        assert at.title[0].value == title, page
        seen[page] = {
            "info": [i.value for i in at.info],
            "error": [e.value for e in at.error],
            "charts": len(at.get("vega_lite_chart")),
            "tables": len(at.dataframe),
            "downloads": len(at.get("download_button")),
        }
    return seen


def _cost_rows() -> pl.DataFrame:
    """dev and prod AI usage on two models, every day of the fixture range."""
    rows = [
        {
            "charge_date": d,
            "source_tag": tag,
            "service_category": "ai",
            "provider": "openai",
            "service": "openai",
            "model": model,
            "project": "search",
            "team": "core",
            "environment": "production",
            "feature": "answer",
            "api_key_id": None,
            "charge_category": "Usage",
            "currency": "USD",
            "cost": usd,
            "cost_usd": usd,
            "effective_cost_usd": usd,
            "list_cost_usd": usd,
            "requests": 100,
            "unpriced_requests": 0,
        }
        for d in DAYS
        for tag, model, usd in (("prod", "gpt-4o", 12.5), ("dev", "gpt-4o-mini", 1.25))
    ]
    money = pl.Decimal(38, 12)
    return pl.DataFrame(
        rows,
        schema_overrides={
            c: money for c in ("cost", "cost_usd", "effective_cost_usd", "list_cost_usd")
        },
    )


@pytest.fixture
def small(tmp_path) -> Path:
    """A constructed warehouse: two months of dev and prod spend and two open anomalies."""
    settings = get_settings(tmp_path / "warehouse.duckdb")
    costs = _cost_rows()  # noqa: F841 - read by DuckDB's replacement scan
    con = duckdb.connect(str(settings.warehouse))
    con.execute(DDL)
    con.execute("insert into marts.fct_daily_cost by name select * from costs")
    con.execute(
        "insert into analytics.cost_anomalies (anomaly_id, anomaly_date, first_seen, source_tag,"
        " metric, series_level, series_key, provider, actual, expected, lower_bound,"
        " upper_bound, score, severity, direction, impact_usd, method, status, detected_at)"
        " values ('anom-prod', ?, ?, 'prod', 'cost_usd', 'total', 'total', null, 40, 12.5, 10,"
        " 15, 9.5, 'high', 'spike', 27.5, 'mstl', 'open', ?),"
        " ('anom-dev', ?, ?, 'dev', 'cost_usd', 'total', 'total', null, 4, 1.25, 1, 1.5, 5.2,"
        " 'medium', 'spike', 2.75, 'mstl', 'open', ?)",
        [
            LAST,
            LAST,
            datetime(2025, 6, 21),
            LAST - timedelta(days=3),
            LAST - timedelta(days=3),
            datetime(2025, 6, 21),
        ],
    )
    con.close()
    publish_snapshot(settings)
    return settings.warehouse


@pytest.fixture
def raw_only(tmp_path) -> Path:
    """A fresh warehouse: the raw tables exist, nothing is loaded and no mart is built."""
    from ingestion.tables import ensure_raw_tables

    settings = get_settings(tmp_path / "warehouse.duckdb")
    ensure_raw_tables(settings)
    publish_snapshot(settings)
    return settings.warehouse


def test_every_page_without_a_warehouse_says_what_to_load(tmp_path, monkeypatch):
    seen = every_page(tmp_path / "warehouse.duckdb", monkeypatch)
    for page, found in seen.items():
        assert found["info"], page  # guidance, never a blank page
        assert not found["charts"] and not found["tables"], page
    assert "make demo" in seen["overview"]["info"][0]


def test_every_page_on_a_fresh_warehouse_says_what_is_missing(raw_only, monkeypatch):
    seen = every_page(raw_only, monkeypatch)
    expected = {
        "overview": "No data yet",
        "costs": "No data yet",
        "ai_usage": "bimo load bimo-gateway",
        "cloud": "bimo load focus",
        "saas": "bimo load github-copilot-seats",
        "reconciliation": "bimo load openai-costs",
        "anomalies": "not computed yet",
        "forecasts": "not computed yet",
        "insights": "not computed yet",
        "budgets": "budgets.example.yml",
    }
    for page, text in expected.items():
        assert any(text in i for i in seen[page]["info"]), (page, seen[page]["info"])
    assert seen["data_health"]["tables"] >= 1  # every source listed, all "not loaded"
    assert not any(found["error"] for found in seen.values())


def test_url_query_params_set_the_filters_and_stay_in_the_url(small, monkeypatch):
    params = {"tag": "dev", "dates": [str(FIRST), "2025-05-31"], "by": "model"}
    at = run_app(small, monkeypatch, params=params)
    assert at.multiselect(key="tag").value == ["dev"]
    assert at.date_input(key="dates").value == (FIRST, date(2025, 5, 31))
    assert {m.label.split("]")[0] for m in at.metric} == {":orange-badge[dev"}
    may = sum(1.25 for d in DAYS if d.month == 5)
    assert [m.value for m in at.metric if "Month to date" in m.label] == [f"${may:,.2f}"]
    for key in ("dates", "tag", "provider", "category", "project", "team", "env"):
        widget = at.multiselect(key=key) if key != "dates" else at.date_input(key=key)
        assert widget.proto.query_param_key == key  # bound: the browser writes it back

    at.switch_page("app_pages/costs.py").run()  # another page keeps the filters and the URL
    assert not at.exception
    assert at.query_params["tag"] == "dev"
    assert at.query_params["dates"] == [str(FIRST), "2025-05-31"]
    assert at.selectbox(key="by").value == "model"
    assert set(at.dataframe[0].value["source_tag"]) == {"dev"}

    at.multiselect(key="tag").set_value(["prod"])  # the browser puts it in the URL (below)
    at.switch_page("app_pages/overview.py").run()
    assert at.multiselect(key="tag").value == ["prod"]
    assert {m.label.split("]")[0] for m in at.metric} == {":blue-badge[prod"}


def test_acknowledging_an_anomaly_flips_its_status(small, monkeypatch):
    at = run_app(small, monkeypatch, page="anomalies")
    assert at.selectbox(key="anomaly").value == "anom-prod"  # latest first
    at.button(key="ack").click().run()  # no reason: refused
    assert any("Give a reason" in w.value for w in at.warning)
    assert set(list_anomalies(get_settings(small))["status"]) == {"open"}

    at.selectbox(key="anomaly").set_value("anom-dev")
    at.text_input(key="ack_reason").input("weekly batch job")
    at.button(key="ack").click().run()
    assert not at.exception
    assert any("Acknowledged" in s.value and "weekly batch job" in s.value for s in at.success)
    stored = {r["anomaly_id"]: r for r in list_anomalies(get_settings(small)).iter_rows(named=True)}
    assert stored["anom-dev"]["status"] == "acknowledged"
    assert stored["anom-dev"]["ack_reason"] == "weekly batch job"
    assert stored["anom-prod"]["status"] == "open"
    # the page reads the new read copy at once: the open list lost it, the acknowledged has it
    assert at.dataframe[0].value["anomaly_id"].tolist() == ["anom-prod"]
    at.button_group(key="status").set_value("acknowledged").run()
    assert at.dataframe[0].value["anomaly_id"].tolist() == ["anom-dev"]
    assert at.dataframe[0].value["ack_reason"].tolist() == ["weekly batch job"]


def test_sql_page_refuses_writes_and_runs_reads(small, monkeypatch):
    at = run_app(small, monkeypatch, page="sql")
    assert any("fct_daily_cost" in m.value for m in at.sidebar.markdown)  # the catalogue
    at.text_area(key="sql").input("delete from marts.fct_daily_cost")
    at.button(key="sql_run").click().run()
    [error] = at.error
    assert "DELETE is not allowed: bimo sql runs read-only queries on the warehouse" in error.value
    assert not at.dataframe

    at.text_area(key="sql").input("select * from read_csv('/etc/passwd')")
    at.button(key="sql_run").click().run()
    assert "cannot read or write files or URLs" in at.error[0].value

    at.button(key="example_0").click().run()  # "Spend per day and tag"
    assert "from marts.fct_daily_cost" in at.text_area(key="sql").value
    at.number_input(key="sql_limit").set_value(5)
    at.button(key="sql_run").click().run()
    assert not at.error
    result = at.dataframe[0].value
    assert len(result) == 5 and list(result.columns) == ["charge_date", "source_tag", "usd"]
    assert at.get("download_button")


def test_a_day_without_data_and_a_tag_never_loaded_are_named(small, tmp_path, monkeypatch):
    con = duckdb.connect(str(small))
    con.execute("delete from marts.fct_daily_cost where charge_date = ?", [LAST - timedelta(1)])
    con.close()
    publish_snapshot(get_settings(small))
    at = run_app(small, monkeypatch)
    assert any("1 day(s) in the range have no spend rows" in c.value for c in at.caption)
    assert any("No spend for billing" in c.value for c in at.caption)  # never loaded
    assert [m.value for m in at.metric if "[billing]" in m.label and "Month" in m.label] == ["—"]


def test_the_dashboard_binds_to_localhost_only():
    import tomllib

    # Streamlit reads the config beside the main script, whatever the working directory
    config = tomllib.loads((APP.parent / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
