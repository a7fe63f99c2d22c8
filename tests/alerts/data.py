"""Budgets and alerts test data: a hand-computed warehouse, budget and channel configs, and a
recording HTTP handler (the fixtures built from them are in conftest.py)."""

import json
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import duckdb
import yaml

from bimo.alerts.config import parse_budgets
from bimo.alerts.run import refresh_alerts, refresh_budget_status
from bimo.alerts.tables import read_deliveries
from bimo.warehouse import read_connection, write_connection

AS_OF = date(2026, 6, 15)  # a Monday
NOW = datetime(2026, 6, 15, 8, 0)
FIRST = date(2026, 5, 20)

DDL = """
create schema if not exists marts;
create schema if not exists analytics;
create table marts.fct_daily_cost (
    charge_date date not null, source_tag varchar not null, service_category varchar not null,
    provider varchar not null, service varchar, model varchar, project varchar, team varchar,
    environment varchar, feature varchar, api_key_id varchar, charge_category varchar,
    currency varchar not null, cost decimal(38, 12), cost_usd decimal(38, 12),
    effective_cost_usd decimal(38, 12), list_cost_usd decimal(38, 12), requests bigint,
    unpriced_requests bigint
);
create table analytics.cost_forecast (
    source_tag varchar, series_level varchar, series_key varchar, provider varchar,
    forecast_date date, model_name varchar, forecast double, lo_80 double, hi_80 double,
    lo_95 double, hi_95 double, trained_through date, generated_at timestamp
);
create table analytics.cost_anomalies (
    anomaly_id varchar, source_tag varchar, metric varchar, series_level varchar,
    series_key varchar, provider varchar, model varchar, anomaly_date date, actual double,
    expected double, lower_bound double, upper_bound double, score double, severity varchar,
    impact_usd double, direction varchar, method varchar, status varchar, detected_at timestamp
);
"""

BUDGETS = """
budgets:
  - {name: A-search, scope: {source_tag: prod, provider: openai, team: search},
     period: monthly, amount: 2500}
  - {name: B-openai, scope: {source_tag: prod, provider: openai}, period: monthly, amount: 2000}
  - {name: C-ads-week, scope: {source_tag: prod, team: ads}, period: weekly, amount: 1000}
  - {name: D-aws-rolling, scope: {source_tag: billing, provider: aws}, period: rolling_7_days,
     amount: 1500}
  - {name: E-aws-month, scope: {source_tag: billing, provider: aws}, period: monthly,
     amount: 3000, currency: USD, thresholds: [80, 90, 100]}
"""


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def build_warehouse(path: Path) -> None:
    """Hand-computable spend: prod through AS_OF - 1, billing through AS_OF - 2."""
    rows = []

    def add(day, tag, cat, provider, team, usd, charge="Usage", currency="USD"):
        rows.append((day, tag, cat, provider, team, charge, currency, usd))

    for d in days(FIRST, AS_OF - timedelta(days=1)):
        add(d, "prod", "ai", "openai", "search", 100.0)
        add(d, "prod", "ai", "openai", "ads", 20.0)
        spike = 50.0 if d == date(2026, 6, 12) else 60.0 if d == date(2026, 5, 28) else 10.0
        add(d, "prod", "ai", "anthropic", "platform", spike)
        add(d, "prod", "saas", "slack", "ads", 5.0, charge="Purchase")  # seats: recurring
    for d in days(FIRST, AS_OF - timedelta(days=2)):
        add(d, "billing", "cloud", "aws", "infra", 200.0)
    add(date(2026, 6, 1), "billing", "cloud", "aws", "infra", 300.0, charge="Tax")
    add(date(2026, 6, 2), "billing", "cloud", "aws", "infra", None, currency="EUR")
    con = duckdb.connect(str(path))
    try:
        con.execute(DDL)
        for day, tag, cat, provider, team, charge, currency, usd in rows:
            con.execute(
                "insert into marts.fct_daily_cost (charge_date, source_tag, service_category, "
                "provider, team, charge_category, currency, cost, cost_usd, effective_cost_usd, "
                "list_cost_usd) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [day, tag, cat, provider, team, charge, currency, usd or 1, usd, usd, usd],
            )
        for d in days(AS_OF, AS_OF + timedelta(days=29)):  # prod/openai forecast: $50 a day
            con.execute(
                "insert into analytics.cost_forecast values "
                "('prod', 'provider', 'openai', 'openai', ?, 'AutoETS', 50, 40, 60, 35, 65, ?, ?)",
                [d, AS_OF - timedelta(days=1), NOW],
            )
        anomalies = [
            ("a1", date(2026, 6, 12), "high", "open"),
            ("a2", date(2026, 6, 13), "medium", "acknowledged"),
            ("a3", date(2026, 5, 28), "high", "open"),  # before the 7-day lookback
        ]
        for anomaly_id, day, severity, status in anomalies:
            con.execute(
                "insert into analytics.cost_anomalies values (?, 'prod', 'cost_usd', "
                "'provider', 'anthropic', 'anthropic', null, ?, 50, 10, 5, 15, 20, ?, 40, "
                "'spike', 'mstl', ?, ?)",
                [anomaly_id, day, severity, status, NOW],
            )
    finally:
        con.close()


def status_by_name(settings, budgets_yaml=BUDGETS):
    with write_connection(settings) as con:
        frame = refresh_budget_status(con, parse_budgets(yaml.safe_load(budgets_yaml)),
                                      as_of=AS_OF, now=NOW)  # fmt: skip
    return {r["budget_name"]: r for r in frame.iter_rows(named=True)}


class Recorder(BaseHTTPRequestHandler):
    plan: dict[str, list[int]]  # path -> status codes to answer, in order (then 200)
    received: list[tuple[str, dict]]

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append((self.path, body))
        codes = self.plan.get(self.path, [])
        code = codes.pop(0) if codes else 200
        reply = f"failed at {self.path}".encode() if code >= 400 else b"ok"
        self.send_response(code)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


def channels_yaml(base_url: str, smtp_port: int) -> str:
    return f"""
channels:
  - {{name: slack, type: slack, url: "{base_url}/slack"}}
  - {{name: hook, type: webhook, url_env: TEST_HOOK_URL, headers: {{X-Source: bimo}},
     min_severity: warning}}
  - name: mail
    type: email
    host: 127.0.0.1
    port: {smtp_port}
    from: bimo@example.com
    to: [finance@example.com]
    username: bimo
    password_env: TEST_SMTP_PASSWORD
    kinds: [budget_threshold]
delivery: {{max_attempts: 3, backoff_seconds: 60, timeout_seconds: 5}}
"""


def with_alerts(settings):
    config = parse_budgets(yaml.safe_load(BUDGETS))
    with write_connection(settings) as con:
        refresh_budget_status(con, config, as_of=AS_OF, now=NOW)
        refresh_alerts(con, config, as_of=AS_OF, now=NOW)


def deliveries(settings) -> dict:
    con = read_connection(settings)
    try:
        return {
            (r["dedupe_key"], r["channel"]): r for r in read_deliveries(con).iter_rows(named=True)
        }
    finally:
        con.close()
