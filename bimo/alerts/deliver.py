"""Deliver pending alerts to every channel that wants them, and record each attempt.

An alert is sent once per channel. A failed send is retried on later calls with exponential
backoff until `max_attempts`; the row in `analytics.alert_deliveries` keeps the attempts, the last
error (secrets redacted) and `next_attempt_at` (NULL once delivered or out of attempts).

Sends happen while holding the warehouse's writer lock and each result is recorded right after
its send, so two deliverers never send the same alert and a crash re-sends at most one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import polars as pl

from bimo.alerts.channels import Channel, ChannelsConfig, DeliveryPolicy, load_channels
from bimo.alerts.send import redact, send_alert
from bimo.alerts.tables import ensure_tables, read_alerts, read_deliveries, record_delivery
from bimo.settings import Settings, get_settings
from bimo.warehouse import (
    WarehouseBusyError,
    connect_with_retry,
    publish_snapshot,
    read_connection,
    writer_lock,
)

Sender = Callable[..., None]
Pending = tuple[dict[str, Any], Channel, dict[str, Any] | None]


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    gave_up: int = 0  # failed on their last allowed attempt
    deferred: int = 0  # pending, left for a later call (per-call limits)
    skipped: str | None = None  # why nothing was attempted

    def summary(self) -> str:
        if self.skipped:
            return self.skipped
        return (
            f"delivered {self.delivered}, failed {self.failed} (of which {self.gave_up} out of "
            f"attempts), deferred {self.deferred}"
        )


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def backoff(policy: DeliveryPolicy, attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: backoff_seconds × 2^(attempts-1), capped."""
    seconds = policy.backoff_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, policy.max_backoff_seconds))


def pending(
    alerts: pl.DataFrame, deliveries: pl.DataFrame, config: ChannelsConfig, now: datetime
) -> list[Pending]:
    """(alert, channel, previous delivery row) for every send that is due now."""
    policy = config.policy
    previous = {(d["alert_id"], d["channel"]): d for d in deliveries.iter_rows(named=True)}
    oldest = now - timedelta(hours=policy.max_age_hours)
    due: list[Pending] = []
    for alert in alerts.sort("created_at", "alert_id").iter_rows(named=True):
        if alert.get("superseded_by"):
            continue
        for channel in config.channels:
            if not channel.accepts(alert):
                continue
            prev = previous.get((alert["alert_id"], channel.name))
            if prev is None:
                if alert["created_at"] >= oldest:
                    due.append((alert, channel, None))
            elif (
                prev["status"] == "failed"
                and prev["next_attempt_at"] is not None
                and prev["next_attempt_at"] <= now
                and prev["attempts"] < policy.max_attempts
            ):
                due.append((alert, channel, prev))
    return due


def attempt(
    alert: dict[str, Any],
    channel: Channel,
    prev: dict[str, Any] | None,
    policy: DeliveryPolicy,
    now: datetime,
    send: Sender = send_alert,
) -> dict[str, Any]:
    """Send once and return the new delivery row."""
    attempts = (prev["attempts"] if prev else 0) + 1
    try:
        send(channel, alert, timeout=policy.timeout_seconds)
        error = None
    except Exception as exc:
        error = redact(f"{type(exc).__name__}: {exc}", channel.secrets())
    retry = error is not None and attempts < policy.max_attempts
    return {
        "alert_id": alert["alert_id"],
        "dedupe_key": alert["dedupe_key"],
        "channel": channel.name,
        "channel_type": channel.type,
        "status": "delivered" if error is None else "failed",
        "attempts": attempts,
        "first_attempt_at": prev["first_attempt_at"] if prev else now,
        "last_attempt_at": now,
        "delivered_at": now if error is None else None,
        "next_attempt_at": now + backoff(policy, attempts) if retry else None,
        # the last failure stays visible after a later success
        "last_error": error if error is not None else (prev or {}).get("last_error"),
    }


def _due(con: duckdb.DuckDBPyConnection, config: ChannelsConfig, now: datetime) -> list[Pending]:
    return pending(read_alerts(con), read_deliveries(con), config, now)


def deliver_pending(
    settings: Settings | None = None,
    *,
    config: ChannelsConfig | None = None,
    now: datetime | None = None,
    send: Sender = send_alert,
    lock_timeout_s: float = 5.0,
) -> DeliveryReport:
    """Send every due delivery (see the module docstring); cheap when nothing is due."""
    settings = settings or get_settings()
    config = config or load_channels(settings=settings)
    if not config.channels:
        return DeliveryReport(skipped="no alert channels configured")
    now = now or utcnow()
    snapshot = read_connection(settings)  # read copy: checks without taking the writer lock
    if snapshot is None:
        return DeliveryReport(skipped="the warehouse has not been published yet")
    try:
        if not _due(snapshot, config, now):
            return DeliveryReport(skipped="nothing to deliver")
    finally:
        snapshot.close()
    try:
        with writer_lock(settings, timeout_s=lock_timeout_s):
            report = _deliver_locked(settings, config, now, send)
            publish_snapshot(settings, locked=True)
    except WarehouseBusyError:
        return DeliveryReport(skipped="the warehouse is busy: delivering on a later tick")
    return report


def _deliver_locked(
    settings: Settings, config: ChannelsConfig, now: datetime, send: Sender
) -> DeliveryReport:
    policy, report = config.policy, DeliveryReport()
    deadline = time.monotonic() + policy.max_tick_seconds
    con = connect_with_retry(settings.warehouse)
    try:
        ensure_tables(con)
        due = _due(con, config, now)
        for i, (alert, channel, prev) in enumerate(due):
            if i >= policy.max_per_tick or time.monotonic() > deadline:
                report.deferred = len(due) - i
                break
            row = attempt(alert, channel, prev, policy, now, send)
            record_delivery(con, row)
            if row["status"] == "delivered":
                report.delivered += 1
            else:
                report.failed += 1
                report.gave_up += row["next_attempt_at"] is None
    finally:
        con.close()
    return report
