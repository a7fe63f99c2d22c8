"""Bimo gateway JSONL (`bimo.gateway.v1`, see docs/log-formats.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import msgspec
import pyarrow as pa

from ingestion.formats import fast
from ingestion.formats.common import BadRecord, count, flag, scalar_extras, text, timestamp

TABLE = "bimo_gateway_requests"
TIME_COLUMN = "started_at"
# The record's fields a row reads, as attribute paths of the fast path's Struct (`_Gateway`), in
# `COLUMNS` order (its time second); its known top-level keys are theirs and `schema`: any other
# key's scalar goes to `extra`.
_PATHS = (
    *("request_id", "timestamp", "duration_ms", "ttft_ms", "provider", "model"),
    *("response_model", "operation", "status", "http_status", "error_type"),
    *("gateway_cache_hit", "usage.input_tokens", "usage.cache_read_input_tokens"),
    *("usage.cache_write_input_tokens", "usage.output_tokens", "usage.reasoning_tokens"),
    *("attribution.team", "attribution.project", "attribution.environment"),
    *("attribution.feature", "attribution.api_key_id", "attribution.user"),
)
KNOWN = frozenset({"schema", *(path.partition(".")[0] for path in _PATHS)})
COLUMNS: dict[str, pa.DataType] = {
    "request_id": pa.string(),
    "started_at": pa.timestamp("us", tz="UTC"),
    "duration_ms": pa.int64(),
    "ttft_ms": pa.int64(),
    "provider": pa.string(),
    "model": pa.string(),
    "response_model": pa.string(),
    "operation": pa.string(),
    "status": pa.string(),
    "http_status": pa.int64(),
    "error_type": pa.string(),
    "gateway_cache_hit": pa.bool_(),
    "input_tokens": pa.int64(),
    "cache_read_input_tokens": pa.int64(),
    "cache_write_input_tokens": pa.int64(),
    "output_tokens": pa.int64(),
    "reasoning_tokens": pa.int64(),
    "team": pa.string(),
    "project": pa.string(),
    "environment": pa.string(),
    "feature": pa.string(),
    "api_key_id": pa.string(),
    "user_id": pa.string(),
    "extra": pa.string(),
}


def _obj(value: object, field: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRecord(f"{field}: expected an object, got {type(value).__name__}")
    return value


def parse(rec: dict) -> Iterator[dict | BadRecord]:
    """One gateway record → one row."""
    try:
        usage = _obj(rec.get("usage"), "usage")
        attr = _obj(rec.get("attribution"), "attribution")
        status = text(rec.get("status"), "status") or "success"
        if status not in ("success", "error"):
            raise BadRecord(f"status: expected 'success' or 'error', got {status[:20]!r}")
        yield {
            "request_id": text(rec.get("request_id"), "request_id", required=True),
            "started_at": timestamp(rec.get("timestamp"), "timestamp", required=True),
            "duration_ms": count(rec.get("duration_ms"), "duration_ms"),
            "ttft_ms": count(rec.get("ttft_ms"), "ttft_ms"),
            "provider": text(rec.get("provider"), "provider", required=True),
            "model": text(rec.get("model"), "model", required=True),
            "response_model": text(rec.get("response_model"), "response_model"),
            "operation": text(rec.get("operation"), "operation") or "chat",
            "status": status,
            "http_status": count(rec.get("http_status"), "http_status"),
            "error_type": text(rec.get("error_type"), "error_type"),
            "gateway_cache_hit": flag(rec.get("gateway_cache_hit"), "gateway_cache_hit"),
            "input_tokens": count(usage.get("input_tokens"), "usage.input_tokens"),
            "cache_read_input_tokens": count(
                usage.get("cache_read_input_tokens"), "usage.cache_read_input_tokens"
            ),
            "cache_write_input_tokens": count(
                usage.get("cache_write_input_tokens"), "usage.cache_write_input_tokens"
            ),
            "output_tokens": count(usage.get("output_tokens"), "usage.output_tokens"),
            "reasoning_tokens": count(usage.get("reasoning_tokens"), "usage.reasoning_tokens"),
            "team": text(attr.get("team"), "attribution.team"),
            "project": text(attr.get("project"), "attribution.project"),
            "environment": text(attr.get("environment"), "attribution.environment"),
            "feature": text(attr.get("feature"), "attribution.feature"),
            "api_key_id": text(attr.get("api_key_id"), "attribution.api_key_id"),
            "user_id": text(attr.get("user"), "attribution.user"),
            "extra": scalar_extras(rec, KNOWN),
        }
    except BadRecord as exc:
        yield exc


# The fast path (ingestion/formats/fast.py): the usual line, decoded in C, gives the row `parse`
# gives it; any other line returns FALLBACK and goes to `parse`.
Count, Text = fast.Count, fast.Text


class _Usage(msgspec.Struct, gc=False):
    input_tokens: Count | None = None
    cache_read_input_tokens: Count | None = None
    cache_write_input_tokens: Count | None = None
    output_tokens: Count | None = None
    reasoning_tokens: Count | None = None


class _Attribution(msgspec.Struct, gc=False):
    team: Text | None = None
    project: Text | None = None
    environment: Text | None = None
    feature: Text | None = None
    api_key_id: Text | None = None
    user: Text | None = None


class _Gateway(fast.stepped_over("_Ignored", frozenset({"schema"})), kw_only=True, gc=False):
    request_id: Text
    timestamp: Text
    provider: Text
    model: Text
    duration_ms: Count | None = None
    ttft_ms: Count | None = None
    response_model: Text | None = None
    operation: Text = "chat"  # null, "" and "None" read as missing: `parse` has them
    status: Literal["success", "error"] = "success"
    http_status: Count | None = None
    error_type: Text | None = None
    gateway_cache_hit: bool | None = None
    usage: _Usage = msgspec.field(default_factory=_Usage)
    attribution: _Attribution = msgspec.field(default_factory=_Attribution)


_LINES = fast.Lines(_Gateway, _PATHS, extras=True)
fast_row = _LINES.row
