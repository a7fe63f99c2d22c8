"""Alert delivery to a local HTTP server and a local SMTP server (with retries and redaction),
and the Dagster assets and sensor that deliver them."""

from datetime import timedelta

import dagster as dg
import yaml

from bimo.alerts.channels import parse_channels
from bimo.alerts.deliver import deliver_pending
from tests.alerts.data import (
    AS_OF,
    BUDGETS,
    NOW,
    build_warehouse,
    channels_yaml,
    deliveries,
    with_alerts,
)


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
