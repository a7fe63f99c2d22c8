"""Tests for the demo data generator (`bimo.demo`): determinism, the four log formats, labels."""

from __future__ import annotations

import functools
import gzip
import itertools
import json
import re
import statistics
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from genai_prices import Usage, calc_price

from bimo.demo import GenerateResult, generate
from bimo.demo.anomalies import GAP_DAYS, LEAD_DAYS, QUIET_TAIL, place

END = date(2025, 6, 30)
ARGS = {"days": 35, "requests_per_day": 200, "end": END}
KNOWN = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("openai", "o3-mini"),
    ("openai", "text-embedding-3-small"),
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-3-5-haiku-latest"),
    ("google", "gemini-2.5-flash"),
    ("google", "gemini-2.5-pro"),
]
UNKNOWN = [("anthropic", "claude-orion-preview"), ("self_hosted", "acme-llama-70b-ft")]
OTEL_PROVIDERS = {"gcp.gemini": "google", "gemini": "google"}
NAIVE_TS = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> GenerateResult:
    return generate(tmp_path_factory.mktemp("demo"), seed=7, **ARGS)


@pytest.fixture(scope="module")
def labels(demo: GenerateResult) -> dict:
    return json.loads(demo.labels_path.read_text())


@pytest.fixture(scope="module")
def bad_lines(labels: dict) -> set[tuple[str, int]]:
    return {(m["file"], m["line"]) for m in labels["malformed"]}


def read_lines(path: Path) -> list[str]:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return raw.decode().splitlines()


def files(demo: GenerateResult, folder: str) -> list[Path]:
    return sorted((demo.out_dir / folder).iterdir())


def rel(demo: GenerateResult, path: Path) -> str:
    return path.relative_to(demo.out_dir).as_posix()


def otel_attrs(items: list[dict]) -> dict[str, object]:
    return {a["key"]: next(iter(a["value"].values())) for a in items}


def parsed(demo: GenerateResult, folder: str, bad: set[tuple[str, int]]) -> Iterator[dict]:
    """The records in a folder's files (JSON Lines, gzipped or not, or a JSON array), minus the
    labelled malformed ones."""
    for path in files(demo, folder):
        is_array = path.suffix == ".json"
        items = json.loads(path.read_text()) if is_array else read_lines(path)
        for n, item in enumerate(items, 1):
            if (rel(demo, path), n) not in bad:
                yield item if is_array else json.loads(item)


def request(source: str, meta: tuple, tokens: tuple, flags: tuple) -> dict:
    """A normalised request. meta = (id, day, provider, model); tokens = (input incl. cache,
    cache read, cache write, output); flags = (error, free of charge, carries content)."""
    rid, day, provider, model = meta
    row = dict(zip(("input", "cache_read", "cache_write", "output"), tokens, strict=True))
    row |= dict(zip(("error", "free", "content"), flags, strict=True))
    provider = OTEL_PROVIDERS.get(provider, provider)
    tag = "dev" if source == "cli-log" else "prod"
    return {
        "source": source,
        "tag": tag,
        "id": rid,
        "day": day,
        "provider": provider,
        "model": model,
        **row,
    }


def load_gateway(demo: GenerateResult, bad: set[tuple[str, int]]) -> Iterator[dict]:
    for r in parsed(demo, "bimo-gateway", bad):
        u = r["usage"]
        meta = (r["request_id"], r["timestamp"][:10], r["provider"], r["model"])
        cache = (u.get("cache_read_input_tokens", 0), u.get("cache_write_input_tokens", 0))
        tokens = (u["input_tokens"], *cache, u.get("output_tokens", 0))
        flags = (r["status"] == "error", r["gateway_cache_hit"], "request" in r)
        yield request("bimo-gateway", meta, tokens, flags)


def load_litellm(demo: GenerateResult, bad: set[tuple[str, int]]) -> Iterator[dict]:
    for r in parsed(demo, "litellm", bad):
        u = json.loads(r["metadata"])["usage_object"]
        meta = (r["request_id"], r["startTime"][:10], r["custom_llm_provider"], r["model"])
        cache = (
            u.get("prompt_tokens_details", {}).get("cached_tokens", 0),
            u.get("cache_creation_input_tokens", 0),
        )
        tokens = (r["prompt_tokens"], *cache, r["completion_tokens"])
        flags = (r["status"] == "failure", r["cache_hit"] == "True", bool(r["messages"]))
        yield request("litellm", meta, tokens, flags)


def spans(demo: GenerateResult) -> Iterator[tuple[dict, dict]]:
    """(span, its attributes) for every span of every export request."""
    for request_ in parsed(demo, "otel-genai", set()):
        for rs in request_["resourceSpans"]:
            for span in (s for ss in rs["scopeSpans"] for s in ss["spans"]):
                yield span, otel_attrs(span["attributes"])


