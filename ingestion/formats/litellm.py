"""LiteLLM proxy spend logs (`LiteLLM_SpendLogs` rows exported as JSON)."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pyarrow as pa

from ingestion.formats.common import BadRecord, count, flag, money, text, timestamp

TABLE = "litellm_spend_logs"
TIME_COLUMN = "start_time"
COLUMNS: dict[str, pa.DataType] = {
    "request_id": pa.string(),
    "call_type": pa.string(),
    "api_key": pa.string(),
    "key_alias": pa.string(),
    "spend": pa.float64(),
    "prompt_tokens": pa.int64(),
    "completion_tokens": pa.int64(),
    "total_tokens": pa.int64(),
    "cache_read_input_tokens": pa.int64(),
    "cache_creation_input_tokens": pa.int64(),
    "reasoning_tokens": pa.int64(),
    "start_time": pa.timestamp("us", tz="UTC"),
    "end_time": pa.timestamp("us", tz="UTC"),
    "completion_start_time": pa.timestamp("us", tz="UTC"),
    "request_duration_ms": pa.int64(),
    "model": pa.string(),
    "model_group": pa.string(),
    "custom_llm_provider": pa.string(),
    "user_id": pa.string(),
    "end_user": pa.string(),
    "team_id": pa.string(),
    "team_alias": pa.string(),
    "project": pa.string(),
    "environment": pa.string(),
    "feature": pa.string(),
    "status": pa.string(),
    "cache_hit": pa.bool_(),
}


def _json_field(value: object) -> object:
    """LiteLLM exports JSON columns as JSON-encoded strings; unparseable ones count as empty."""
    if isinstance(value, str):
        try:
            return orjson.loads(value) if value.strip() else None
        except orjson.JSONDecodeError:
            return None
    return value


def _tags(value: object) -> dict[str, str]:
    tags = _json_field(value)
    if not isinstance(tags, list):
        return {}
    pairs = (str(t).split(":", 1) for t in tags if isinstance(t, str) and ":" in t)
    return {k.strip(): v.strip() for k, v in pairs}


def parse(rec: dict) -> Iterator[dict | BadRecord]:
    """One spend-log row → one row; cache detail comes from `metadata.usage_object`."""
    try:
        meta = _json_field(rec.get("metadata"))
        meta = meta if isinstance(meta, dict) else {}
        usage = meta.get("usage_object") if isinstance(meta.get("usage_object"), dict) else {}
        details = usage.get("prompt_tokens_details") or {}
        out_details = usage.get("completion_tokens_details") or {}
        spend_meta = meta.get("spend_logs_metadata")
        spend_meta = spend_meta if isinstance(spend_meta, dict) else {}
        tags = _tags(rec.get("request_tags"))
        cache_read = count(usage.get("cache_read_input_tokens"), "usage_object.cache_read")
        if cache_read is None and isinstance(details, dict):
            cache_read = count(details.get("cached_tokens"), "usage_object.cached_tokens")
        reasoning = None
        if isinstance(out_details, dict):
            reasoning = count(out_details.get("reasoning_tokens"), "usage_object.reasoning_tokens")

        def attr(key: str) -> str | None:
            return text(spend_meta.get(key), f"spend_logs_metadata.{key}") or tags.get(key)

        yield {
            "request_id": text(rec.get("request_id"), "request_id", required=True),
            "call_type": text(rec.get("call_type"), "call_type"),
            "api_key": text(rec.get("api_key"), "api_key"),
            "key_alias": text(meta.get("user_api_key_alias"), "metadata.user_api_key_alias"),
            "spend": money(rec.get("spend"), "spend"),
            "prompt_tokens": count(rec.get("prompt_tokens"), "prompt_tokens"),
            "completion_tokens": count(rec.get("completion_tokens"), "completion_tokens"),
            "total_tokens": count(rec.get("total_tokens"), "total_tokens"),
            "cache_read_input_tokens": cache_read,
            "cache_creation_input_tokens": count(
                usage.get("cache_creation_input_tokens"), "usage_object.cache_creation"
            ),
            "reasoning_tokens": reasoning,
            "start_time": timestamp(rec.get("startTime"), "startTime", required=True),
            "end_time": timestamp(rec.get("endTime"), "endTime"),
            "completion_start_time": timestamp(
                rec.get("completionStartTime"), "completionStartTime"
            ),
            "request_duration_ms": count(rec.get("request_duration_ms"), "request_duration_ms"),
            "model": text(rec.get("model"), "model"),
            "model_group": text(rec.get("model_group"), "model_group"),
            "custom_llm_provider": text(rec.get("custom_llm_provider"), "custom_llm_provider"),
            "user_id": text(rec.get("user"), "user"),
            "end_user": text(rec.get("end_user"), "end_user"),
            "team_id": text(rec.get("team_id"), "team_id")
            or text(meta.get("user_api_key_team_id"), "metadata.user_api_key_team_id"),
            "team_alias": text(meta.get("user_api_key_team_alias"), "metadata.team_alias"),
            "project": attr("project"),
            "environment": attr("environment"),
            "feature": attr("feature"),
            "status": text(rec.get("status"), "status"),
            "cache_hit": flag(rec.get("cache_hit"), "cache_hit"),
        }
    except BadRecord as exc:
        yield exc
