"""Field coercion shared by the log parsers. Every failure raises `BadRecord` with a reason."""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime

INT64_MAX = 2**63 - 1
# Requests logged before 2000 or after 2099 are corrupt clocks or units, never real traffic.
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)

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
    if type(value) is str and value and value != "None":  # the usual case, first
        return value
    if value is None or value == "" or value == "None":
        if required:
            raise BadRecord(f"missing {field}")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadRecord(f"{field}: expected a string, got {type(value).__name__}")
    return str(value)


def count(value: object, field: str) -> int | None:
    """A non-negative integer token/latency count; integral floats and numeric strings accepted."""
    if type(value) is int and 0 <= value <= INT64_MAX:  # the usual case, first
        return value
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
    if value > INT64_MAX:
        raise BadRecord(f"{field}: {str(value)[:24]} is out of range")
    return value


def money(value: object, field: str) -> float | None:
    """A non-negative amount of money (float, int or numeric string, E-notation allowed)."""
    if type(value) is float and 0 <= value < math.inf:  # the usual case (NaN fails both)
        return value
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadRecord(f"{field}: expected a number, got a boolean")
    try:
        amount = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadRecord(f"{field}: expected a number, got {str(value)[:20]!r}") from None
    if not math.isfinite(amount) or amount < 0:
        raise BadRecord(f"{field}: invalid amount {amount}")
    return amount


def flag(value: object, field: str) -> bool | None:
    """A boolean from JSON true/false or the strings "True"/"False" ("None" is missing)."""
    if type(value) is bool:
        return value
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
        try:
            when = datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, ValueError, OSError):
            raise BadRecord(f"{field}: {str(value)[:24]} is not a valid unix time") from None
        return plausible(when, field)
    if not isinstance(value, str):
        raise BadRecord(f"{field}: expected a timestamp, got {type(value).__name__}")
    try:
        try:  # the usual case: RFC 3339 as written
            parsed = iso_utc(value)
        except ValueError:
            parsed = iso_utc(value.strip().replace(" UTC", "+00:00"))
    except (ValueError, OverflowError):
        raise BadRecord(f"{field}: unparseable timestamp {value[:40]!r}") from None
    return plausible(parsed, field)


def iso_utc(text: str) -> datetime:
    """The UTC datetime of an ISO 8601 text: its offset applied, a naive one read as UTC.
    Raises ValueError (or OverflowError) where `datetime.fromisoformat` cannot read it."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        return _as_utc(parsed, text)
    return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)


def _as_utc(naive: datetime, text: str) -> datetime:
    """A naive time read as UTC. Parsing its text again with `+00:00` costs half of
    `replace(tzinfo=UTC)` (LiteLLM writes three naive times per record); a date alone would
    take the offset for a time, so it, and anything the second parse does not make UTC, is
    replaced."""
    if len(text) > 10:
        try:
            again = datetime.fromisoformat(text + "+00:00")
        except ValueError:
            pass
        else:
            if again.tzinfo is UTC:
                return again
    return naive.replace(tzinfo=UTC)


def plausible(when: datetime, field: str) -> datetime:
    """`when` if it lies in [2000, 2100); anything else is quarantined as out of range."""
    if not EARLIEST <= when < LATEST:
        raise BadRecord(f"{field}: {when.isoformat()[:25]} is out of range (2000-2099)")
    return when


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
    try:
        when = datetime.fromtimestamp(nanos / 1e9, tz=UTC)
    except (OverflowError, ValueError, OSError):
        raise BadRecord(f"{field}: {str(value)[:24]} is not a valid unix time") from None
    return plausible(when, field)


@functools.lru_cache(maxsize=16)
def _ignored(known: frozenset[str]) -> frozenset[str]:
    return known | CONTENT_KEYS


def scalar_extras(record: dict, known: frozenset[str]) -> str | None:
    """Unknown top-level fields whose values cannot hold content (numbers, booleans, null)."""
    if record.keys() <= _ignored(known):  # no unknown field at all: the usual case
        return None
    import orjson

    keep = {
        k: v
        for k, v in record.items()
        if k not in known and k not in CONTENT_KEYS and (v is None or isinstance(v, int | float))
    }
    return orjson.dumps(keep, option=orjson.OPT_SORT_KEYS).decode() if keep else None
