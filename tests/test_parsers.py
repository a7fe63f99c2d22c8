"""Parsers: each format's semantics, coercions and quarantine reasons."""

import gzip
import json
from datetime import UTC, datetime

import pytest

from ingestion.formats import bimo_gateway, cli_log, litellm, otel_genai
from ingestion.formats.common import BadRecord
from ingestion.formats.skip import Skip
from ingestion.readers import BadJson, expand_paths, iter_records


def one(module, rec):
    out = list(module.parse(rec))
    assert len(out) == 1
    return out[0]


def test_gateway_record_maps_fields_and_drops_content():
    row = one(
        bimo_gateway,
        {
            "request_id": "r1",
            "timestamp": "2026-11-01T10:00:00+02:00",
            "provider": "openai",
            "model": "gpt-4o",
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 4, "output_tokens": "3"},
            "attribution": {"team": "search", "api_key_id": "key_1"},
            "request": {"messages": [{"content": "top secret"}]},
            "latency_budget_ms": 900,
            "note": "free text could be content",
        },
    )
    assert row["started_at"] == datetime(2026, 11, 1, 8, tzinfo=UTC)
    assert (row["input_tokens"], row["cache_read_input_tokens"], row["output_tokens"]) == (10, 4, 3)
    assert row["team"] == "search" and row["status"] == "success"
    assert row["extra"] == '{"latency_budget_ms":900}'
    assert "top secret" not in json.dumps(row, default=str)


@pytest.mark.parametrize(
    ("patch", "reason"),
    [
        ({"timestamp": None}, "missing timestamp"),
        ({"usage": {"input_tokens": -1}}, "usage.input_tokens: negative value -1"),
        ({"usage": {"output_tokens": "lots"}}, "usage.output_tokens: expected an integer"),
        ({"usage": {"output_tokens": 1.5}}, "usage.output_tokens: expected an integer, got 1.5"),
        ({"timestamp": "yesterday"}, "timestamp: unparseable timestamp"),
        ({"status": "maybe"}, "status: expected 'success' or 'error'"),
        ({"usage": [1, 2]}, "usage: expected an object"),
    ],
)
def test_gateway_bad_records_carry_a_reason(patch, reason):
    rec = {"request_id": "r", "timestamp": "2026-11-01T00:00:00Z", "provider": "p", "model": "m"}
    out = one(bimo_gateway, {**rec, **patch})
    assert isinstance(out, BadRecord)
    assert str(out).startswith(reason)


def test_litellm_metadata_string_cache_details_and_empty_ids():
    row = one(
        litellm,
        {
            "request_id": "chatcmpl-1",
            "spend": 2.5e-06,
            "startTime": "2025-01-24 09:20:46.847371",
            "model": "gpt-4o-mini",
            "custom_llm_provider": "openai",
            "prompt_tokens": 100,
            "completion_tokens": 20,
            "team_id": "",
            "cache_hit": "None",
            "request_tags": '["project:search", "feature:rerank"]',
            "metadata": json.dumps(
                {
                    "user_api_key_team_alias": "search",
                    "spend_logs_metadata": {"environment": "prod"},
                    "usage_object": {
                        "prompt_tokens_details": {"cached_tokens": 60},
                        "completion_tokens_details": {"reasoning_tokens": 5},
                    },
                }
            ),
            "messages": [{"role": "user", "content": "hello"}],
        },
    )
    assert row["start_time"] == datetime(2025, 1, 24, 9, 20, 46, 847371, tzinfo=UTC)
    assert row["cache_read_input_tokens"] == 60 and row["reasoning_tokens"] == 5
    assert row["team_id"] is None and row["team_alias"] == "search"
    assert (row["project"], row["feature"], row["environment"]) == ("search", "rerank", "prod")
    assert row["cache_hit"] is None and row["spend"] == 2.5e-06
    assert "hello" not in json.dumps(row, default=str)


