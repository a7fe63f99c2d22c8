"""Budgets and alerts: budget status on hand-computed data, alert rules and dedupe, config
errors, and one run on the real demo-built marts (delivery: test_delivery.py)."""

from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from bimo.alerts.budgets import period_bounds
from bimo.alerts.channels import load_channels, parse_channels
from bimo.alerts.config import Budget, ConfigError, load_budgets, parse_budgets
from bimo.alerts.run import refresh_alerts, refresh_budget_status
from bimo.alerts.tables import read_alerts
from bimo.settings import get_settings
from bimo.warehouse import write_connection
from tests.alerts.data import AS_OF, BUDGETS, NOW, status_by_name


def test_budget_status_on_hand_computed_spend(warehouse):
    s = status_by_name(warehouse)
    a = s["A-search"]  # $100/day, run rate (team is not in the forecast), June 1..14 spent
    assert (a["period_start"], a["period_end"], a["data_through"]) == (
        date(2026, 6, 1), date(2026, 6, 30), date(2026, 6, 14),
    )  # fmt: skip
    assert a["spent_usd"] == pytest.approx(1400) and a["pct_used"] == pytest.approx(56)
    assert a["forecast_method"] == "run_rate" and a["projected_daily_usd"] == pytest.approx(100)
    assert a["forecast_usd"] == pytest.approx(3000) and a["forecast_pct"] == pytest.approx(120)
    assert a["exceeds_on"] == date(2026, 6, 25) and a["days_until_exceeded"] == 10
    assert a["risk"] == "high" and a["thresholds_crossed"] == []

    b = s["B-openai"]  # $120/day spent; the provider forecast says $50/day from June 15
    assert b["forecast_method"] == "forecast"
    assert b["spent_usd"] == pytest.approx(1680) and b["pct_used"] == pytest.approx(84)
    assert b["forecast_usd"] == pytest.approx(1680 + 16 * 50)
    assert b["days_until_exceeded"] == 6 and b["exceeds_on"] == date(2026, 6, 21)
    assert b["thresholds_crossed"] == [80.0] and b["risk"] == "high"

    c = s["C-ads-week"]  # week of Monday June 15: nothing spent yet, $20 AI + $5 seats a day
    assert (c["period_start"], c["period_end"]) == (date(2026, 6, 15), date(2026, 6, 21))
    assert c["spent_usd"] == 0 and c["forecast_usd"] == pytest.approx(7 * 25)
    assert c["days_until_exceeded"] is None and c["risk"] == "low"

    d = s["D-aws-rolling"]  # June 9..15: 5 days of $200 + 2 lag days projected at $200
    assert d["data_through"] == date(2026, 6, 13) and d["forecast_method"] == "run_rate"
    assert d["spent_usd"] == pytest.approx(1000) and d["forecast_usd"] == pytest.approx(1400)
    assert d["days_until_exceeded"] is None and d["risk"] == "medium"

    e = s["E-aws-month"]  # 13 × $200 + $300 tax; the EUR row has no USD amount
    assert e["spent_usd"] == pytest.approx(2900) and e["rows_without_usd"] == 1
    assert e["projected_daily_usd"] == pytest.approx(200)  # run rate ignores the tax line
    assert e["forecast_usd"] == pytest.approx(2900 + 17 * 200)
    assert e["thresholds_crossed"] == [80.0, 90.0]
    assert e["days_until_exceeded"] == 0 and e["risk"] == "high"  # projected over on June 14


def test_periods():
    b = Budget(name="x", scope={"source_tag": ("prod",)}, period="quarterly", amount=1)
    assert period_bounds(b, date(2026, 11, 5))[:2] == (date(2026, 10, 1), date(2026, 12, 31))
    b = Budget(name="x", scope={"source_tag": ("prod",)}, period="rolling_30_days", amount=1)
    start, end, key = period_bounds(b, date(2026, 11, 5))
    assert (start, end) == (date(2026, 10, 7), date(2026, 11, 5))
    assert period_bounds(b, date(2026, 11, 6))[2] == key  # same 30-day block: alerts once


