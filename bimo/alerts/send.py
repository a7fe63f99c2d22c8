"""Send one alert to one channel: Slack-compatible webhook, JSON webhook or SMTP email.

Every sender raises on failure (a non-2xx answer, a network or SMTP error); `redact` strips the
channel's secrets from the message before it is stored.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from datetime import date, datetime
from email.message import EmailMessage
from typing import Any

from bimo.alerts.channels import Channel
from bimo.alerts.rules import usd

SEVERITY_MARK = {"critical": "🔴", "warning": "🟠", "info": "🔵"}
USER_AGENT = "bimo-alerts/1"


def redact(text: str, secrets: list[str], *, limit: int = 500) -> str:
    """`text` with every secret replaced by `***`, longest first, cut to `limit` characters."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text[:limit]


def alert_json(alert: dict[str, Any]) -> dict[str, Any]:
    """The alert as a JSON-ready mapping (dates ISO-8601, `details` parsed)."""
    out: dict[str, Any] = {}
    for key, value in alert.items():
        if isinstance(value, datetime | date):
            value = value.isoformat()
        elif key == "details" and isinstance(value, str):
            value = json.loads(value)
        out[key] = value
    return out


def slack_text(alert: dict[str, Any]) -> str:
    mark = SEVERITY_MARK.get(alert["severity"], "")
    lines = [f"{mark} *[{alert['severity'].upper()}] {alert['title']}*", alert["message"]]
    if alert.get("impact_usd") is not None and alert["kind"] != "budget_threshold":
        lines.append(f"Impact: {usd(alert['impact_usd'])}")
    lines.append(f"_{alert['kind']} · {alert['source_tag']} · {alert['dedupe_key']}_")
    return "\n".join(lines)


def post_json(channel: Channel, payload: dict[str, Any], *, timeout: float) -> None:
    body = json.dumps(payload, default=str).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **channel.resolved_headers(),
    }
    request = urllib.request.Request(
        channel.resolved_url(), data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace").strip()
        raise RuntimeError(f"HTTP {exc.code} {exc.reason}: {detail}") from None


def email_message(channel: Channel, alert: dict[str, Any]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"[Bimo] [{alert['severity'].upper()}] {alert['title']}"
    msg["From"] = channel.sender
    msg["To"] = ", ".join(channel.to)
    fields = ("kind", "source_tag", "subject", "subject_date", "amount_usd", "reference_usd",
              "impact_usd", "dedupe_key", "created_at")  # fmt: skip
    facts = "\n".join(f"{k}: {alert[k]}" for k in fields if alert.get(k) is not None)
    msg.set_content(f"{alert['message']}\n\n{facts}\n")
    return msg


def send_email(channel: Channel, alert: dict[str, Any], *, timeout: float) -> None:
    msg = email_message(channel, alert)
    password = channel.password() if channel.username else None
    context = ssl.create_default_context()
    smtp_cls = smtplib.SMTP_SSL if channel.ssl else smtplib.SMTP
    kwargs = {"context": context} if channel.ssl else {}
    with smtp_cls(channel.host, channel.port, timeout=timeout, **kwargs) as smtp:
        if channel.starttls:
            smtp.starttls(context=context)
        if channel.username:
            smtp.login(channel.username, password)
        smtp.send_message(msg)


def send_alert(channel: Channel, alert: dict[str, Any], *, timeout: float = 10.0) -> None:
    """Deliver `alert` to `channel`; raises on any failure."""
    if channel.type == "slack":
        post_json(channel, {"text": slack_text(alert)}, timeout=timeout)
    elif channel.type == "webhook":
        post_json(channel, alert_json(alert), timeout=timeout)
    elif channel.type == "email":
        send_email(channel, alert, timeout=timeout)
    else:  # validated in bimo.alerts.channels
        raise ValueError(f"unknown channel type {channel.type!r}")
