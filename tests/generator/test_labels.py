"""Labels, malformed records, unknown models, content and injected incidents."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from datetime import timedelta

import numpy as np
import pytest
from genai_prices import Usage, calc_price

from bimo.demo.anomalies import GAP_DAYS, LEAD_DAYS, QUIET_TAIL, place
from tests.generator.support import (
    KNOWN,
    UNKNOWN,
    by_id,
    daily,
    ratio_to_normal,
    read_lines,
)


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
