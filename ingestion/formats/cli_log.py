"""Bimo CLI usage JSONL (`bimo.cli.v1`): developer-side estimates, source tag `dev`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import msgspec
import pyarrow as pa

from ingestion.formats import fast
from ingestion.formats.common import BadRecord, count, flag, money, text, timestamp
from ingestion.formats.skip import Skip

TABLE = "cli_log_usage"
TIME_COLUMN = "occurred_at"
COLUMNS: dict[str, pa.DataType] = {
    "request_id": pa.string(),
    "occurred_at": pa.timestamp("us", tz="UTC"),
    "session_id": pa.string(),
    "developer": pa.string(),
    "tool": pa.string(),
    "provider": pa.string(),
    "model": pa.string(),
    "project": pa.string(),
    "team": pa.string(),
    "feature": pa.string(),
    "input_tokens": pa.int64(),
    "cache_read_input_tokens": pa.int64(),
    "cache_creation_input_tokens": pa.int64(),
    "output_tokens": pa.int64(),
    "reasoning_tokens": pa.int64(),
    "cost_usd": pa.float64(),
    "duration_ms": pa.int64(),
    "is_error": pa.bool_(),
}


def parse(rec: dict) -> Iterator[dict | BadRecord | Skip]:
    """One CLI log line → one row; lines of another `type` are skipped."""
    kind = rec.get("type", "usage")
    if kind != "usage":
        yield Skip(f"cli-log type {str(kind)[:20]}")
        return
    try:
        usage = rec.get("usage") or {}
        if not isinstance(usage, dict):
            raise BadRecord(f"usage: expected an object, got {type(usage).__name__}")
        yield {
            "request_id": text(rec.get("message_id"), "message_id", required=True),
            "occurred_at": timestamp(rec.get("ts"), "ts", required=True),
            "session_id": text(rec.get("session_id"), "session_id"),
            "developer": text(rec.get("developer"), "developer"),
            "tool": text(rec.get("tool"), "tool"),
            "provider": text(rec.get("provider"), "provider", required=True),
            "model": text(rec.get("model"), "model", required=True),
            "project": text(rec.get("project"), "project"),
            "team": text(rec.get("team"), "team"),
            "feature": text(rec.get("feature"), "feature"),
            "input_tokens": count(usage.get("input_tokens"), "usage.input_tokens"),
            "cache_read_input_tokens": count(
                usage.get("cache_read_input_tokens"), "usage.cache_read_input_tokens"
            ),
            "cache_creation_input_tokens": count(
                usage.get("cache_creation_input_tokens"), "usage.cache_creation_input_tokens"
            ),
            "output_tokens": count(usage.get("output_tokens"), "usage.output_tokens"),
            "reasoning_tokens": count(usage.get("reasoning_tokens"), "usage.reasoning_tokens"),
            "cost_usd": money(rec.get("cost_usd"), "cost_usd"),
            "duration_ms": count(rec.get("duration_ms"), "duration_ms"),
            "is_error": flag(rec.get("is_error"), "is_error"),
        }
    except BadRecord as exc:
        yield exc


# The fast path (ingestion/formats/fast.py): the usual line, decoded in C, gives the row `parse`
# gives it; any other line returns FALLBACK and goes to `parse`. Unknown fields are not kept.
Count, Text = fast.Count, fast.Text


class _Usage(msgspec.Struct, gc=False):
    input_tokens: Count | None = None
    cache_read_input_tokens: Count | None = None
    cache_creation_input_tokens: Count | None = None
    output_tokens: Count | None = None
    reasoning_tokens: Count | None = None


class _Cli(msgspec.Struct, kw_only=True, gc=False):
    type: Literal["usage"] = "usage"  # another type is skipped: `parse`
    message_id: Text
    ts: Text
    provider: Text
    model: Text
    session_id: Text | None = None
    developer: Text | None = None
    tool: Text | None = None
    project: Text | None = None
    team: Text | None = None
    feature: Text | None = None
    usage: _Usage = msgspec.field(default_factory=_Usage)
    cost_usd: fast.Money | None = None
    duration_ms: Count | None = None
    is_error: bool | None = None


_LINES = fast.Lines(
    _Cli,
    (
        *("message_id", "ts", "session_id", "developer", "tool", "provider", "model", "project"),
        *("team", "feature", "usage.input_tokens", "usage.cache_read_input_tokens"),
        *("usage.cache_creation_input_tokens", "usage.output_tokens", "usage.reasoning_tokens"),
        *("cost_usd", "duration_ms", "is_error"),
    ),
)
fast_row = _LINES.row