def load_otel(demo: GenerateResult) -> Iterator[dict]:
    for span, a in spans(demo):
        if not any(k.startswith("gen_ai.") for k in a):
            continue
        t = {k[len("gen_ai.usage.") :]: int(v) for k, v in a.items() if "gen_ai.usage." in k}
        cache = (t.get("cache_read.input_tokens", 0), t.get("cache_creation.input_tokens", 0))
        tokens = (
            t.get("input_tokens", t.get("prompt_tokens", 0)),
            *cache,
            t.get("output_tokens", t.get("completion_tokens", 0)),
        )
        rid = a.get("gen_ai.response.id") or f"{span['traceId']}:{span['spanId']}"
        day = datetime.fromtimestamp(int(span["startTimeUnixNano"]) / 1e9, UTC).date()
        provider = a.get("gen_ai.provider.name") or a["gen_ai.system"]
        meta = (rid, day.isoformat(), provider, a["gen_ai.request.model"])
        flags = (span["status"].get("code") == 2, False, "gen_ai.input.messages" in a)
        yield request("otel-genai", meta, tokens, flags)


def load_cli(demo: GenerateResult, bad: set[tuple[str, int]]) -> Iterator[dict]:
    for r in parsed(demo, "cli-log", bad):
        if r["type"] != "usage":
            continue
        u = r["usage"]
        cache = (u["cache_read_input_tokens"], u["cache_creation_input_tokens"])
        tokens = (u["input_tokens"] + sum(cache), *cache, u["output_tokens"])
        day = datetime.fromisoformat(r["ts"]).astimezone(UTC).date().isoformat()
        meta = (r["message_id"], day, r["provider"], r["model"])
        yield request("cli-log", meta, tokens, (r["is_error"], False, "prompt" in r))


def load(demo: GenerateResult, bad: set[tuple[str, int]]) -> list[dict]:
    """A tiny reference loader: one normalised dict per valid request in any of the formats."""
    loaded = (
        load_gateway(demo, bad),
        load_litellm(demo, bad),
        load_otel(demo),
        load_cli(demo, bad),
    )
    return [r for rows in loaded for r in rows]


@functools.cache
def genai_cost(provider: str, model: str, tokens: tuple[int, int, int, int]) -> float:
    """USD from genai-prices, an independent price source (input includes cached tokens)."""
    names = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens")
    usage = Usage(**dict(zip(names, tokens, strict=True)))
    return float(calc_price(usage, model_ref=model, provider_id=provider).total_price)


@pytest.fixture(scope="module")
def records(demo: GenerateResult, bad_lines: set[tuple[str, int]]) -> list[dict]:
    rows = load(demo, bad_lines)
    for r in rows:
        billed = not (r["error"] or r["free"] or (r["provider"], r["model"]) in UNKNOWN)
        tokens = (r["input"], r["cache_read"], r["cache_write"], r["output"])
        r["cost"] = genai_cost(r["provider"], r["model"], tokens) if billed else 0.0
    return rows


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


def test_labels_list_six_anomalies_inside_the_window(labels, demo):
    kinds = [a["kind"] for a in labels["anomalies"]]
    assert sorted(kinds) == sorted(
        ["cost_spike", "runaway_key", "model_switch", "error_burst", "cost_spike", "dev_runaway"]
    )
    last_allowed = (demo.end - timedelta(days=QUIET_TAIL)).isoformat()
    for a in labels["anomalies"]:
        assert demo.start.isoformat() < a["start_date"] <= a["end_date"] <= last_allowed
        assert a["metric"] in {"cost_usd", "error_rate"} and a["source_tag"] in {"prod", "dev"}
        assert a["models"] and a["provider"] and a["description"]


@pytest.mark.parametrize("weekday", range(7))
def test_default_window_placement_rules(weekday):
    durations = [1, 2, 3, 1, 1, 1]
    starts = place(durations, 90, weekday, np.random.default_rng(weekday))
    windows = sorted((s, s + d - 1) for s, d in zip(starts, durations, strict=True))
    assert windows[0][0] >= LEAD_DAYS and windows[-1][1] <= 90 - 1 - QUIET_TAIL
    assert all(b[0] - a[1] > GAP_DAYS for a, b in itertools.pairwise(windows))
    assert all((weekday + d) % 7 < 5 for s, e in windows for d in range(s, e + 1))


