"""Budgets and alerts: budget status on hand-computed data, alert rules and dedupe, delivery to a
local HTTP server and a local SMTP server (with retries), config errors, the Dagster sensor,
and one run on the real demo-built marts."""

import json
import shutil
import socket
import threading
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from bimo.alerts.budgets import period_bounds
from bimo.alerts.channels import load_channels, parse_channels
from bimo.alerts.config import Budget, ConfigError, load_budgets, parse_budgets
from bimo.alerts.deliver import deliver_pending
from bimo.alerts.run import refresh_alerts, refresh_budget_status
from bimo.alerts.tables import read_alerts, read_deliveries
from bimo.settings import get_settings
from bimo.warehouse import read_connection, write_connection, writer_lock

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


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    build_warehouse(path)
    return get_settings(path)


def status_by_name(settings, budgets_yaml=BUDGETS):
    with write_connection(settings) as con:
        frame = refresh_budget_status(con, parse_budgets(yaml.safe_load(budgets_yaml)),
                                      as_of=AS_OF, now=NOW)  # fmt: skip
    return {r["budget_name"]: r for r in frame.iter_rows(named=True)}


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


# --- local servers -------------------------------------------------------------------------


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


@pytest.fixture
def http_server():
    handler = type("H", (Recorder,), {"plan": {}, "received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    class Inbox:
        messages: list

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
            return "250 OK"

    def auth(server, session, envelope, mechanism, data):
        ok = (data.login, data.password) == (b"bimo", b"s3cret-pw")
        return AuthResult(success=ok, handled=False)  # unhandled: the server answers 535

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    inbox.messages = []
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=auth, auth_require_tls=False
    )
    controller.start()
    yield port, inbox
    controller.stop()


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


def test_delivery_once_retry_and_email(warehouse, http_server, smtp_server, monkeypatch):
    base, handler = http_server
    port, inbox = smtp_server
    secret_path = "/hook/T0KEN-abc123"
    monkeypatch.setenv("TEST_HOOK_URL", base + secret_path)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret-pw")
    handler.plan[secret_path] = [500]  # the webhook fails once, then accepts
    with_alerts(warehouse)
    config = parse_channels(yaml.safe_load(channels_yaml(base, port)))

    first = deliver_pending(warehouse, config=config, now=NOW)
    # 8 alerts, one superseded: 7 to slack, 7 to the hook (all are warning+), 2 thresholds by mail
    log = deliveries(warehouse)
    slack = [k for k in log if k[1] == "slack"]
    hook = {k: r for k, r in log.items() if k[1] == "hook"}
    mail = [k for k in log if k[1] == "mail"]
    assert len(slack) == 7 and len(mail) == 2 and len(hook) == 7
    failed = [r for r in hook.values() if r["status"] == "failed"]
    assert len(failed) == 1 and first.failed == 1 and first.delivered == 15
    row = failed[0]
    assert row["attempts"] == 1 and row["next_attempt_at"] == NOW + timedelta(seconds=60)
    assert "HTTP 500" in row["last_error"] and "T0KEN" not in row["last_error"]

    # the next tick: nothing is due (the retry waits for its backoff), nothing is re-sent
    sent = len(handler.received)
    assert deliver_pending(warehouse, config=config, now=NOW + timedelta(seconds=30)).skipped
    assert len(handler.received) == sent and len(inbox.messages) == 2

    # after the backoff: the failed delivery is retried once and succeeds
    retry = deliver_pending(warehouse, config=config, now=NOW + timedelta(seconds=61))
    assert (retry.delivered, retry.failed) == (1, 0) and len(handler.received) == sent + 1
    row = deliveries(warehouse)[(row["dedupe_key"], "hook")]
    assert (row["status"], row["attempts"]) == ("delivered", 2)
    assert "HTTP 500" in row["last_error"]  # the failure stays visible
    assert deliver_pending(warehouse, config=config, now=NOW + timedelta(hours=1)).skipped

    # each alert reached each channel exactly once
    hook_bodies = [b for p, b in handler.received if p == secret_path]
    assert len({b["dedupe_key"] for b in hook_bodies}) == 7 and len(hook_bodies) == 8
    slack_bodies = [b for p, b in handler.received if p == "/slack"]
    assert len(slack_bodies) == 7 and all(set(b) == {"text"} for b in slack_bodies)
    spike = next(b for b in hook_bodies if b["kind"] == "spend_spike")
    assert spike["amount_usd"] == 50 and spike["subject_date"] == "2026-06-12"
    assert spike["details"]["provider"] == "anthropic"

    subjects = sorted(msg.split(b"Subject: ")[1].split(b"\r\n")[0] for _, _, msg in inbox.messages)
    assert subjects == [
        b"[Bimo] [WARNING] Budget 'B-openai' passed 80% (84% used)",
        b"[Bimo] [WARNING] Budget 'E-aws-month' passed 90% (97% used)",
    ]
    assert {(m[0], tuple(m[1])) for m in inbox.messages} == {
        ("bimo@example.com", ("finance@example.com",))
    }
    bodies = b"".join(m[2] for m in inbox.messages)
    assert b"prod spend is $1,680.00 of $2,000.00 (84.0%) for the monthly period" in bodies
    assert b"billing spend is $2,900.00 of $3,000.00 (96.7%)" in bodies
    assert b"dedupe_key: budget_threshold|E-aws-month|2026-06-01|90" in bodies


def test_failures_are_retried_until_max_attempts_and_redacted(warehouse, smtp_server, monkeypatch):
    port, inbox = smtp_server
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong-password-xyz")
    with_alerts(warehouse)
    doc = yaml.safe_load(channels_yaml("http://127.0.0.1:9", port))
    doc["channels"] = [doc["channels"][2]]
    config = parse_channels(doc)
    now = NOW
    for attempt in (1, 2, 3):
        report = deliver_pending(warehouse, config=config, now=now)
        assert report.failed == 2, report
        now += timedelta(seconds=60 * 2 ** (attempt - 1) + 1)
    assert deliver_pending(warehouse, config=config, now=now + timedelta(days=1)).skipped
    rows = list(deliveries(warehouse).values())
    assert len(rows) == 2 and not inbox.messages
    for row in rows:
        assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("failed", 3, None)
        assert "SMTPAuthenticationError" in row["last_error"]
        assert "wrong-password-xyz" not in row["last_error"]


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
    root = Path(__file__).resolve().parents[1] / "config"
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


def test_dagster_assets_and_sensor(tmp_path, http_server, monkeypatch):
    from orchestration.defs.alerts import alert_delivery_sensor, alerts, budget_status

    base, handler = http_server
    warehouse = tmp_path / "warehouse.duckdb"
    build_warehouse(warehouse)
    monkeypatch.setattr("bimo.alerts.run.utc_today", lambda: AS_OF)
    (tmp_path / "budgets.yml").write_text(BUDGETS)
    (tmp_path / "channels.yml").write_text(
        f'channels: [{{name: slack, type: slack, url: "{base}/slack"}}]'
    )
    monkeypatch.setenv("BIMO_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("BIMO_ALERT_CHANNELS", str(tmp_path / "channels.yml"))
    monkeypatch.delenv("BIMO_BUDGETS", raising=False)
    result = dg.materialize([budget_status, alerts])
    assert result.success
    new = next(
        e.materialization.metadata["new_alerts"].value
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(["analytics", "alerts"])
    )
    assert new == 8
    tick = alert_delivery_sensor(dg.build_sensor_context())
    assert isinstance(tick, dg.SkipReason) and tick.skip_message.startswith("delivered")
    assert len(handler.received) == new - 1  # one superseded threshold alert
    again = alert_delivery_sensor(dg.build_sensor_context())
    assert again.skip_message == "nothing to deliver" and len(handler.received) == new - 1


@pytest.mark.slow
def test_on_the_demo_built_marts(built, tmp_path):
    from bimo.analytics.run import compute_anomalies, compute_forecast, store
    from tests.conftest import END

    source, _ = built
    settings = get_settings(tmp_path / "warehouse.duckdb")
    with writer_lock(source):
        shutil.copyfile(source.warehouse, settings.warehouse)
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
