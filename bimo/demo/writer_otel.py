"""OpenTelemetry GenAI client spans as the collector's file exporter writes them: one OTLP/JSON
`ExportTraceServiceRequest` per line, up to 200 spans each, plus some plain HTTP server spans."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson

from bimo.demo.content import Texts
from bimo.demo.files import hexes, write_lines
from bimo.demo.traffic import ERRORS, Requests
from bimo.demo.writers import MODELS, STREAM_INFO

BATCH = 200
NON_GENAI = 0.053  # parent HTTP spans per GenAI span: ~5% of all spans
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
SERVERS = {"openai": "api.openai.com", "anthropic": "api.anthropic.com",
           "google": "generativelanguage.googleapis.com", "self_hosted": "llm.internal.acme-robotics.com"}  # fmt: skip


def s(v: str) -> dict:
    return {"stringValue": v}


def i(v: int) -> dict:
    return {"intValue": str(v)}  # OTLP/JSON encodes int64 as a string


def attr(key: str, value: dict) -> dict:
    return {"key": key, "value": value}


def _messages(system: str | None, prompt: str, answer: str | None, err: int) -> list[dict]:
    parts = [attr("gen_ai.input.messages", s(orjson.dumps(
        [{"role": "user", "parts": [{"type": "text", "content": prompt}]}]).decode()))]  # fmt: skip
    if system:
        parts.append(attr("gen_ai.system_instructions", s(orjson.dumps([{"type": "text", "content": system}]).decode())))
    if answer and not err:
        out = [{"role": "assistant", "parts": [{"type": "text", "content": answer}], "finish_reason": "stop"}]
        parts.append(attr("gen_ai.output.messages", s(orjson.dumps(out).decode())))
    return parts


def write_otel(path: Path, rows: Requests, rng: np.random.Generator, texts: Texts) -> tuple[int, int]:
    """Returns (GenAI spans, non-GenAI spans) written."""
    n = len(rows)
    traces, spans_ids, resp = hexes(rng, n, 32), hexes(rng, 2 * n, 16), hexes(rng, n, 24)
    draws = rng.random((n, 4)).tolist()
    sub_us = rng.integers(0, 1000, n).tolist()
    content = iter(texts.prod(rows.feature[rows.content]))
    spans: list[tuple[tuple, dict]] = []
    cols = zip(rows.ts_us.tolist(), rows.stream.tolist(), rows.model.tolist(), rows.input.tolist(),
               rows.cache_read.tolist(), rows.cache_write.tolist(), rows.output.tolist(),
               rows.reasoning.tolist(), rows.error.tolist(), rows.duration_ms.tolist(),
               rows.ttft_ms.tolist(), rows.content.tolist(), strict=True)  # fmt: skip
    for k, (ts, st, m, inp, cr, cw, out, rsn, err, dur, ttft, has) in enumerate(cols):
        key, feature, _ = STREAM_INFO[st]
        model = MODELS[m]
        legacy_system, legacy_tokens, with_project, with_parent = (d < p for d, p in
                                                                    zip(draws[k], (0.3, 0.1, 0.8, NON_GENAI)))  # fmt: skip
        op = "embeddings" if model.embedding else ("generate_content" if model.provider == "google" else "chat")
        start_ns = ts * 1000 + sub_us[k]
        end_ns = start_ns + dur * 1_000_000
        a = [attr("gen_ai.operation.name", s(op)),
             attr("gen_ai.system" if legacy_system else "gen_ai.provider.name",
                  s(model.otel_system if legacy_system else model.otel_provider)),
             attr("gen_ai.request.model", s(model.name))]  # fmt: skip
        if not err:
            a.append(attr("gen_ai.response.model", s(model.snapshot)))
            if not model.embedding:
                rid = {"openai": "chatcmpl-", "anthropic": "msg_01", "google": "", "self_hosted": "cmpl-"}
                a.append(attr("gen_ai.response.id", s(rid[model.provider] + resp[k])))
                a.append(attr("gen_ai.response.finish_reasons", {"arrayValue": {"values": [s("stop")]}}))
        if not model.embedding:
            a.append(attr("gen_ai.request.max_tokens", i(1024 if feature != "agent" else 4096)))
            a.append(attr("gen_ai.request.temperature", {"doubleValue": 0.2 if feature != "chat" else 0.7}))
        prompt_key = "gen_ai.usage.prompt_tokens" if legacy_tokens else "gen_ai.usage.input_tokens"
        a.append(attr(prompt_key, i(inp)))
        if not model.embedding:
            a.append(attr("gen_ai.usage.completion_tokens" if legacy_tokens else "gen_ai.usage.output_tokens", i(out)))
        if cr:
            a.append(attr("gen_ai.usage.cache_read.input_tokens", i(cr)))
        if cw:
            a.append(attr("gen_ai.usage.cache_creation.input_tokens", i(cw)))
        if rsn:
            a.append(attr("gen_ai.usage.reasoning.output_tokens", i(rsn)))
        a += [attr("server.address", s(SERVERS[model.provider])), attr("server.port", i(443)),
              attr("bimo.team", s(key.team)), attr("bimo.feature", s(feature)),
              attr("bimo.api_key_id", s(key.key_id)), attr("bimo.streaming", {"boolValue": ttft >= 0})]  # fmt: skip
        if with_project:
            a.append(attr("bimo.project", s(key.project)))
        if has:
            system, prompt, answer = next(content)
            a += _messages(system, prompt if not model.embedding else prompt, answer, err)
        span = {"traceId": traces[k], "spanId": spans_ids[2 * k], "name": f"{op} {model.name}", "kind": 3,
                "startTimeUnixNano": str(start_ns), "endTimeUnixNano": str(end_ns), "attributes": a,
                "status": {}}  # fmt: skip
        if err:
            status, _, cls = ERRORS[err]
            span["status"] = {"code": 2, "message": f"Error code: {status} - {cls}"}
            a.append(attr("error.type", s(cls)))
        resource = (key.project, key.environment)
        if with_parent:
            span["parentSpanId"] = spans_ids[2 * k + 1]
            route = ROUTES[key.project]
            code = 200 if not err else 502
            spans.append(((resource, "http"), {
                "traceId": traces[k], "spanId": spans_ids[2 * k + 1], "name": route, "kind": 2,
                "startTimeUnixNano": str(start_ns - 3_000_000), "endTimeUnixNano": str(end_ns + 8_000_000),
                "attributes": [attr("http.request.method", s(route.split()[0])),
                               attr("http.route", s(route.split()[1])),
                               attr("http.response.status_code", i(code))],
                "status": {} if code == 200 else {"code": 2},
            }))  # fmt: skip
        spans.append(((resource, model.provider), span))
    lines = [_batch(spans[b : b + BATCH]) for b in range(0, len(spans), BATCH)]
    write_lines(path, lines)
    return n, len(spans) - n


def _batch(spans: list[tuple[tuple, dict]]) -> bytes:
    grouped: dict[tuple, dict[str, list[dict]]] = {}
    for (resource, scope), span in spans:
        grouped.setdefault(resource, {}).setdefault(scope, []).append(span)
    resource_spans = []
    for (project, env), scopes in grouped.items():
        res = [attr("service.name", s(project)), attr("service.version", s("1.4.2")),
               attr("deployment.environment.name", s(env)), attr("telemetry.sdk.language", s("python")),
               attr("telemetry.sdk.name", s("opentelemetry"))]  # fmt: skip
        scope_spans = [{"scope": {"name": SCOPES[sc][0], "version": SCOPES[sc][1]}, "spans": sp}
                       for sc, sp in scopes.items()]  # fmt: skip
        resource_spans.append({"resource": {"attributes": res}, "scopeSpans": scope_spans})
    return orjson.dumps({"resourceSpans": resource_spans})
