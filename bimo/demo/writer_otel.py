"""OpenTelemetry GenAI client spans as the collector's file exporter writes them: one OTLP/JSON
`ExportTraceServiceRequest` per line, up to 200 spans each, plus some plain HTTP server spans."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson

from bimo.demo.calls import ERRORS, Requests
from bimo.demo.company import ApiKey, Model
from bimo.demo.content import Texts
from bimo.demo.files import hexes, write_lines
from bimo.demo.writers import MODELS, STREAM_INFO

BATCH = 200
# Per span: use the pre-1.37 `gen_ai.system`, the legacy token names, omit `bimo.project`
# (service.name then names the project), have an HTTP server parent (the non-GenAI ~5%).
LEGACY_SYSTEM, LEGACY_TOKENS, NO_PROJECT, HTTP_PARENT = 0.3, 0.1, 0.2, 0.053
SCOPES = {
    "openai": ("opentelemetry.instrumentation.openai_v2", "2.1b0"),
    "anthropic": ("opentelemetry.instrumentation.anthropic", "0.40.2"),
    "google": ("opentelemetry.instrumentation.google_genai", "0.3b0"),
    "self_hosted": ("opentelemetry.instrumentation.openai_v2", "2.1b0"),
    "http": ("opentelemetry.instrumentation.fastapi", "0.52b0"),
}
ROUTES = {
    "churn-insights": "POST /api/churn/score",
    "doc-extraction": "POST /api/documents/extract",
    "research-sandbox": "GET /api/search",
}
SERVERS = {
    "openai": "api.openai.com",
    "anthropic": "api.anthropic.com",
    "google": "generativelanguage.googleapis.com",
    "self_hosted": "llm.internal.acme-robotics.com",
}
FINISH_STOP = {"arrayValue": {"values": [{"stringValue": "stop"}]}}
RESPONSE_ID = {"openai": "chatcmpl-", "anthropic": "msg_01", "google": "", "self_hosted": "cmpl-"}
COLUMNS = (
    "ts_us stream model input cache_read cache_write output reasoning error duration_ms ttft_ms "
    "content"
)


def attr(key: str, value: str | int | float | bool | dict) -> dict:
    """An OTLP/JSON attribute; ints are string-encoded int64s, as in real exports."""
    if isinstance(value, dict):
        v = value
    elif isinstance(value, bool):
        v = {"boolValue": value}
    elif isinstance(value, int):
        v = {"intValue": str(value)}
    elif isinstance(value, float):
        v = {"doubleValue": value}
    else:
        v = {"stringValue": value}
    return {"key": key, "value": v}


def _json(obj: object) -> str:
    return orjson.dumps(obj).decode()


def _content(system: str | None, prompt: str, answer: str | None, err: int) -> list[dict]:
    text = [{"type": "text", "content": prompt}]
    attrs = [attr("gen_ai.input.messages", _json([{"role": "user", "parts": text}]))]
    if system:
        attrs.append(
            attr("gen_ai.system_instructions", _json([{"type": "text", "content": system}]))
        )
    if answer and not err:
        parts = [{"type": "text", "content": answer}]
        out = [{"role": "assistant", "parts": parts, "finish_reason": "stop"}]
        attrs.append(attr("gen_ai.output.messages", _json(out)))
    return attrs


def _genai_attrs(
    key: ApiKey,
    feature: str,
    model: Model,
    draws: list[float],
    resp_id: str,
    tokens: tuple[int, int, int, int, int],
    err: int,
    streamed: bool,
) -> list[dict]:
    """The span's attributes; `draws` pick legacy names and optional attributes."""
    inp, cr, cw, out, rsn = tokens
    op = "embeddings" if model.embedding else "chat"
    op = "generate_content" if model.provider == "google" and not model.embedding else op
    legacy = draws[0] < LEGACY_SYSTEM
    a = [
        attr("gen_ai.operation.name", op),
        attr("gen_ai.system", model.otel_system)
        if legacy
        else attr("gen_ai.provider.name", model.otel_provider),
        attr("gen_ai.request.model", model.name),
    ]
    if not err:
        a.append(attr("gen_ai.response.model", model.snapshot))
        if not model.embedding:
            a.append(attr("gen_ai.response.id", RESPONSE_ID[model.provider] + resp_id))
            a.append(attr("gen_ai.response.finish_reasons", FINISH_STOP))
    if not model.embedding:
        a.append(attr("gen_ai.request.max_tokens", 4096 if feature == "agent" else 1024))
        a.append(attr("gen_ai.request.temperature", 0.7 if feature == "chat" else 0.2))
    old = draws[1] < LEGACY_TOKENS
    a.append(attr("gen_ai.usage.prompt_tokens" if old else "gen_ai.usage.input_tokens", inp))
    if not model.embedding:
        a.append(
            attr("gen_ai.usage.completion_tokens" if old else "gen_ai.usage.output_tokens", out)
        )
    for name, value in (
        ("gen_ai.usage.cache_read.input_tokens", cr),
        ("gen_ai.usage.cache_creation.input_tokens", cw),
        ("gen_ai.usage.reasoning.output_tokens", rsn),
    ):
        if value:
            a.append(attr(name, value))
    a += [
        attr("server.address", SERVERS[model.provider]),
        attr("server.port", 443),
        attr("bimo.team", key.team),
        attr("bimo.feature", feature),
        attr("bimo.api_key_id", key.key_id),
        attr("bimo.streaming", streamed),
    ]
    if draws[2] >= NO_PROJECT:
        a.append(attr("bimo.project", key.project))
    if err:
        a.append(attr("error.type", ERRORS[err][2]))
    return a


