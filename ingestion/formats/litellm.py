"""LiteLLM proxy spend logs (`LiteLLM_SpendLogs` rows exported as JSON)."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import msgspec
import orjson
import pyarrow as pa

from ingestion.formats import fast
from ingestion.formats.common import BadRecord, count, flag, money, text, timestamp
from ingestion.readers import loads

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
            return loads(value) if value.strip() else None
        except orjson.JSONDecodeError:
            return None
    return value


def _tags(value: object) -> dict[str, str]:
    """`request_tags` ("project:x" strings in a JSON list, as a string) as a dict, never
    changed by its callers: a string's tags are read once per load (`_tags_of_text`)."""
    if isinstance(value, str):
        return _tags_of_text(value)
    return _tags_of(value)


@functools.lru_cache(maxsize=4096)
def _tags_of_text(value: str) -> dict[str, str]:
    return _tags_of(_json_field(value))


def _tags_of(tags: object) -> dict[str, str]:
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


# The fast path (ingestion/formats/fast.py): the usual record, decoded in C (its metadata, JSON
# in a string, too), gives the row `parse` gives it; any other returns FALLBACK for `parse`.
Count = fast.Count
Str = str | None  # "" and "None" are missing, as `text` reads them (`_BLANK`)


class _Details(msgspec.Struct, gc=False):
    cached_tokens: Count | None = None
    reasoning_tokens: Count | None = None


class _Usage(msgspec.Struct, gc=False):
    cache_read_input_tokens: Count | None = None
    cache_creation_input_tokens: Count | None = None
    prompt_tokens_details: _Details | None = None
    completion_tokens_details: _Details | None = None


class _SpendMeta(msgspec.Struct, gc=False):
    project: Str = None
    environment: Str = None
    feature: Str = None


class _Meta(msgspec.Struct, gc=False):
    user_api_key_alias: Str = None
    user_api_key_team_id: Str = None
    user_api_key_team_alias: Str = None
    spend_logs_metadata: _SpendMeta | None = None
    usage_object: _Usage | None = None


class _Spend(msgspec.Struct, kw_only=True, gc=False):
    request_id: fast.Text
    startTime: fast.Text
    call_type: Str = None
    api_key: Str = None
    spend: fast.Money | None = None
    prompt_tokens: Count | None = None
    completion_tokens: Count | None = None
    total_tokens: Count | None = None
    endTime: Str = None
    completionStartTime: Str = None
    request_duration_ms: Count | None = None
    model: Str = None
    model_group: Str = None
    custom_llm_provider: Str = None
    user: Str = None
    end_user: Str = None
    team_id: Str = None
    status: Str = None
    cache_hit: bool | Str = None
    metadata: Str = None
    request_tags: object = None


_LINES = fast.Lines(_Spend)
_META = msgspec.json.Decoder(_Meta).decode
_NO_META = _Meta()
_NO_USAGE = _Usage()
_NO_SPEND_META = _SpendMeta()


_BLANK = {"": None, "None": None}.get
"""`_BLANK(v, v)`: None for "" and "None", which `text` reads as missing; `v` otherwise."""


def _time(value: str | None) -> object:
    """`timestamp` of an optional time: None, its datetime, or FALLBACK."""
    if value is None or value == "":
        return None
    when = fast.instant(value)
    return fast.FALLBACK if when is None else when


def fast_row(line: bytes) -> tuple | object:
    """The row `parse` makes of this record, as a tuple in `COLUMNS` order; `fast.FALLBACK`
    when `parse` must read it."""
    rec = _LINES.decode(line)
    if rec is None or rec.request_id == "None":
        return fast.FALLBACK
    meta = _NO_META
    if rec.metadata is not None and rec.metadata.strip():
        try:
            meta = _META(rec.metadata)
        except (msgspec.DecodeError, RecursionError):
            return fast.FALLBACK  # `parse` reads it (as no metadata, or its values by its rules)
    usage = meta.usage_object or _NO_USAGE
    cache_read = usage.cache_read_input_tokens
    if cache_read is None and usage.prompt_tokens_details is not None:
        cache_read = usage.prompt_tokens_details.cached_tokens
    reasoning = usage.completion_tokens_details
    start = fast.instant(rec.startTime)
    end, first = _time(rec.endTime), _time(rec.completionStartTime)
    if start is None or end is fast.FALLBACK or first is fast.FALLBACK:
        return fast.FALLBACK
    hit = rec.cache_hit
    if type(hit) is str:
        hit = None if hit in ("", "None") else {"true": True, "false": False}.get(hit.lower(), hit)
        if type(hit) is str:
            return fast.FALLBACK  # `flag` quarantines it
    tags, spend_meta = _tags(rec.request_tags), meta.spend_logs_metadata or _NO_SPEND_META
    return (
        rec.request_id,
        _BLANK(rec.call_type, rec.call_type),
        _BLANK(rec.api_key, rec.api_key),
        _BLANK(meta.user_api_key_alias, meta.user_api_key_alias),
        rec.spend,
        rec.prompt_tokens,
        rec.completion_tokens,
        rec.total_tokens,
        cache_read,
        usage.cache_creation_input_tokens,
        reasoning.reasoning_tokens if reasoning is not None else None,
        start,
        end,
        first,
        rec.request_duration_ms,
        _BLANK(rec.model, rec.model),
        _BLANK(rec.model_group, rec.model_group),
        _BLANK(rec.custom_llm_provider, rec.custom_llm_provider),
        _BLANK(rec.user, rec.user),
        _BLANK(rec.end_user, rec.end_user),
        _BLANK(rec.team_id, rec.team_id)
        or _BLANK(meta.user_api_key_team_id, meta.user_api_key_team_id),
        _BLANK(meta.user_api_key_team_alias, meta.user_api_key_team_alias),
        _BLANK(spend_meta.project, spend_meta.project) or tags.get("project"),
        _BLANK(spend_meta.environment, spend_meta.environment) or tags.get("environment"),
        _BLANK(spend_meta.feature, spend_meta.feature) or tags.get("feature"),
        _BLANK(rec.status, rec.status),
        hit,
    )
