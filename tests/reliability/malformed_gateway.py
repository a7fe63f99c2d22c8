"""Malformed gateway logs (bimo-gateway, LiteLLM spend logs, OTel GenAI exports, CLI usage
logs): a good record of each format, and the cases — the kinds every JSON-lines log shares, then
each format's own — as JSON Lines files whose bad record sits between good ones (or a whole raw
file: truncated arrays, a gzip cut mid-member, blank or empty files)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from tests.reliability.malformed_common import (
    DROP,
    GATEWAY,
    HUGE,
    Case,
    as_bytes,
    lines_file,
    merged,
)

# ---------------------------------------------------------------------------------------------
# good records

T0 = datetime(2026, 10, 5, 12, tzinfo=UTC)
NANO0 = int(T0.timestamp()) * 10**9


def gateway(cid: str, i: int, **over) -> dict:
    base = {"schema": "bimo.gateway.v1", "request_id": f"{cid}-{i}",
            "timestamp": "2026-10-05T12:00:00Z", "duration_ms": 800, "provider": "openai",
            "model": "gpt-4o-mini", "status": "success",
            "usage": {"input_tokens": 100, "output_tokens": 20},
            "attribution": {"team": "core", "project": "chat"}}  # fmt: skip
    return merged(base, over)


def litellm(cid: str, i: int, **over) -> dict:
    base = {"request_id": f"{cid}-{i}", "call_type": "acompletion", "spend": 0.0012,
            "prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
            "startTime": "2026-10-05 12:00:00.000000", "endTime": "2026-10-05 12:00:01.000000",
            "model": "gpt-4o-mini", "custom_llm_provider": "openai", "metadata": "{}",
            "cache_hit": "False", "request_tags": "[]", "team_id": "", "user": ""}  # fmt: skip
    return merged(base, over)


def cli(cid: str, i: int, **over) -> dict:
    base = {"type": "usage", "message_id": f"{cid}-{i}", "ts": "2026-10-05T12:00:00Z",
            "session_id": "s1", "developer": "dev1", "tool": "claude-code",
            "provider": "anthropic", "model": "claude-sonnet-4",
            "usage": {"input_tokens": 100, "output_tokens": 20}, "cost_usd": 0.002,
            "duration_ms": 900}  # fmt: skip
    return merged(base, over)


def _any(value: object) -> dict:
    if isinstance(value, dict):
        return value
    return {"intValue": str(value)} if isinstance(value, int) else {"stringValue": value}


def otel(cid: str, i: int, *, attrs: dict | None = None, **span_over) -> dict:
    """One export request holding one GenAI span (`attrs` override its attributes)."""
    values = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
              "gen_ai.request.model": "gpt-4o", "gen_ai.response.id": f"{cid}-{i}",
              "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 20}  # fmt: skip
    values = merged(values, attrs or {})
    span = {"traceId": f"{cid}-trace-{i}", "spanId": f"span-{i}", "name": "chat gpt-4o",
            "kind": 3, "startTimeUnixNano": str(NANO0), "endTimeUnixNano": str(NANO0 + 10**9),
            "attributes": [{"key": k, "value": _any(v)} for k, v in values.items()]}  # fmt: skip
    span = merged(span, span_over)
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "chat"}}]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [span]}]}]}


GOOD_GATEWAY: dict[str, Callable[..., dict]] = {
    "bimo-gateway": gateway, "litellm": litellm, "otel-genai": otel, "cli-log": cli,
}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# case builders: a bad record between good ones


def _gz_cut(data: bytes) -> bytes:
    """`data` gzipped, then cut in the middle of a second gzip member holding the last line."""
    head, _, tail = data.rstrip(b"\n").rpartition(b"\n")
    second = gzip.compress(tail + b"\n", mtime=0)
    return gzip.compress(head + b"\n", mtime=0) + second[: len(second) // 2]


def gateway_case(fmt: str, kind: str, name: str, bad: Callable, *, good: int = 3, n_bad: int = 1,
                 reason: str | None = None, raw: Callable | None = None, prefix: bytes = b"",
                 cut: bool = False) -> Case:  # fmt: skip
    """Lines good, good, *bad(cid, make), good — or `raw(cid, make)` as the whole file."""
    cid = f"{fmt}.{name}"
    make = GOOD_GATEWAY[fmt]

    def build(folder: Path) -> list[Path]:
        items = (
            raw(cid, make) if raw else [make(cid, 0), make(cid, 1), *bad(cid, make), make(cid, 2)]
        )
        path = lines_file(folder / f"{cid}.jsonl", items, prefix=prefix)
        if cut:
            path = path.rename(path.with_suffix(".jsonl.gz"))
            path.write_bytes(_gz_cut(b"".join(as_bytes(i) + b"\n" for i in items)))
        return [path]

    return Case(cid, fmt, kind, build, good, n_bad, reason)


def _common_gateway(fmt: str) -> list[Case]:
    """The kinds every JSON-lines log format shares."""

    def c(*a, **k) -> Case:
        return gateway_case(fmt, *a, **k)

    return [
        c("truncated", "truncated_line", lambda i, m: [json.dumps(m(i, 9))[:40]],
          reason="invalid JSON"),
        c("truncated", "truncated_array", None, good=1, reason="cut-short array) from element 2",
          raw=lambda i, m: [json.dumps([m(i, 0), m(i, 1)])[:-30]]),
        c("truncated", "truncated_gzip", None, good=3, n_bad=2, cut=True,
          raw=lambda i, m: [m(i, 0), m(i, 1), m(i, 2), m(i, 3, padding="z" * 5000)]),
        c("encoding", "invalid_utf8",
          lambda i, m: [as_bytes(m(i, 9)).replace(b"9", b"\xff\xfe", 1)], reason="invalid JSON"),
        c("encoding", "latin1_value", lambda i, m: [], good=3, n_bad=0,
          raw=lambda i, m: [m(i, 0), m(i, 1), m(i, 2, note="caf\u00e9 \u2603")]),
        c("bom", "utf8_bom", lambda i, m: [], n_bad=0, prefix=b"\xef\xbb\xbf"),
        c("wrong_type", "record_is_array", lambda i, m: [[1, 2, 3]], reason="not an object"),
        c("wrong_type", "record_is_number", lambda i, m: ["42"], reason="not an object"),
        c("duplicate_id", "same_id_twice", lambda i, m: [m(i, 1)], n_bad=0),
        c("empty_file", "zero_bytes", None, good=0, n_bad=0, raw=lambda i, m: []),
        c("empty_file", "blank_lines", None, good=0, n_bad=0, raw=lambda i, m: ["", "   ", ""]),
        c("huge_line", "huge_garbage_line", lambda i, m: [b"x" * HUGE], reason="invalid JSON"),
        c("huge_line", "huge_valid_record", lambda i, m: [m(i, 3, debug_blob="y" * HUGE)],
          good=4, n_bad=0),
        c("unknown_column", "unknown_top_level_fields",
          lambda i, m: [m(i, 3, x_new_counter=7, x_new_flag=True, brand_new="text")],
          good=4, n_bad=0),
        c("nan_inf", "bare_nan_literal",
          lambda i, m: [json.dumps(m(i, 9)).replace("{", '{"bogus": NaN, ', 1)],
          reason="invalid JSON"),
    ]  # fmt: skip


def gateway_cases() -> list[Case]:
    g, ll, ot, cl = (lambda *a, f=f, **k: gateway_case(f, *a, **k) for f in GATEWAY)
    cases = [case for fmt in GATEWAY for case in _common_gateway(fmt)]
    cases += [
        g("wrong_type", "tokens_are_words", lambda i, m: [m(i, 9, usage={"output_tokens": "lots"})],
          reason="usage.output_tokens"),
        g("wrong_type", "usage_is_a_list", lambda i, m: [m(i, 9, usage=[1, 2])],
          reason="usage: expected an object"),
        g("missing_field", "no_request_id", lambda i, m: [m(i, 9, request_id=DROP)],
          reason="missing request_id"),
        g("missing_field", "no_timestamp", lambda i, m: [m(i, 9, timestamp=DROP)],
          reason="missing timestamp"),
        g("nan_inf", "nan_string_tokens", lambda i, m: [m(i, 9, usage={"input_tokens": "NaN"})],
          reason="usage.input_tokens"),
        g("negative", "negative_tokens", lambda i, m: [m(i, 9, usage={"input_tokens": -5})],
          reason="negative value"),
        g("magnitude", "tokens_beyond_int64",
          lambda i, m: [m(i, 9, usage={"output_tokens": 10**30})], reason="out of range"),
        g("magnitude", "duration_1e300", lambda i, m: [m(i, 9, duration_ms=1e300)],
          reason="out of range"),
        g("far_date", "year_1899", lambda i, m: [m(i, 9, timestamp="1899-12-31T00:00:00Z")],
          reason="out of range"),
        g("far_date", "year_9999", lambda i, m: [m(i, 9, timestamp="9999-12-31T23:59:59Z")],
          reason="out of range"),
        g("far_date", "unix_seconds_1e15", lambda i, m: [m(i, 9, timestamp=1e15)],
          reason="not a valid unix time"),
        g("other", "unknown_status", lambda i, m: [m(i, 9, status="maybe")], reason="status"),
        ll("wrong_type", "spend_is_text", lambda i, m: [m(i, 9, spend="abc")], reason="spend"),
        ll("wrong_type", "tokens_are_an_object", lambda i, m: [m(i, 9, prompt_tokens={"a": 1})],
           reason="prompt_tokens"),
        ll("missing_field", "no_request_id", lambda i, m: [m(i, 9, request_id="")],
           reason="missing request_id"),
        ll("missing_field", "null_start_time", lambda i, m: [m(i, 9, startTime=None)],
           reason="missing startTime"),
        ll("missing_field", "no_spend_is_null_not_zero", lambda i, m: [m(i, 3, spend="")],
           good=4, n_bad=0),
        ll("nan_inf", "spend_nan", lambda i, m: [m(i, 9, spend="NaN")], reason="invalid amount"),
        ll("nan_inf", "spend_infinity", lambda i, m: [m(i, 9, spend="Infinity")],
           reason="invalid amount"),
        ll("negative", "negative_spend", lambda i, m: [m(i, 9, spend=-0.5)],
           reason="invalid amount"),
        ll("negative", "negative_completion_tokens", lambda i, m: [m(i, 9, completion_tokens=-1)],
           reason="negative value"),
        ll("magnitude", "total_tokens_1e30", lambda i, m: [m(i, 9, total_tokens=1e30)],
           reason="out of range"),
        ll("far_date", "epoch_start_time", lambda i, m: [m(i, 9, startTime="1970-01-01 00:00:00")],
           reason="out of range"),
        ll("other", "metadata_not_json", lambda i, m: [m(i, 3, metadata="{not json")],
           good=4, n_bad=0),
        ot("wrong_type", "resource_spans_is_text", lambda i, m: [{"resourceSpans": "x"}],
           reason="no resourceSpans list"),
        ot("wrong_type", "resource_span_is_text", lambda i, m: [{"resourceSpans": ["x"]}],
           reason="is not an object"),
        ot("wrong_type", "scope_spans_entry_is_text",
           lambda i, m: [{"resourceSpans": [{"scopeSpans": ["x"]}]}], reason="spans list"),
        ot("wrong_type", "int_value_is_text",
           lambda i, m: [m(i, 9, attrs={"gen_ai.usage.input_tokens": {"intValue": "abc"}})],
           reason="gen_ai.usage.input_tokens"),
        ot("wrong_type", "attribute_key_is_a_list",
           lambda i, m: [_odd_key(m(i, 3))], good=4, n_bad=0),
        ot("missing_field", "two_bad_spans_in_one_request",
           lambda i, m: [_one_request(m(i, 3), m(i, 8, traceId=DROP), m(i, 9, spanId=DROP))],
           good=4, reason="2 bad items: span 2: missing traceId; span 3: missing spanId"),
        ot("missing_field", "no_trace_id", lambda i, m: [m(i, 9, traceId=DROP)],
           reason="missing traceId"),
        ot("missing_field", "no_start_time", lambda i, m: [m(i, 9, startTimeUnixNano=DROP)],
           reason="missing startTimeUnixNano"),
        ot("nan_inf", "nan_double_tokens",
           lambda i, m: [m(i, 9, attrs={"gen_ai.usage.input_tokens": {"doubleValue": "NaN"}})],
           reason="gen_ai.usage.input_tokens"),
        ot("negative", "negative_tokens",
           lambda i, m: [m(i, 9, attrs={"gen_ai.usage.input_tokens": -5})],
           reason="negative value"),
        ot("magnitude", "tokens_beyond_int64",
           lambda i, m: [m(i, 9, attrs={"gen_ai.usage.output_tokens": 10**25})],
           reason="out of range"),
        ot("magnitude", "ttft_1e300",
           lambda i, m: [m(i, 9, attrs={"gen_ai.response.time_to_first_chunk":
                                        {"doubleValue": 1e300}})],
           reason="out of range"),
        ot("far_date", "year_1973", lambda i, m: [m(i, 9, startTimeUnixNano=str(10**17))],
           reason="out of range"),
        ot("far_date", "beyond_year_9999", lambda i, m: [m(i, 9, startTimeUnixNano="9" * 25)],
           reason="not a valid unix time"),
        ot("other", "non_genai_span_is_skipped",
           lambda i, m: [m(i, 9, attrs=_no_genai())], n_bad=0),
        cl("wrong_type", "usage_is_text", lambda i, m: [m(i, 9, usage="x")],
           reason="usage: expected an object"),
        cl("wrong_type", "is_error_maybe", lambda i, m: [m(i, 9, is_error="maybe")],
           reason="is_error"),
        cl("missing_field", "no_message_id", lambda i, m: [m(i, 9, message_id=DROP)],
           reason="missing message_id"),
        cl("missing_field", "no_ts", lambda i, m: [m(i, 9, ts=DROP)], reason="missing ts"),
        cl("nan_inf", "cost_nan", lambda i, m: [m(i, 9, cost_usd="NaN")], reason="invalid amount"),
        cl("nan_inf", "cost_inf", lambda i, m: [m(i, 9, cost_usd="inf")], reason="invalid amount"),
        cl("negative", "negative_cost", lambda i, m: [m(i, 9, cost_usd=-1)],
           reason="invalid amount"),
        cl("negative", "negative_tokens", lambda i, m: [m(i, 9, usage={"output_tokens": -2})],
           reason="negative value"),
        cl("magnitude", "tokens_1e30", lambda i, m: [m(i, 9, usage={"output_tokens": 1e30})],
           reason="out of range"),
        cl("far_date", "year_2150", lambda i, m: [m(i, 9, ts="2150-01-01T00:00:00Z")],
           reason="out of range"),
        cl("other", "other_line_type_is_skipped", lambda i, m: [{"type": "session_start"}],
           n_bad=0),
    ]  # fmt: skip
    return cases


def _no_genai() -> dict:
    keys = (
        "gen_ai.operation.name",
        "gen_ai.provider.name",
        "gen_ai.request.model",
        "gen_ai.response.id",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
    )
    return {k: DROP for k in keys} | {"http.method": "GET"}  # fmt: skip


def _one_request(*records: dict) -> dict:
    """The spans of several export requests in one request's single scope (one JSON line)."""
    spans = [r["resourceSpans"][0]["scopeSpans"][0]["spans"][0] for r in records]
    first = records[0]
    first["resourceSpans"][0]["scopeSpans"][0]["spans"] = spans
    return first


def _odd_key(record: dict) -> dict:
    """A span whose attribute list also holds an entry keyed by a list (ignored, span loads)."""
    span = record["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["attributes"].append({"key": ["gen_ai.odd"], "value": {"intValue": "1"}})
    return record