def test_malformed_entries_really_are_malformed(demo, labels):
    kinds_by_source = defaultdict(set)
    for m in labels["malformed"]:
        path = demo.out_dir / m["file"]
        kinds_by_source[m["file"].split("/")[0]].add(m["reason_kind"])
        if m["file"].startswith("litellm/"):
            assert json.loads(path.read_text())[m["line"] - 1]["startTime"] is None
            continue
        line = read_lines(path)[m["line"] - 1]
        if m["reason_kind"] == "truncated_json":
            with pytest.raises(json.JSONDecodeError):
                json.loads(line)
            continue
        r = json.loads(line)
        if m["reason_kind"] == "missing_timestamp":
            assert "timestamp" not in r and "ts" not in r
        elif m["reason_kind"] == "negative_tokens":
            assert min(v for v in r["usage"].values() if isinstance(v, int)) < 0
        else:
            assert isinstance(r["usage"]["output_tokens"], str)
    kinds = {"truncated_json", "missing_timestamp", "negative_tokens", "wrong_type"}
    assert kinds_by_source["bimo-gateway"] == kinds == kinds_by_source["cli-log"]
    assert kinds_by_source["litellm"] == {"null_start_time"}


def test_unknown_models_are_present_and_unknown_to_genai_prices(records):
    prod = [r for r in records if r["tag"] == "prod"]
    unknown = [r for r in prod if (r["provider"], r["model"]) in UNKNOWN]
    assert {(r["provider"], r["model"]) for r in unknown} == set(UNKNOWN)
    assert 0.005 < len(unknown) / len(prod) < 0.03
    for provider, model in UNKNOWN:
        for provider_id in {provider, None}:
            with pytest.raises(LookupError):
                calc_price(
                    Usage(input_tokens=1, output_tokens=1), model_ref=model, provider_id=provider_id
                )
    for provider, model in KNOWN:
        calc_price(Usage(input_tokens=1, output_tokens=1), model_ref=model, provider_id=provider)


def test_about_thirty_percent_of_records_carry_content(records):
    for source in ("bimo-gateway", "litellm", "otel-genai", "cli-log"):
        rows = [r for r in records if r["source"] == source]
        assert 0.25 < sum(r["content"] for r in rows) / len(rows) < 0.35, source


def daily(records: list[dict], keep, value=lambda rows: sum(r["cost"] for r in rows)) -> dict:
    by_day = defaultdict(list)
    for r in records:
        if keep(r):
            by_day[r["day"]].append(r)
    return {d: value(rows) for d, rows in by_day.items()}


def ratio_to_normal(series: dict[str, float], anomaly: dict, labels: dict) -> list[float]:
    """Each anomaly day's value over the median of normal weekdays."""
    busy = set()
    for a in labels["anomalies"]:
        d = date.fromisoformat(a["start_date"])
        while d <= date.fromisoformat(a["end_date"]):
            busy.add(d.isoformat())
            d += timedelta(days=1)
    normal = [v for d, v in series.items() if d not in busy and date.fromisoformat(d).weekday() < 5]
    days = [d for d in series if anomaly["start_date"] <= d <= anomaly["end_date"]]
    return [series[d] / statistics.median(normal) for d in days]


def by_id(labels: dict, anomaly_id: str) -> dict:
    return next(a for a in labels["anomalies"] if a["id"] == anomaly_id)


def test_injected_spike_raises_that_days_model_cost(records, labels):
    spike = by_id(labels, "cost_spike-1")
    prod = [r for r in records if r["tag"] == "prod"]
    sonnet = daily(prod, lambda r: r["model"] == "claude-sonnet-4-5")
    anthropic = daily(prod, lambda r: r["provider"] == "anthropic")
    assert min(ratio_to_normal(sonnet, spike, labels)) >= 4
    assert min(ratio_to_normal(anthropic, spike, labels)) >= 1.6


@pytest.mark.parametrize(
    ("anomaly_id", "keep", "floor"),
    [
        ("runaway_key-1", lambda r: r["tag"] == "prod" and r["provider"] == "openai", 2.2),
        ("model_switch-1", lambda r: r["tag"] == "prod" and r["model"] == "gpt-4o", 2.0),
        ("cost_spike-2", lambda r: r["tag"] == "prod" and r["model"] == "gemini-2.5-pro", 2.5),
        ("dev_runaway-1", lambda r: r["tag"] == "dev", 5.0),
    ],
)
def test_other_cost_anomalies_are_clearly_anomalous(records, labels, anomaly_id, keep, floor):
    assert min(ratio_to_normal(daily(records, keep), by_id(labels, anomaly_id), labels)) >= floor


def test_error_burst_raises_google_error_rate(records, labels):
    burst = by_id(labels, "error_burst-1")
    google = [r for r in records if r["tag"] == "prod" and r["provider"] == "google"]
    rate = daily(google, lambda r: True, lambda rows: sum(r["error"] for r in rows) / len(rows))
    assert rate[burst["start_date"]] >= 0.15
    assert max(v for d, v in rate.items() if d != burst["start_date"]) < 0.06
