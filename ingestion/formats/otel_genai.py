"""OpenTelemetry GenAI client spans in OTLP/JSON (`ExportTraceServiceRequest`)."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from ingestion.formats.common import BadRecord, count, from_unix_nano, text
from ingestion.formats.skip import Skip

TABLE = "otel_genai_spans"
TIME_COLUMN = "start_time"
COLUMNS: dict[str, pa.DataType] = {
    "request_id": pa.string(),
    "trace_id": pa.string(),
    "span_id": pa.string(),
    "response_id": pa.string(),
    "operation_name": pa.string(),
    "provider_name": pa.string(),
    "request_model": pa.string(),
    "response_model": pa.string(),
    "input_tokens": pa.int64(),
    "output_tokens": pa.int64(),
    "cache_read_input_tokens": pa.int64(),
    "cache_creation_input_tokens": pa.int64(),
    "reasoning_output_tokens": pa.int64(),
    "start_time": pa.timestamp("us", tz="UTC"),
    "end_time": pa.timestamp("us", tz="UTC"),
    "ttft_ms": pa.int64(),
    "is_error": pa.bool_(),
    "error_type": pa.string(),
    "service_name": pa.string(),
    "environment": pa.string(),
    "team": pa.string(),
    "project": pa.string(),
    "feature": pa.string(),
    "api_key_id": pa.string(),
    "user_id": pa.string(),
}


def _value(v: object) -> object:
    """Decode an OTLP `AnyValue`; arrays become lists, kvlists dicts."""
    if not isinstance(v, dict):
        return v
    if "stringValue" in v:  # the usual case, first; then in the order a value is looked for
        return v["stringValue"]
    if "boolValue" in v:
        return v["boolValue"]
    if "doubleValue" in v:
        return v["doubleValue"]
    if "intValue" in v:
        return v["intValue"]  # string-encoded int64; coerced by `count` where used
    if "arrayValue" in v:
        return [_value(x) for x in (v["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in v:
        return _attrs((v["kvlistValue"] or {}).get("values", []))
    return None


def _attrs(items: object) -> dict[str, object]:
    out: dict[str, object] = {}
    if not isinstance(items, list):
        return out
    for a in items:
        if isinstance(a, dict):
            key = a.get("key")
            if isinstance(key, str):
                v = a.get("value")
                out[key] = v["stringValue"] if type(v) is dict and "stringValue" in v else _value(v)
    return out


def _pick(a: dict[str, object], res: dict[str, object], keys: tuple[str, ...]) -> str | None:
    """The first of `keys` set (not null or "") on the span, else on its resource, as text: a
    span's attribute hides the resource's of the same key, even when it is null."""
    for k in keys:
        v = a[k] if k in a else res.get(k)
        if v is not None and v != "":
            return text(v, k)
    return None


def _span_row(span: dict, res: dict[str, object]) -> dict | Skip:
    a = _attrs(span.get("attributes"))
    for k in a:
        if k.startswith("gen_ai."):
            break
    else:
        return Skip("otel span without gen_ai attributes")
    trace_id = text(span.get("traceId"), "traceId", required=True)
    span_id = text(span.get("spanId"), "spanId", required=True)
    response_id = text(a.get("gen_ai.response.id"), "gen_ai.response.id")
    status = span.get("status") if isinstance(span.get("status"), dict) else {}
    code = status.get("code")
    is_error = code in (2, "2", "STATUS_CODE_ERROR") or a.get("error.type") is not None
    ttft = a.get("gen_ai.response.time_to_first_chunk")
    in_tok = a.get("gen_ai.usage.input_tokens", a.get("gen_ai.usage.prompt_tokens"))
    out_tok = a.get("gen_ai.usage.output_tokens", a.get("gen_ai.usage.completion_tokens"))
    return {
        "request_id": response_id or f"{trace_id}:{span_id}",
        "trace_id": trace_id,
        "span_id": span_id,
        "response_id": response_id,
        "operation_name": text(a.get("gen_ai.operation.name"), "gen_ai.operation.name"),
        "provider_name": _pick(a, res, ("gen_ai.provider.name", "gen_ai.system")),
        "request_model": text(a.get("gen_ai.request.model"), "gen_ai.request.model"),
        "response_model": text(a.get("gen_ai.response.model"), "gen_ai.response.model"),
        "input_tokens": count(in_tok, "gen_ai.usage.input_tokens"),
        "output_tokens": count(out_tok, "gen_ai.usage.output_tokens"),
        "cache_read_input_tokens": count(
            a.get("gen_ai.usage.cache_read.input_tokens"), "gen_ai.usage.cache_read.input_tokens"
        ),
        "cache_creation_input_tokens": count(
            a.get("gen_ai.usage.cache_creation.input_tokens"),
            "gen_ai.usage.cache_creation.input_tokens",
        ),
        "reasoning_output_tokens": count(
            a.get("gen_ai.usage.reasoning.output_tokens"), "gen_ai.usage.reasoning.output_tokens"
        ),
        "start_time": from_unix_nano(
            span.get("startTimeUnixNano"), "startTimeUnixNano", required=True
        ),
        "end_time": from_unix_nano(span.get("endTimeUnixNano"), "endTimeUnixNano"),
        "ttft_ms": count(round(ttft * 1000), "gen_ai.response.time_to_first_chunk")
        if isinstance(ttft, int | float) and not isinstance(ttft, bool)
        else None,
        "is_error": bool(is_error),
        "error_type": text(a.get("error.type"), "error.type"),
        "service_name": _pick(a, res, ("service.name",)),
        "environment": _pick(a, res, ("deployment.environment.name", "deployment.environment")),
        "team": _pick(a, res, ("bimo.team",)),
        "project": _pick(a, res, ("bimo.project", "service.name")),
        "feature": _pick(a, res, ("bimo.feature",)),
        "api_key_id": _pick(a, res, ("bimo.api_key_id",)),
        "user_id": _pick(a, res, ("user.id", "enduser.id")),
    }


def parse(rec: dict) -> Iterator[dict | BadRecord | Skip]:
    """One export request → a row per GenAI span; a bad span is quarantined alone."""
    resource_spans = rec.get("resourceSpans")
    if not isinstance(resource_spans, list):
        yield BadRecord("not an OTLP ExportTraceServiceRequest (no resourceSpans list)")
        return
    n = 0
    for i, rs in enumerate(resource_spans, start=1):
        if not isinstance(rs, dict):
            yield BadRecord(f"resourceSpans[{i}] is not an object")
            continue
        resource = rs.get("resource")
        res = _attrs(resource.get("attributes") if isinstance(resource, dict) else None)
        scope_spans = rs.get("scopeSpans") or []
        for ss in scope_spans if isinstance(scope_spans, list) else [scope_spans]:
            spans = ss.get("spans") if isinstance(ss, dict) else ss
            if not isinstance(spans, list | None):
                yield BadRecord(f"resourceSpans[{i}]: scopeSpans entry without a spans list")
                continue
            for span in spans or []:
                n += 1
                try:
                    if not isinstance(span, dict):
                        raise BadRecord("span is not an object")
                    yield _span_row(span, res)
                except BadRecord as exc:
                    yield BadRecord(f"span {n}: {exc}")
