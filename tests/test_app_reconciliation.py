"""Dashboard tests for the Reconciliation page and the billing tag on the Overview page."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pytest
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from bimo.settings import get_settings
from bimo.warehouse import publish_snapshot

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("fresh_streamlit_cache")]

APP = Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py"
PAGE = "app_pages/reconciliation.py"
FIRST, LAST = date(2025, 5, 1), date(2025, 6, 20)
DAYS = [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
MONEY = pl.Decimal(38, 12)
GAPS = (
    "gap_unlogged_usd",
    "gap_dev_tools_usd",
    "gap_price_usd",
    "gap_token_category_usd",
    "gap_credits_tax_fees_usd",
    "gap_fx_usd",
    "gap_unexplained_usd",
)
# (month, provider) -> (prod estimate, the seven gaps); billing = estimate + sum(gaps)
MONTHS = {
    (date(2025, 6, 1), "openai"): (
        "400.00",
        ("9.50", "3.00", "8.25", "4.00", "-2.00", "1.25", "6.00"),
    ),
    (date(2025, 6, 1), "anthropic"): ("200.00", ("2.00", "0", "1.00", "0.50", "0", "0", "0.50")),
    (date(2025, 5, 1), "openai"): ("380.00", ("-10.00", "0", "0", "0", "-5.00", "0", "-1.00")),
    (date(2025, 5, 1), "anthropic"): ("150.00", ("18.50", "1.50", "0", "0", "0", "0", "0")),
    (date(2025, 5, 1), "mistral"): ("10.00", ("0", "0", "0", "0", "0", "0", "0.10")),
}

DDL = """
create schema marts;
create table marts.fct_daily_cost (
    charge_date date, source_tag varchar, service_category varchar, provider varchar,
    service varchar, model varchar, project varchar, team varchar, environment varchar,
    feature varchar, api_key_id varchar, charge_category varchar, currency varchar,
    cost decimal(38, 12), cost_usd decimal(38, 12), effective_cost_usd decimal(38, 12),
    list_cost_usd decimal(38, 12), requests bigint, unpriced_requests bigint
);
"""
RECONCILIATION_DDL = """
create table marts.fct_reconciliation (
    period_grain varchar, period_start date, provider varchar, model varchar,
    prod_estimate_usd decimal(38, 12), billing_usd decimal(38, 12),
    variance_usd decimal(38, 12), variance_pct double,
    gap_unlogged_usd decimal(38, 12), gap_dev_tools_usd decimal(38, 12),
    gap_price_usd decimal(38, 12),
    gap_token_category_usd decimal(38, 12), gap_credits_tax_fees_usd decimal(38, 12),
    gap_fx_usd decimal(38, 12), gap_unexplained_usd decimal(38, 12),
    prod_requests bigint, billing_line_items bigint
);
"""


def _recon_row(grain: str, start: date, provider: str, model, prod: Decimal, gaps) -> dict:
    """One reconciliation row whose gaps add up to its variance."""
    variance = sum(gaps, Decimal(0))
    billing = prod + variance
    return {
        "period_grain": grain,
        "period_start": start,
        "provider": provider,
        "model": model,
        "prod_estimate_usd": prod,
        "billing_usd": billing,
        "variance_usd": variance,
        "variance_pct": float(variance / billing) if billing else None,
        **dict(zip(GAPS, gaps, strict=True)),
        "prod_requests": 1000,
        "billing_line_items": 4,
    }


def _reconciliation() -> pl.DataFrame:
    """Provider-level months and days, plus per-model rows for openai in June."""
    rows = []
    for (month, provider), (prod, gaps) in MONTHS.items():
        gaps = [Decimal(g) for g in gaps]
        rows.append(_recon_row("month", month, provider, None, Decimal(prod), gaps))
        days = [d for d in DAYS if d.replace(day=1) == month]
        rows += [
            _recon_row("day", d, provider, None, Decimal(prod) / 30, [g / 30 for g in gaps])
            for d in days
        ]
    half = [Decimal(g) / 2 for g in MONTHS[date(2025, 6, 1), "openai"][1]]
    for model in ("gpt-4o", "gpt-4o-mini"):
        rows.append(_recon_row("month", date(2025, 6, 1), "openai", model, Decimal(200), half))
    return pl.DataFrame(rows, schema_overrides={**{g: MONEY for g in GAPS}, "model": pl.String})


def _daily_cost() -> pl.DataFrame:
    """dev and prod AI spend, and billing across ai, cloud and a wholly unpriced saas tool."""
    series = [
        ("dev", "ai", "openai", "gpt-4o", Decimal("1.20"), 100),
        ("prod", "ai", "openai", "gpt-4o", Decimal("12.00"), 100),
        ("billing", "ai", "openai", "gpt-4o", Decimal("13.00"), None),
        ("billing", "cloud", "aws", None, Decimal("7.50"), None),
        ("billing", "saas", "notion", None, None, None),
    ]
    rows = [
        {
            "charge_date": d,
            "source_tag": tag,
            "service_category": category,
            "provider": provider,
            "service": provider,
            "model": model,
            "project": "search",
            "team": "core",
            "environment": "production",
            "feature": "answer",
            "api_key_id": None,
            "charge_category": "Usage",
            "currency": "USD",
            "cost": cost,
            "cost_usd": cost,
            "effective_cost_usd": cost,
            "list_cost_usd": cost,
            "requests": requests,
            "unpriced_requests": None if requests is None else 0,
        }
        for d in DAYS
        for tag, category, provider, model, cost, requests in series
    ]
    money = ("cost", "cost_usd", "effective_cost_usd", "list_cost_usd")
    return pl.DataFrame(rows, schema_overrides=dict.fromkeys(money, MONEY))


def _build(tmp_path: Path, *, reconciliation: bool = True) -> None:
    """Create, fill and publish a fixture warehouse in `tmp_path`."""
    settings = get_settings(tmp_path / "warehouse.duckdb")
    costs = _daily_cost()  # noqa: F841 - read by DuckDB's replacement scan
    recon = _reconciliation()  # noqa: F841
    con = duckdb.connect(str(settings.warehouse))
    con.execute(DDL)
    con.execute("insert into marts.fct_daily_cost by name select * from costs")
    if reconciliation:
        con.execute(RECONCILIATION_DDL)
        con.execute("insert into marts.fct_reconciliation by name select * from recon")
    con.close()
    publish_snapshot(settings)


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, page: str | None = None) -> AppTest:
    """Run the dashboard against the warehouse in `tmp_path`, on `page` when given."""
    monkeypatch.setenv("BIMO_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    if page:
        at.switch_page(page).run()
        assert not at.exception
    return at


def _monthly(at: AppTest) -> dict[tuple[str, str], dict]:
    """The monthly table's rows keyed by (YYYY-MM, provider)."""
    df = at.dataframe[0].value
    return {(f"{r['month']:%Y-%m}", r["provider"]): r for r in df.to_dict("records")}


