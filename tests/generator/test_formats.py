"""The generator writes each log format as real exports look."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from bimo.demo import generate
from tests.generator.support import (
    ARGS,
    END,
    NAIVE_TS,
    otel_attrs,
    parsed,
    rel,
    spans,
)


def test_same_seed_is_byte_identical_and_another_seed_differs(tmp_path, demo):
    again = generate(tmp_path / "again", seed=7, **ARGS)
    other = generate(tmp_path / "other", seed=8, **ARGS)
    ours = {rel(demo, p): p.read_bytes() for p in demo.out_dir.rglob("*") if p.is_file()}
    theirs = {
        p.relative_to(again.out_dir).as_posix(): p.read_bytes()
        for p in again.out_dir.rglob("*")
        if p.is_file()
    }
    assert ours == theirs
    assert any(
        p.read_bytes() != ours[p.relative_to(other.out_dir).as_posix()]
        for p in other.out_dir.rglob("*")
        if p.is_file()
    )


def test_result_describes_what_was_written(demo, labels, records):
    assert (demo.start, demo.end) == (END - timedelta(days=34), END)
    assert len(demo.files) == 4 * 35 and all(p.exists() for p in demo.files)
    assert sum(p.name.endswith(".jsonl.gz") for p in demo.files) == 5  # every 7th gateway day
    counts = defaultdict(int)
    for r in records:
        counts[r["source"]] += 1
    assert dict(counts) == demo.counts == labels["counts"]
    assert demo.requests == len(records)
    assert demo.malformed == len(labels["malformed"])
    assert min(demo.counts.values()) > 0.1 * demo.requests  # every format has real volume
    assert labels["start"] == demo.start.isoformat() and labels["seed"] == 7


def test_progress_is_reported_per_day(tmp_path):
    seen: list[tuple[int, int]] = []
    generate(
        tmp_path, days=3, requests_per_day=20, end=END, progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_gateway_records_follow_the_schema(demo, bad_lines):
    attribution = {"team", "project", "environment", "feature", "api_key_id"}
    for r in parsed(demo, "bimo-gateway", bad_lines):
        assert r["schema"] == "bimo.gateway.v1" and r["request_id"] and r["provider"]
        assert datetime.fromisoformat(r["timestamp"]).tzinfo == UTC
        u = r["usage"]
        assert all(isinstance(v, int) and v >= 0 for v in u.values())
        cached = u.get("cache_read_input_tokens", 0) + u.get("cache_write_input_tokens", 0)
        assert u["input_tokens"] >= cached
        assert u.get("output_tokens", 0) >= u.get("reasoning_tokens", 0)
        assert set(r["attribution"]) >= attribution
        assert re.fullmatch(r"key_[0-9a-f]{8}", r["attribution"]["api_key_id"])
        assert (r["status"] == "error") == ("error_type" in r)


def test_litellm_rows_look_like_a_spend_log_export(demo, bad_lines):
    for r in parsed(demo, "litellm", bad_lines):
        assert NAIVE_TS.match(r["startTime"]) and NAIVE_TS.match(r["endTime"])
        assert r["startTime"] <= r["completionStartTime"] <= r["endTime"]
        meta = json.loads(r["metadata"])
        assert set(meta["spend_logs_metadata"]) == {"project", "feature", "environment"}
        assert meta["user_api_key_alias"] and meta["user_api_key_team_alias"]
        assert re.fullmatch(r"[0-9a-f]{64}", r["api_key"])
        assert r["cache_hit"] in {"True", "False", "None"}
        tags = json.loads(r["request_tags"])
        assert f"project:{meta['spend_logs_metadata']['project']}" in tags
        cached = meta["usage_object"].get("prompt_tokens_details", {}).get("cached_tokens", 0)
        assert r["prompt_tokens"] >= cached
        assert r["total_tokens"] == r["prompt_tokens"] + r["completion_tokens"]
        assert isinstance(r["spend"], float) and r["spend"] >= 0
        if r["status"] == "failure" or r["cache_hit"] == "True":
            assert r["spend"] == 0


def test_otel_lines_are_export_requests_with_genai_and_plain_spans(demo):
    for request_ in parsed(demo, "otel-genai", set()):
        batch = [
            s for rs in request_["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]
        ]
        assert 0 < len(batch) <= 200
        for rs in request_["resourceSpans"]:
            resource = otel_attrs(rs["resource"]["attributes"])
            assert {"service.name", "deployment.environment.name"} <= set(resource)
    genai = plain = legacy_system = legacy_tokens = 0
    for span, a in spans(demo):
        assert re.fullmatch(r"[0-9a-f]{32}", span["traceId"])
        assert re.fullmatch(r"[0-9a-f]{16}", span["spanId"])
        assert int(span["endTimeUnixNano"]) >= int(span["startTimeUnixNano"])  # strings
        ints = [x["value"]["intValue"] for x in span["attributes"] if "intValue" in x["value"]]
        assert all(isinstance(v, str) for v in ints)
        if not any(k.startswith("gen_ai.") for k in a):
            plain += 1
            assert span["kind"] == 2 and all(k.startswith("http.") for k in a)
            continue
        genai += 1
        assert span["kind"] == 3 and span["name"].endswith(a["gen_ai.request.model"])
        legacy_system += "gen_ai.system" in a
        legacy_tokens += "gen_ai.usage.prompt_tokens" in a
        assert (span["status"].get("code") == 2) == ("error.type" in a)
    assert genai == demo.counts["otel-genai"]
    assert 0.02 < plain / (genai + plain) < 0.08
    assert 0.2 < legacy_system / genai < 0.4 and 0.05 < legacy_tokens / genai < 0.15


def test_cli_lines_carry_usage_and_some_summaries(demo, bad_lines):
    lines = list(parsed(demo, "cli-log", bad_lines))
    usage = [r for r in lines if r["type"] == "usage"]
    assert 0.005 < 1 - len(usage) / len(lines) < 0.05  # the rest are "summary" lines
    for r in usage:
        assert r["message_id"] and r["developer"].endswith("@acme-robotics.com")
        assert r["tool"] in {"claude-code", "codex-cli"}
        assert datetime.fromisoformat(r["ts"]).tzinfo is not None
        assert all(isinstance(v, int) and v >= 0 for v in r["usage"].values())
        assert r["cost_usd"] >= 0


def test_each_prod_request_appears_in_exactly_one_format(records):
    seen: dict[str, str] = {}
    for r in records:
        assert r["id"] not in seen, f"{r['id']} in {seen.get(r['id'])} and {r['source']}"
        seen[r["id"]] = r["source"]