def _http_span(
    trace: str, span_id: str, project: str, start_ns: int, end_ns: int, err: int
) -> dict:
    method, route = ROUTES[project].split()
    code = 502 if err else 200
    return {
        "traceId": trace,
        "spanId": span_id,
        "name": ROUTES[project],
        "kind": 2,
        "startTimeUnixNano": str(start_ns - 3_000_000),
        "endTimeUnixNano": str(end_ns + 8_000_000),
        "attributes": [
            attr("http.request.method", method),
            attr("http.route", route),
            attr("http.response.status_code", code),
        ],
        "status": {"code": 2} if err else {},
    }


def write_otel(
    path: Path, rows: Requests, rng: np.random.Generator, texts: Texts
) -> tuple[int, int]:
    """Returns (GenAI spans, non-GenAI spans) written."""
    n = len(rows)
    traces, span_ids, resp = hexes(rng, n, 32), hexes(rng, 2 * n, 16), hexes(rng, n, 24)
    draws = rng.random((n, 4)).tolist()
    sub_us = rng.integers(0, 1000, n).tolist()
    content = iter(texts.prod(rows.feature[rows.content]))
    spans: list[tuple[tuple[str, str, str], dict]] = []
    for k, (ts, st, m, inp, cr, cw, out, rsn, err, dur, ttft, has) in enumerate(rows.rows(COLUMNS)):
        key, feature, _ = STREAM_INFO[st]
        model = MODELS[m]
        start_ns = ts * 1000 + sub_us[k]
        end_ns = start_ns + dur * 1_000_000
        tokens = (inp, cr, cw, out, rsn)
        a = _genai_attrs(key, feature, model, draws[k], resp[k], tokens, err, ttft >= 0)
        if has:
            a += _content(*next(content), err)
        span = {
            "traceId": traces[k],
            "spanId": span_ids[2 * k],
            "name": f"{a[0]['value']['stringValue']} {model.name}",
            "kind": 3,
            "startTimeUnixNano": str(start_ns),
            "endTimeUnixNano": str(end_ns),
            "attributes": a,
            "status": {"code": 2, "message": f"Error code: {ERRORS[err][0]}"} if err else {},
        }
        if draws[k][3] < HTTP_PARENT:
            span["parentSpanId"] = span_ids[2 * k + 1]
            http = _http_span(traces[k], span_ids[2 * k + 1], key.project, start_ns, end_ns, err)
            spans.append(((key.project, key.environment, "http"), http))
        spans.append(((key.project, key.environment, model.provider), span))
    write_lines(path, [_batch(spans[b : b + BATCH]) for b in range(0, len(spans), BATCH)])
    return n, len(spans) - n


def _batch(spans: list[tuple[tuple[str, str, str], dict]]) -> bytes:
    """One ExportTraceServiceRequest: spans grouped by resource (service, environment) and scope."""
    grouped: dict[tuple[str, str], dict[str, list[dict]]] = {}
    for (project, env, scope), span in spans:
        grouped.setdefault((project, env), {}).setdefault(scope, []).append(span)
    resource_spans = []
    for (project, env), scopes in grouped.items():
        resource = [
            attr("service.name", project),
            attr("service.version", "1.4.2"),
            attr("deployment.environment.name", env),
            attr("telemetry.sdk.language", "python"),
            attr("telemetry.sdk.name", "opentelemetry"),
        ]
        scope_spans = [
            {"scope": {"name": SCOPES[sc][0], "version": SCOPES[sc][1]}, "spans": sp}
            for sc, sp in scopes.items()
        ]
        resource_spans.append({"resource": {"attributes": resource}, "scopeSpans": scope_spans})
    return orjson.dumps({"resourceSpans": resource_spans})