def test_alert_rules_and_dedupe(warehouse):
    config = parse_budgets(yaml.safe_load(BUDGETS))
    with write_connection(warehouse) as con:
        refresh_budget_status(con, config, as_of=AS_OF, now=NOW)
        new = refresh_alerts(con, config, as_of=AS_OF, now=NOW)
        again = refresh_alerts(con, config, as_of=AS_OF, now=NOW + timedelta(hours=1))
        stored = read_alerts(con)
    keys = set(new["dedupe_key"])
    assert keys == {
        "budget_forecast|A-search|2026-06-01",
        "budget_threshold|B-openai|2026-06-01|80",
        "budget_forecast|B-openai|2026-06-01",
        "budget_threshold|E-aws-month|2026-06-01|80",
        "budget_threshold|E-aws-month|2026-06-01|90",
        "budget_forecast|E-aws-month|2026-06-01",
        "anomaly|prod|cost_usd|provider|anthropic|2026-06-12",  # not the acknowledged one
        "spend_spike|prod|anthropic|2026-06-12",  # $50 > 2 × $10; May 28 is too old
    }
    assert again.is_empty() and stored.height == 8
    by_key = {r["dedupe_key"]: r for r in stored.iter_rows(named=True)}
    assert by_key["budget_threshold|E-aws-month|2026-06-01|80"]["superseded_by"] == (
        "budget_threshold|E-aws-month|2026-06-01|90"
    )
    spike = by_key["spend_spike|prod|anthropic|2026-06-12"]
    assert (spike["amount_usd"], spike["reference_usd"], spike["impact_usd"]) == (50, 10, 40)
    assert by_key["anomaly|prod|cost_usd|provider|anthropic|2026-06-12"]["severity"] == "critical"
    assert (
        "1 cost rows have no USD amount"
        in (by_key["budget_threshold|E-aws-month|2026-06-01|90"]["message"])
    )
    assert all(r["created_at"] == NOW for r in stored.iter_rows(named=True))


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("budgets: [{name: x, scope: {provider: openai}, period: monthly, amount: 1}]",
         "budget 'x': field 'scope.source_tag': required"),
        ("budgets: [{name: x, scope: {source_tag: prod}, period: monthly, amount: 1, "
         "currency: EUR}]", "budget 'x': field 'currency': 'EUR' is not supported"),
        ("budgets: [{name: x, scope: {source_tag: prod}, period: daily, amount: 1}]",
         "budget 'x': field 'period'"),
        ("budgets: [{name: x, scope: {source_tag: prod}, period: monthly, amount: -5}]",
         "budget 'x': field 'amount': must be a positive number"),
        ("budgets: [{name: x, scope: {source_tag: prod, squad: a}, period: monthly, amount: 1}]",
         "budget 'x': field 'scope.squad': unknown dimension"),
        ("budgets: [{name: x, scope: {source_tag: prod}, period: monthly, amount: 1, "
         "thresholds: [80, nope]}]", "budget 'x': field 'thresholds'"),
        ("budgets: [{name: x, scope: {source_tag: prod}, period: monthly, amount: 1}, "
         "{name: x, scope: {source_tag: dev}, period: weekly, amount: 1}]",
         "budget 'x': field 'name': duplicate"),
        ("budgets: [{scope: {source_tag: prod}, period: monthly, amount: 1}]",
         "budget #1: field 'name': required"),
    ],
)  # fmt: skip
def test_budget_config_errors_name_budget_and_field(doc, message):
    with pytest.raises(ConfigError, match=r"budgets\.yml") as err:
        parse_budgets(yaml.safe_load(doc))
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("channels: [{name: m, type: email, host: h, from: a@b, to: c@d, username: u, "
         "password: hunter2}]", "channel 'm': field 'password': never write a password here"),
        ("channels: [{name: m, type: email, host: h, from: a@b, to: c@d, username: u}]",
         "channel 'm': field 'password_env': required with username"),
        ("channels: [{name: s, type: slack}]", "channel 's': field 'url': give exactly one"),
        ("channels: [{name: s, type: teams, url: 'http://x'}]", "channel 's': field 'type'"),
        ("channels: [{name: s, type: slack, url: 'http://x', min_severity: loud}]",
         "channel 's': field 'min_severity'"),
    ],
)  # fmt: skip
def test_channel_config_errors(doc, message):
    with pytest.raises(ConfigError) as err:
        parse_channels(yaml.safe_load(doc))
    assert message in str(err.value)


