"""Field coercion shared by the log parsers. Every failure raises `BadRecord` with a reason."""

from __future__ import annotations

from datetime import UTC, datetime

CONTENT_KEYS = frozenset(
    {
        "messages",
        "response",
        "request",
        "prompt",
        "completion",
        "content",
        "input",
        "output",
        "proxy_server_request",
        "system",
        "system_instructions",
        "tools",
    }
)


class BadRecord(ValueError):
    """A record that cannot be loaded; its message is the quarantine reason."""


def text(value: object, field: str, *, required: bool = False) -> str | None:
    """A non-empty string or None ("" and "None" are missing, as real exports write them)."""
    if value is None or value == "" or value == "None":
        if required:
            raise BadRecord(f"missing {field}")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadRecord(f"{field}: expected a string, got {type(value).__name__}")
    return str(value)


def count(value: object, field: str) -> int | None:
    """A non-negative integer token/latency count; integral floats and numeric strings accepted."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadRecord(f"{field}: expected an integer, got a boolean")
    if isinstance(value, str):
        try:
            value = float(value) if ("." in value or "e" in value.lower()) else int(value)
        except ValueError:
            raise BadRecord(f"{field}: expected an integer, got {value[:20]!r}") from None
    if isinstance(value, float):
        if not value.is_integer():
            raise BadRecord(f"{field}: expected an integer, got {value}")
        value = int(value)
    if not isinstance(value, int):
        raise BadRecord(f"{field}: expected an integer, got {type(value).__name__}")
    if value < 0:
        raise BadRecord(f"{field}: negative value {value}")
    return value


def money(value: object, field: str) -> float | None:
    """A non-negative amount of money (float, int or numeric string, E-notation allowed)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadRecord(f"{field}: expected a number, got a boolean")
    try:
        amount = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadRecord(f"{field}: expected a number, got {str(value)[:20]!r}") from None
    if amount != amount or amount < 0:
        raise BadRecord(f"{field}: invalid amount {amount}")
    return amount


def flag(value: object, field: str) -> bool | None:
    """A boolean from JSON true/false or the strings "True"/"False" ("None" is missing)."""
    if value is None or value == "" or value == "None":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise BadRecord(f"{field}: expected a boolean, got {str(value)[:20]!r}")


def timestamp(value: object, field: str, *, required: bool = False) -> datetime | None:
    """A UTC datetime from RFC 3339 (Z or offset), naive ISO (taken as UTC) or unix seconds."""
    if value is None or value == "":
        if required:
            raise BadRecord(f"missing {field}")
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=UTC)
    if not isinstance(value, str):
        raise BadRecord(f"{field}: expected a timestamp, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" UTC", "+00:00"))
    except ValueError:
        raise BadRecord(f"{field}: unparseable timestamp {value[:40]!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def from_unix_nano(value: object, field: str, *, required: bool = False) -> datetime | None:
    """A UTC datetime from OTLP's nanosecond epoch (an int or a string-encoded int)."""
    if value in (None, "", "0", 0):
        if required:
            raise BadRecord(f"missing {field}")
        return None
    try:
        nanos = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadRecord(f"{field}: expected nanoseconds, got {str(value)[:30]!r}") from None
    return datetime.fromtimestamp(nanos / 1e9, tz=UTC)


def scalar_extras(record: dict, known: frozenset[str]) -> str | None:
    """Unknown top-level fields whose values cannot hold content (numbers, booleans, null)."""
    import orjson

    keep = {
        k: v
        for k, v in record.items()
        if k not in known and k not in CONTENT_KEYS and (v is None or isinstance(v, int | float))
    }
    return orjson.dumps(keep, option=orjson.OPT_SORT_KEYS).decode() if keep else None
