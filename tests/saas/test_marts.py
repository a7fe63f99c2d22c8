"""The SaaS marts on the demo company's seats and invoices, against its ground truth."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from bimo.dbt_runner import dbt_build
from bimo.demo.saas import SAVED
from bimo.settings import get_settings
from bimo.warehouse import publish_snapshot, writer_lock
from ingestion.saas import parse_saved
from ingestion.saas.load import load_saas
from ingestion.tables import ensure_raw_tables

APP = Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py"

pytestmark = pytest.mark.slow
MODELS = "+fct_saas_seats_daily +fct_saas_idle_seats +fct_daily_cost"


def every_parse(root: Path) -> list:
    parses = [
        parse_saved(source, f)
        for source, folder in SAVED.items()
        for f in sorted((root / "saas" / folder).iterdir())
    ]
    invoices = sorted((root / "saas" / "saas-invoices").iterdir())
    return parses + [parse_saved("saas-invoices", f) for f in invoices]


@pytest.fixture(scope="module")
def saas_settings(demo_root, tmp_path_factory):
    settings = get_settings(tmp_path_factory.mktemp("saas-marts") / "warehouse.duckdb")
    load_saas(every_parse(demo_root), settings=settings)
    load_saas(every_parse(demo_root), settings=settings)  # a second load changes nothing
    with writer_lock(settings):
        ensure_raw_tables(settings)
        result = dbt_build(settings, "--select", MODELS)
        assert result.ok, result.failures or result.output_tail
        publish_snapshot(settings, locked=True)
    return settings


@pytest.fixture(scope="module")
def marts(saas_settings):
    con = duckdb.connect(str(saas_settings.warehouse), read_only=True)
    yield con
    con.close()


def test_paid_seats_per_day_equal_the_apis(marts, truth):
    got = {
        (tool, day.isoformat()): int(paid)
        for tool, day, paid in marts.sql(
            "select tool, date, sum(seats_paid) from marts.fct_saas_seats_daily group by all"
        ).fetchall()
    }
    expected = {(tool, day): n for tool, days in truth["seats"].items() for day, n in days.items()}
    assert got == expected  # Copilot: total_seats; Slack: billable users; Zoom: licensed users


def test_idle_copilot_seats_per_day_and_the_seats_to_cut(marts, truth):
    inactive = truth["copilot"]["inactive_30_days"]
    got = dict(
        marts.sql(
            "select strftime(date, '%Y-%m-%d'), sum(idle_seats)::int "
            "from marts.fct_saas_seats_daily where tool = 'github-copilot' group by 1"
        ).fetchall()
    )
    assert got == inactive
    last = max(inactive)
    idle = marts.sql(
        "select user_name, idle_since, days_idle, monthly_cost_usd from marts.fct_saas_idle_seats "
        "where tool = 'github-copilot'"
    ).fetchall()
    assert len(idle) == inactive[last]
    assert any(user is None for user, *_ in idle)  # the deleted user's seat still bills
    assert all(days >= 30 and cost > 0 for _, _, days, cost in idle)


def test_saas_spend_in_the_daily_cost_mart(marts, truth):
    invoiced = marts.sql(
        "select currency, sum(cost) from marts.fct_daily_cost where service_category = 'saas' "
        "and source_tag = 'billing' and charge_category = 'Purchase' group by 1"
    ).fetchall()
    expected = {c: Decimal(a) for c, a in truth["invoices"]["amount"].items()}
    assert {c: round(v, 6) for c, v in invoiced} == expected  # spread over days, summed back
    unconverted = marts.sql(
        "select count(*) from marts.fct_daily_cost where service_category = 'saas' "
        "and currency <> 'USD' and cost_usd is not null"
    ).fetchall()[0][0]
    assert unconverted == 0  # no EUR rate in fx_rates: NULL, never summed as USD
    tags = dict(
        marts.sql(
            "select source_tag, count(distinct service) from marts.fct_daily_cost "
            "where service_category = 'saas' and service in ('github-copilot', 'slack', 'zoom') "
            "group by 1"
        ).fetchall()
    )
    assert tags == {"prod": 3, "billing": 3}  # seat estimates and invoices, kept apart
    copilot_usage = marts.sql(
        "select count(*) from marts.fct_daily_cost where service = 'github-copilot' "
        "and source_tag = 'billing' and charge_category = 'Usage'"
    ).fetchall()[0][0]
    assert copilot_usage == 0  # invoiced months are not counted again from the usage report


def _saas_page(monkeypatch, warehouse: Path):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    monkeypatch.setenv("BIMO_WAREHOUSE", str(warehouse))
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    at.switch_page("app_pages/saas.py").run()
    st.cache_data.clear()
    assert not at.exception
    return at


def test_saas_page_shows_spend_seats_and_idle_seats(saas_settings, truth, monkeypatch):
    at = _saas_page(monkeypatch, saas_settings.warehouse)
    assert at.title[0].value == "SaaS"
    assert len(at.get("vega_lite_chart")) == 2  # spend by tool per tag; seats paid vs active
    [idle] = [d.value for d in at.dataframe]
    inactive = truth["copilot"]["inactive_30_days"]
    assert (idle["tool"] == "github-copilot").sum() == inactive[max(inactive)]
    assert "(deleted user)" in idle["user_name"].tolist()
    assert any("currency with no rate" in w.value for w in at.warning)  # the EUR invoices


def test_saas_page_on_an_empty_warehouse_says_what_to_load(tmp_path, monkeypatch):
    at = _saas_page(monkeypatch, tmp_path / "warehouse.duckdb")
    assert any("No SaaS data yet" in i.value for i in at.info)
