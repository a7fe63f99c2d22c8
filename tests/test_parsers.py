"""Parsers: each format's semantics, coercions and quarantine reasons."""

import gzip
import json
from datetime import UTC, datetime

import pytest

from ingestion.formats import bimo_gateway, cli_log, litellm, otel_genai
from ingestion.formats.common import BadRecord, timestamp
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


def test_cut_short_array_keeps_whole_elements_and_reports_the_rest(tmp_path):
    (tmp_path / "bad.json").write_text('[{"x": 1}, {"x":')
    first, (pos, rec) = list(iter_records(tmp_path / "bad.json"))
    assert first == (1, {"x": 1})
    assert pos == 2 and isinstance(rec, BadJson)
    assert rec.reason.endswith("array) from element 2 on (elements 1-1 were read)")
    (tmp_path / "worse.json").write_text('[{"x":')
    [(pos, rec)] = list(iter_records(tmp_path / "worse.json"))
    assert pos == 1 and isinstance(rec, BadJson) and rec.reason.endswith("from element 1")


def _awkward_elements(n: int) -> list[dict]:
    """Objects whose text holds the `}, {` an element boundary looks like, inside strings and
    inside nested arrays of objects, and non-ASCII text."""
    return [
        {
            "id": i,
            "note": 'tags: [{"a": 1}, {"b": 2}] and }, { é',
            "nested": [{"k": i}, {"k": [{"deep": "},{"}, {}]}],
            "pad": "x" * (i % 7) * 40,
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("indent", [None, 2])
def test_arrays_decode_a_block_at_a_time_with_the_whole_file_result(tmp_path, monkeypatch, indent):
    import ingestion.readers as readers

    elements = _awkward_elements(300)
    text = json.dumps(elements, indent=indent, ensure_ascii=False).encode()
    decoded_sizes = []
    real_loads = readers.orjson.loads

    def loads(data):
        decoded_sizes.append(len(data))
        return real_loads(data)

    monkeypatch.setattr(readers, "ARRAY_BLOCK_BYTES", 2_000)
    monkeypatch.setattr(readers, "CHUNK_BYTES", 512)
    monkeypatch.setattr(readers.orjson, "loads", loads)
    (tmp_path / "a.json").write_bytes(readers.BOM + b"\n  " + text)
    # two gzip members with zero padding between them, as some writers leave
    half = len(text) // 2
    gz = gzip.compress(text[:half]) + b"\0" * 5 + gzip.compress(text[half:])
    (tmp_path / "a.json.gz").write_bytes(gz)
    for name in ("a.json", "a.json.gz"):
        decoded_sizes.clear()
        assert list(iter_records(tmp_path / name)) == list(enumerate(elements, start=1))
        # memory follows the block, not the file: no decode saw more than about two blocks
        assert len(decoded_sizes) > 20 and max(decoded_sizes) < 5_000 < len(text) / 10


def test_a_malformed_element_keeps_the_elements_before_it(tmp_path, monkeypatch):
    import ingestion.readers as readers

    monkeypatch.setattr(readers, "ARRAY_BLOCK_BYTES", 1_000)
    elements = _awkward_elements(60)
    parts = [json.dumps(e) for e in elements]
    parts[40] = parts[40].replace('"note":', '"note" ')  # element 41 is not JSON
    (tmp_path / "a.json").write_text("[" + ",\n".join(parts) + "]")
    got = list(iter_records(tmp_path / "a.json"))
    assert got[:-1] == list(enumerate(elements[:40], start=1))
    pos, bad = got[-1]
    assert pos == 41 and isinstance(bad, BadJson) and "from element 41" in bad.reason


def test_a_cut_gzip_stream_keeps_what_decompressed(tmp_path, monkeypatch):
    import ingestion.readers as readers

    monkeypatch.setattr(readers, "CHUNK_BYTES", 256)
    lines = [json.dumps({"i": i, "pad": "p" * (i * 37 % 200)}) for i in range(2_000)]
    whole = gzip.compress("\n".join(lines).encode() + b"\n")
    (tmp_path / "cut.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    got = list(iter_records(tmp_path / "cut.jsonl.gz"))
    good = [rec for _, rec in got if not isinstance(rec, BadJson)]
    assert 0 < len(good) < 2_000 and good == [json.loads(line) for line in lines[: len(good)]]
    reasons = [rec.reason for _, rec in got if isinstance(rec, BadJson)]
    assert reasons[-1] == "gzip stream is truncated or corrupt"
    assert len(reasons) <= 2  # and, at most, the line the cut went through
    (tmp_path / "whole.jsonl.gz").write_bytes(whole)
    assert [rec for _, rec in iter_records(tmp_path / "whole.jsonl.gz")] == [
        json.loads(line) for line in lines
    ]


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        expand_paths([tmp_path / "nope.json"])


@pytest.mark.parametrize(
    "text",
    [
        "2026-08-02 00:00:24.076650",  # LiteLLM: naive, a space, microseconds
        "2026-08-02T00:00:24",
        "2026-08-02T00:00",
        "2026-08-02",
        "20260802T000024",
        "2026-08-02T00:00:24.5",
        "2026-08-02T00:00:24Z",
        "2026-08-02T00:00:24+00:00",
        "2026-08-01T16:00:42.186-08:00",
        "2026-08-02T05:30:00+0530",
        "2026-08-02T00:00:24+00",
        "2026-08-02 00:00:24 UTC",
        " 2026-08-02T00:00:24",
        "2026-08-02T25:00:00",
        "1785628824",
        "yesterday",
    ],
)
def test_timestamps_read_naive_text_as_utc_and_keep_every_offset(text):
    """`timestamp` reads a naive time as UTC in one parse; the result (or the quarantine) is
    the same as parsing the text and then setting UTC on a naive result."""

    def reference(value):
        try:
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                parsed = datetime.fromisoformat(value.strip().replace(" UTC", "+00:00"))
        except ValueError:
            return "unparseable"
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)

    try:
        got = timestamp(text, "t")
    except BadRecord as exc:
        assert "unparseable" in str(exc)
        got = "unparseable"
    expected = reference(text)
    assert got == expected
    if got != "unparseable":
        assert got.tzinfo is UTC
