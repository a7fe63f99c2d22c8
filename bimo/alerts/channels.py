"""The alert-channels file (`alert_channels.yml`): where alerts are delivered, and how retried.

Found at `BIMO_ALERT_CHANNELS`, else `alert_channels.yml` beside the warehouse; a missing default
file means "no channels". Secrets never sit in the file: a webhook URL may come from `url_env`,
header values from `headers_env`, and the SMTP password only from the variable `password_env` names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bimo.alerts.config import ConfigError, config_path, read_yaml
from bimo.settings import Settings

CHANNEL_TYPES = ("slack", "webhook", "email")
ALERT_SEVERITIES = ("info", "warning", "critical")
ALERT_KINDS = ("budget_threshold", "budget_forecast", "anomaly", "spend_spike")
COMMON_KEYS = {"name", "type", "min_severity", "kinds", "source_tags"}
TYPE_KEYS = {
    "slack": {"url", "url_env"},
    "webhook": {"url", "url_env", "headers", "headers_env"},
    "email": {"host", "port", "from", "to", "starttls", "ssl", "username", "password_env"},
}


class MissingSecretError(RuntimeError):
    """An environment variable that the channels file names is not set."""


@dataclass(frozen=True)
class DeliveryPolicy:
    """Retries with exponential backoff: attempt n+1 waits backoff * 2**(n-1), capped."""

    max_attempts: int = 5
    backoff_seconds: float = 60.0
    max_backoff_seconds: float = 6 * 3600.0
    max_age_hours: float = 7 * 24.0  # older alerts are never *first* sent (e.g. to a new channel)
    timeout_seconds: float = 10.0
    max_per_tick: int = 50
    max_tick_seconds: float = 40.0  # no new send starts later in a sensor tick than this


@dataclass(frozen=True)
class Channel:
    """One destination. Only the fields of its `type` are used."""

    name: str
    type: str
    min_severity: str = "info"
    kinds: tuple[str, ...] | None = None
    source_tags: tuple[str, ...] | None = None
    url: str | None = None
    url_env: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    headers_env: dict[str, str] = field(default_factory=dict)
    host: str | None = None
    port: int | None = None
    sender: str | None = None
    to: tuple[str, ...] = ()
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password_env: str | None = None

    def accepts(self, alert: dict[str, Any]) -> bool:
        """Whether this channel wants the alert (severity floor, kinds, source tags)."""
        sev = alert.get("severity")
        if sev not in ALERT_SEVERITIES:
            return False
        if ALERT_SEVERITIES.index(sev) < ALERT_SEVERITIES.index(self.min_severity):
            return False
        if self.kinds is not None and alert.get("kind") not in self.kinds:
            return False
        return self.source_tags is None or alert.get("source_tag") in self.source_tags

    def resolved_url(self) -> str:
        return self.url or _env(self.url_env or "")

    def resolved_headers(self) -> dict[str, str]:
        return {**self.headers, **{h: _env(var) for h, var in self.headers_env.items()}}

    def password(self) -> str | None:
        return _env(self.password_env) if self.password_env else None

    def secrets(self) -> list[str]:
        """Values to redact from any error message (set variables only; never raises)."""
        found = []
        url = self.url or os.environ.get(self.url_env or "", "")
        if url:
            parts = urlsplit(url)
            found += [url, parts.path, parts.query, parts.password or ""]
        found += [os.environ.get(v, "") for v in self.headers_env.values()]
        if self.password_env:
            found.append(os.environ.get(self.password_env, ""))
        return [s for s in found if s and s != "/"]


@dataclass(frozen=True)
class ChannelsConfig:
    channels: tuple[Channel, ...] = ()
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    path: Path | None = None


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise MissingSecretError(f"environment variable {name or '(unnamed)'} is not set")
    return value


def load_channels(path: Path | None = None, *, settings: Settings | None = None) -> ChannelsConfig:
    """Read and validate the channels file (see the module docstring for where it is found)."""
    explicit = path is not None
    if path is None:
        path, explicit = config_path("BIMO_ALERT_CHANNELS", "alert_channels.yml", settings)
    if not path.exists():
        if explicit:
            raise ConfigError(f"{path}: alert channels file not found")
        return ChannelsConfig()
    return parse_channels(read_yaml(path), source=str(path))


def parse_channels(doc: Any, *, source: str = "alert_channels.yml") -> ChannelsConfig:
    """Validate a parsed channels document: `{channels: [...], delivery: {...}}`."""
    if doc is None:
        return ChannelsConfig(path=Path(source))
    if not isinstance(doc, dict) or set(doc) - {"channels", "delivery"}:
        raise ConfigError(f"{source}: expected a mapping with 'channels' (and 'delivery')")
    items = doc.get("channels") or []
    if not isinstance(items, list):
        raise ConfigError(f"{source}: 'channels' must be a list")
    channels, seen = [], set()
    for i, item in enumerate(items, start=1):
        channel = _channel(item, source, i)
        if channel.name in seen:
            raise ConfigError(f"{source}: channel '{channel.name}': field 'name': duplicate name")
        seen.add(channel.name)
        channels.append(channel)
    return ChannelsConfig(tuple(channels), _policy(doc.get("delivery") or {}, source), Path(source))


def _channel(item: Any, source: str, index: int) -> Channel:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
        raise ConfigError(f"{source}: channel #{index}: field 'name': required, a string")
    name = item["name"]

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{source}: channel '{name}': field '{key}': {message}")

    kind = item.get("type")
    if kind not in CHANNEL_TYPES:
        raise fail("type", f"must be one of {', '.join(CHANNEL_TYPES)}, got {kind!r}")
    if "password" in item:
        raise fail("password", "never write a password here: put it in an environment "
                   "variable and name that variable in password_env")  # fmt: skip
    unknown = set(item) - COMMON_KEYS - TYPE_KEYS[kind]
    if unknown:
        raise fail(sorted(unknown)[0], f"unknown for a {kind} channel")
    sev = item.get("min_severity", "info")
    if sev not in ALERT_SEVERITIES:
        raise fail("min_severity", f"must be one of {', '.join(ALERT_SEVERITIES)}, got {sev!r}")
    kinds = _strings(item, "kinds", fail)
    if kinds and set(kinds) - set(ALERT_KINDS):
        raise fail("kinds", f"allowed: {', '.join(ALERT_KINDS)}; got {list(kinds)}")
    common = {
        "name": name,
        "type": kind,
        "min_severity": sev,
        "kinds": kinds,
        "source_tags": _strings(item, "source_tags", fail),
    }
    if kind == "email":
        return _email(item, common, fail)
    url, url_env = item.get("url"), item.get("url_env")
    if (url is None) == (url_env is None):
        raise fail("url", "give exactly one of url or url_env")
    if url is not None and (
        not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https")
    ):
        raise fail("url", "must be an http(s) URL")
    headers, headers_env = item.get("headers") or {}, item.get("headers_env") or {}
    for key, value in (("headers", headers), ("headers_env", headers_env)):
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise fail(key, "must be a mapping of header: string")
    return Channel(**common, url=url, url_env=url_env, headers=headers, headers_env=headers_env)


def _email(item: dict, common: dict, fail) -> Channel:
    for key in ("host", "from", "to"):
        if not item.get(key):
            raise fail(key, "required for an email channel")
    to = _strings(item, "to", fail) or ()
    ssl, starttls = bool(item.get("ssl", False)), bool(item.get("starttls", False))
    if ssl and starttls:
        raise fail("starttls", "use either ssl (implicit TLS) or starttls, not both")
    port = item.get("port", 465 if ssl else 587 if starttls else 25)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise fail("port", f"must be a port number, got {port!r}")
    username, password_env = item.get("username"), item.get("password_env")
    if username and not password_env:
        raise fail("password_env", "required with username: the variable holding the password")
    return Channel(
        **common,
        host=str(item["host"]),
        port=port,
        sender=str(item["from"]),
        to=to,
        starttls=starttls,
        ssl=ssl,
        username=username,
        password_env=password_env,
    )


def _strings(item: dict, key: str, fail) -> tuple[str, ...] | None:
    value = item.get(key)
    if value is None:
        return None
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v for v in values):
        raise fail(key, "must be a string or a non-empty list of strings")
    return tuple(values)


def _policy(doc: Any, source: str) -> DeliveryPolicy:
    defaults = DeliveryPolicy()
    if not isinstance(doc, dict) or set(doc) - set(defaults.__dataclass_fields__):
        raise ConfigError(
            f"{source}: delivery: expected a mapping of {', '.join(defaults.__dataclass_fields__)}"
        )
    values = {**defaults.__dict__, **doc}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"{source}: delivery: field '{key}': must be a positive number")
    for key in ("max_attempts", "max_per_tick"):
        if not isinstance(values[key], int):
            raise ConfigError(f"{source}: delivery: field '{key}': must be a whole number")
    return DeliveryPolicy(**values)