def _chart_data(at: AppTest, index: int) -> list[dict]:
    """The rows of every dataset of the `index`-th Vega-Lite chart."""
    proto = at.get("vega_lite_chart")[index].proto
    frames = [dataframe_util.convert_arrow_bytes_to_pandas_df(d.data.data) for d in proto.datasets]
    return [row for frame in frames for row in frame.to_dict("records")]


def test_reconciliation_shows_monthly_variance(tmp_path, monkeypatch):
    _build(tmp_path)
    at = _run(tmp_path, monkeypatch, page=PAGE)

    assert at.title[0].value == "Reconciliation"
    rows = _monthly(at)
    assert len(rows) == len(MONTHS)
    june = rows["2025-06", "openai"]
    assert Decimal(str(june["prod_estimate_usd"])) == Decimal("400")
    assert Decimal(str(june["billing_usd"])) == Decimal("430")
    assert Decimal(str(june["variance_usd"])) == Decimal("30")
    assert june["variance_pct"] == pytest.approx(30 / 430)
    assert june["beyond_threshold"]  # 7.0 % > 5 %
    assert not rows["2025-06", "anthropic"]["beyond_threshold"]  # 2.0 %
    assert rows["2025-05", "anthropic"]["beyond_threshold"]  # 11.8 %
    assert any("2 of 5 provider-months" in c.value for c in at.caption)
    assert at.get("download_button")
    # one daily chart per provider, plus the waterfall
    assert len(at.get("vega_lite_chart")) == 4


def test_threshold_slider_changes_highlight(tmp_path, monkeypatch):
    _build(tmp_path)
    at = _run(tmp_path, monkeypatch, page=PAGE)
    at.slider(key="recon_threshold").set_value(10.0).run()
    assert not at.exception
    rows = _monthly(at)
    assert not rows["2025-06", "openai"]["beyond_threshold"]
    assert rows["2025-05", "anthropic"]["beyond_threshold"]


