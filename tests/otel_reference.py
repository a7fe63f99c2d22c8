"""The OTel span parser as it was before it was made faster (`ingestion.formats.otel_genai`):
the definition its rows, skips and errors must match, span for span (tests/test_otel_spans.py)."""

from __future__ import annotations

from ingestion.formats.common import count, from_unix_nano, text
from ingestion.formats.skip import Skip


def _value(v: object) -> object:
    """Decode an OTLP `AnyValue`; arrays become lists, kvlists dicts."""
    if not isinstance(v, dict):
        return v
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in v:
            return v[key]
    if "intValue" in v:
        return v["intValue"]  # string-encoded int64; coerced by `count` where used
    if "arrayValue" in v:
        return [_value(x) for x in (v["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in v:
        return _attrs((v["kvlistValue"] or {}).get("values", []))
    return None


def _attrs(items: object) -> dict[str, object]:
    if not isinstance(items, list):
        return {}
    return {
        a["key"]: _value(a.get("value"))
        for a in items
        if isinstance(a, dict) and isinstance(a.get("key"), str)
    }


def _span_row(span: dict, res: dict[str, object]) -> dict | Skip:
    a = _attrs(span.get("attributes"))
    if not any(k.startswith("gen_ai.") for k in a):
        return Skip("otel span without gen_ai attributes")
    trace_id = text(span.get("traceId"), "traceId", required=True)
    span_id = text(span.get("spanId"), "spanId", required=True)
    response_id = text(a.get("gen_ai.response.id"), "gen_ai.response.id")
    status = span.get("status") if isinstance(span.get("status"), dict) else {}
    code = status.get("code")
    is_error = code in (2, "2", "STATUS_CODE_ERROR") or a.get("error.type") is not None
    ttft = a.get("gen_ai.response.time_to_first_chunk")
    both = {**res, **a}

    def pick(*keys: str) -> str | None:
        return next((text(both[k], k) for k in keys if both.get(k) not in (None, "")), None)

    in_tok = a.get("gen_ai.usage.input_tokens", a.get("gen_ai.usage.prompt_tokens"))
    out_tok = a.get("gen_ai.usage.output_tokens", a.get("gen_ai.usage.completion_tokens"))
    return {
        "request_id": response_id or f"{trace_id}:{span_id}",
        "trace_id": trace_id,
        "span_id": span_id,
        "response_id": response_id,
        "operation_name": text(a.get("gen_ai.operation.name"), "gen_ai.operation.name"),
        "provider_name": pick("gen_ai.provider.name", "gen_ai.system"),
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
        "service_name": pick("service.name"),
        "environment": pick("deployment.environment.name", "deployment.environment"),
        "team": pick("bimo.team"),
        "project": pick("bimo.project", "service.name"),
        "feature": pick("bimo.feature"),
        "api_key_id": pick("bimo.api_key_id"),
        "user_id": pick("user.id", "enduser.id"),
    }