def test_config_files_examples_and_locations(tmp_path, monkeypatch):
    root = Path(__file__).resolve().parents[2] / "config"
    assert len(load_budgets(root / "budgets.example.yml").budgets) == 5
    assert len(load_channels(root / "alert_channels.example.yml").channels) == 3
    settings = get_settings(tmp_path / "warehouse.duckdb")
    monkeypatch.delenv("BIMO_BUDGETS", raising=False)
    assert load_budgets(settings=settings).budgets == ()  # no default file: no budgets
    (tmp_path / "budgets.yml").write_text("budgets: [{name: x, scope: {source_tag: dev}, "
                                          "period: weekly, amount: 3}]")  # fmt: skip
    assert load_budgets(settings=settings).budgets[0].name == "x"
    monkeypatch.setenv("BIMO_BUDGETS", str(tmp_path / "missing.yml"))
    with pytest.raises(ConfigError, match=r"missing\.yml: budgets file not found"):
        load_budgets(settings=settings)
    (tmp_path / "bad.yml").write_text("budgets: [name: x\n")
    monkeypatch.setenv("BIMO_BUDGETS", str(tmp_path / "bad.yml"))
    with pytest.raises(ConfigError, match=r"bad\.yml: not valid YAML"):
        load_budgets(settings=settings)


@pytest.mark.slow
def test_on_the_demo_built_marts(built, tmp_path):
    from bimo.analytics.run import compute_anomalies, compute_forecast, store
    from tests.conftest import END, built_copy

    settings = built_copy(built, tmp_path)
    with write_connection(settings) as con:
        store(con, "cost_forecast", compute_forecast(con))
        store(con, "cost_anomalies", compute_anomalies(con))
        provider = con.sql(
            "select provider from marts.fct_daily_cost where source_tag = 'prod' "
            "group by 1 order by sum(cost_usd) desc limit 1"
        ).fetchall()[0][0]
        team = con.sql(
            "select team from marts.fct_daily_cost where source_tag = 'prod' and team is not null "
            "limit 1"
        ).fetchall()[0][0]
        config = parse_budgets(
            {
                "budgets": [
                    {"name": "prod", "scope": {"source_tag": "prod", "service_category": "ai"},
                     "period": "monthly", "amount": 1},
                    {"name": "top", "scope": {"source_tag": "prod", "provider": provider},
                     "period": "monthly", "amount": 1_000_000},
                    {"name": "team", "scope": {"source_tag": "prod", "team": team},
                     "period": "rolling_30_days", "amount": 1_000_000},
                    {"name": "dev", "scope": {"source_tag": "dev"}, "period": "weekly",
                     "amount": 1_000_000},
                ]
            }
        )  # fmt: skip
        as_of = END + timedelta(days=1)  # first day of a month that only the forecast covers
        status = refresh_budget_status(con, config, as_of=as_of, now=NOW)
        new = refresh_alerts(con, config, as_of=as_of, now=NOW)
        again = refresh_alerts(con, config, as_of=as_of, now=NOW)
        oct_status = refresh_budget_status(con, config, as_of=END, now=NOW)
    rows = {r["budget_name"]: r for r in status.iter_rows(named=True)}
    assert rows["prod"]["forecast_method"] == rows["top"]["forecast_method"] == "forecast"
    assert rows["team"]["forecast_method"] == "run_rate"
    assert rows["prod"]["data_through"] == END and rows["prod"]["spent_usd"] == 0
    assert rows["prod"]["forecast_usd"] > rows["top"]["forecast_usd"] > 0
    assert rows["prod"]["risk"] == "high" and rows["top"]["risk"] == "low"
    assert rows["team"]["spent_usd"] > 0
    assert "budget_forecast|prod|2026-11-01" in set(new["dedupe_key"]) and again.is_empty()
    october = {r["budget_name"]: r for r in oct_status.iter_rows(named=True)}["prod"]
    assert october["forecast_method"] == "actual" and october["spent_usd"] > 0
    assert october["forecast_usd"] == pytest.approx(october["spent_usd"])