def test_breakdown_adds_up_to_the_variance(tmp_path, monkeypatch):
    _build(tmp_path)
    at = _run(tmp_path, monkeypatch, page=PAGE)
    at.selectbox(key="recon_bd_provider").set_value("openai").run()
    at.selectbox(key="recon_bd_month").set_value(date(2025, 6, 1)).run()
    assert not at.exception

    variance = [m.value for m in at.metric if m.label.startswith("Variance")]
    assert variance == ["+$30.00"]
    components = at.dataframe[1].value
    assert components["component"].tolist()[0] == "unlogged traffic"
    assert sum(Decimal(str(v)) for v in components["usd"]) == Decimal("30")
    assert any("add up to the variance, +$30.00" in c.value for c in at.caption)
    assert not at.warning

    steps = {r["step"]: r for r in _chart_data(at, -1) if "step" in r}
    assert steps["prod estimate"]["end"] == pytest.approx(400)
    assert steps["unexplained"]["end"] == pytest.approx(430)
    assert steps["billed"]["end"] == pytest.approx(430)

    models = at.dataframe[2].value
    assert sorted(models["model"]) == ["gpt-4o", "gpt-4o-mini"]


def test_no_rows_for_the_filter_says_so(tmp_path, monkeypatch):
    _build(tmp_path)
    at = _run(tmp_path, monkeypatch, page=PAGE)
    at.multiselect(key="provider").set_value(["mistral"])  # the shared filters
    at.date_input(key="dates").set_value((date(2025, 6, 1), date(2025, 6, 20))).run()
    assert not at.exception
    assert any("No reconciliation rows for the selected" in i.value for i in at.info)
    assert not at.dataframe

    at.multiselect(key="provider").set_value([]).run()  # empty means every provider
    assert {r[1] for r in _monthly(at)} == {"openai", "anthropic"}  # June only


def test_shared_filters_choose_providers_and_months(tmp_path, monkeypatch):
    _build(tmp_path)
    monkeypatch.setenv("BIMO_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params.update({"provider": "openai", "dates": ["2025-05-01", "2025-05-31"]})
    at.run().switch_page(PAGE).run()
    assert not at.exception
    assert set(_monthly(at)) == {("2025-05", "openai")}
    assert [c for c in _chart_data(at, 0) if c["provider"] != "openai"] == []


def test_missing_reconciliation_table_explains_how_to_load_billing(tmp_path, monkeypatch):
    _build(tmp_path, reconciliation=False)
    at = _run(tmp_path, monkeypatch, page=PAGE)
    [info] = at.info
    assert "Reconciliation needs billing data" in info.value
    assert "bimo load openai-costs FILE" in info.value
    assert not at.dataframe and not at.metric


def test_overview_shows_billing_and_service_categories(tmp_path, monkeypatch):
    _build(tmp_path)
    at = _run(tmp_path, monkeypatch)

    def metric(tag: str, label: str) -> str:
        [value] = [m.value for m in at.metric if f"[{tag}]" in m.label and label in m.label]
        return value

    # June 1-20: billing is ai $13.00 + cloud $7.50 a day; the unpriced saas tool adds nothing
    assert metric("billing", "Month to date") == f"${Decimal('20.50') * 20:,.2f}"
    assert metric("prod", "Month to date") == f"${Decimal('12.00') * 20:,.2f}"
    assert metric("billing", "Unpriced") == "—"  # invoices carry no request counts
    assert any("billing: no request counts" in c.value for c in at.caption)

    assert any("Spend by service category" in h.value for h in at.subheader)
    charts = [_chart_data(at, i) for i in range(len(at.get("vega_lite_chart")))]
    categories = [c for c in charts if c and "service_category" in c[0]]
    assert len(categories) == 3  # one per source tag, never summed across tags
    billing = {r["service_category"]: r for r in categories[2]}
    assert set(billing) == {"ai", "cloud", "saas"}
    assert pd.isna(billing["saas"]["cost_usd"]) and billing["saas"]["label"] == "unpriced"
    assert billing["ai"]["label"].startswith("$")
    assert {r["source_tag"] for c in categories for r in c} == {"dev", "prod", "billing"}
    assert {r["source_tag"] for r in categories[2]} == {"billing"}