def _span(attrs, **kw):
    def val(v):
        if isinstance(v, bool):
            return {"boolValue": v}
        if isinstance(v, int):
            return {"intValue": str(v)}
        return {"stringValue": v}

    return {
        "traceId": "a" * 32,
        "spanId": "b" * 16,
        "startTimeUnixNano": "1762000000000000000",
        "endTimeUnixNano": "1762000001500000000",
        "attributes": [{"key": k, "value": val(v)} for k, v in attrs.items()],
        **kw,
    }


def test_otel_spans_legacy_names_string_ints_and_non_genai_skipped():
    rec = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "service.name", "value": {"stringValue": "helpdesk"}},
                        {"key": "deployment.environment", "value": {"stringValue": "prod"}},
                    ]
                },
                "scopeSpans": [
                    {
                        "spans": [
                            _span(
                                {
                                    "gen_ai.system": "vertex_ai",
                                    "gen_ai.request.model": "gemini-2.5-flash",
                                    "gen_ai.usage.prompt_tokens": 52,
                                    "gen_ai.usage.completion_tokens": 7,
                                    "gen_ai.input.messages": '[{"content": "private"}]',
                                },
                                status={"code": 2},
                            ),
                            _span({"http.method": "GET"}),
                            _span({"gen_ai.request.model": "x"}, startTimeUnixNano="soon"),
                        ]
                    }
                ],
            }
        ]
    }
    first, second, third = list(otel_genai.parse(rec))
    assert first["provider_name"] == "vertex_ai" and first["input_tokens"] == 52
    assert first["output_tokens"] == 7 and first["is_error"] is True
    assert first["project"] == "helpdesk" and first["environment"] == "prod"
    assert first["request_id"] == "a" * 32 + ":" + "b" * 16
    assert "private" not in json.dumps(first, default=str)
    assert isinstance(second, Skip)
    assert isinstance(third, BadRecord) and str(third).startswith("span 3: startTimeUnixNano")


def test_cli_log_skips_other_line_types():
    assert isinstance(one(cli_log, {"type": "summary", "summary": "x"}), Skip)
    row = one(
        cli_log,
        {
            "message_id": "msg_1",
            "ts": "2026-11-01T09:00:00Z",
            "provider": "anthropic",
            "model": "claude-sonnet-4-5",
            "usage": {"input_tokens": 3, "cache_read_input_tokens": 900},
            "cost_usd": "0.0042",
            "prompt": "refactor the billing module",
        },
    )
    assert row["cost_usd"] == 0.0042 and row["cache_read_input_tokens"] == 900


def test_readers_accept_array_object_jsonl_and_gzip(tmp_path):
    (tmp_path / "a.json").write_text('[{"x": 1}, {"x": 2}]')
    (tmp_path / "o.json").write_text('{"x": 3}')
    (tmp_path / "l.jsonl").write_text('{"x": 4}\n\nnot json\n{"x": 5}\n')
    with gzip.open(tmp_path / "g.jsonl.gz", "wt") as fh:
        fh.write('{"x": 6}\n')
    (tmp_path / "ignored.txt").write_text("x")
    files = expand_paths([tmp_path])
    assert [f.name for f in files] == ["a.json", "g.jsonl.gz", "l.jsonl", "o.json"]
    got = {f.name: list(iter_records(f)) for f in files}
    assert got["a.json"] == [(1, {"x": 1}), (2, {"x": 2})]
    assert got["o.json"] == [(1, {"x": 3})]
    assert got["g.jsonl.gz"] == [(1, {"x": 6})]
    lines = got["l.jsonl"]
    assert lines[0] == (1, {"x": 4}) and lines[2] == (4, {"x": 5})
    assert lines[1][0] == 3 and isinstance(lines[1][1], BadJson)


def test_truncated_array_is_reported_not_crashed(tmp_path):
    (tmp_path / "bad.json").write_text('[{"x": 1}, {"x":')
    [(pos, rec)] = list(iter_records(tmp_path / "bad.json"))
    assert pos == 1 and isinstance(rec, BadJson)


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        expand_paths([tmp_path / "nope.json"])
