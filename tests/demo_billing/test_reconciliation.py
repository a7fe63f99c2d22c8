"""The AI bills against the gateway and CLI logs: same days, models and tokens, and a cost gap
that is exactly the documented unlogged traffic, discount and credits."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.demo_billing.support import load_page
from tests.generator.support import UNKNOWN, genai_cost, load

PROVIDERS = ("openai", "anthropic")


@pytest.fixture(scope="module")
def logged(demo) -> list[dict]:
    """Billable OpenAI and Anthropic calls in the logs (no error, no gateway cache hit)."""
    labels = json.loads(demo.labels_path.read_text())
    bad = {(m["file"], m["line"]) for m in labels["malformed"]}
    rows = load(demo, bad)
    return [r for r in rows if r["provider"] in PROVIDERS and not r["error"] and not r["free"]]


def billed_by_month(demo, provider: str) -> dict[str, Decimal]:
    """USD per month summed from the saved costs page."""
    rel = "openai/costs.json" if provider == "openai" else "anthropic/cost_report.json"
    out: dict[str, Decimal] = defaultdict(Decimal)
    for bucket in load_page(demo.out_dir / "billing-api" / rel)["data"]:
        if provider == "openai":
            month = datetime.fromtimestamp(int(bucket["start_time"]), UTC).strftime("%Y-%m")
            out[month] += sum((r["amount"]["value"] for r in bucket["results"]), Decimal(0))
        else:
            cents = sum((Decimal(r["amount"]) for r in bucket["results"]), Decimal(0))
            out[bucket["starting_at"][:7]] += cents / 100
    return out


@pytest.mark.parametrize("provider", PROVIDERS)
def test_bill_minus_log_cost_is_the_documented_gap(demo, truth, logged, provider):
    priced: dict[str, Decimal] = defaultdict(Decimal)
    for r in logged:
        if r["provider"] == provider and (provider, r["model"]) not in UNKNOWN:
            tokens = (r["input"], r["cache_read"], r["cache_write"], r["output"])
            priced[r["day"][:7]] += Decimal(repr(genai_cost(provider, r["model"], tokens)))
    info = truth["ai_apis"][provider]
    billed = billed_by_month(demo, provider)
    assert sorted(info["months"]) == sorted(billed) == sorted(priced)
    for month, m in info["months"].items():
        d = {k: Decimal(v) for k, v in m.items()}
        # the logs priced independently (genai-prices) give the truth's logged cost
        catalogued = d["logged_cost"] - d["logged_cost_unpriced_models"]
        assert abs(priced[month] - catalogued) < Decimal("1e-6")
        assert d["billed"] == billed[month]
        gap = d["billed"] - d["logged_cost"]
        assert gap == d["unlogged_cost"] + d["discount"] + d["credits"] + d["rounding"]
        assert abs(d["rounding"]) < Decimal("0.001")
        assert Decimal("0.02") < d["unlogged_share"] < Decimal("0.07")
    if provider == "anthropic":
        assert any(Decimal(m["logged_cost_unpriced_models"]) > 0 for m in info["months"].values())


def test_anthropic_discount_and_openai_credit(truth):
    anthropic, openai = truth["ai_apis"]["anthropic"], truth["ai_apis"]["openai"]
    since = anthropic["discount"]["from"]
    assert anthropic["discount"]["rate"] == "0.1" and openai["discount"] is None
    for month, m in anthropic["months"].items():
        metered = Decimal(m["logged_cost"]) + Decimal(m["unlogged_cost"])
        if month > since[:7] or (month == since[:7] and since.endswith("-01")):
            assert Decimal(m["discount"]) == -metered / 10
        elif month < since[:7]:
            assert Decimal(m["discount"]) == 0
    credits = sum(Decimal(m["credits"]) for m in openai["months"].values())
    assert credits == Decimal(openai["credit"]["amount"]) < 0
    assert Decimal(truth["file_sets"]["openai-costs"]["billed_cost"]["USD"]["Credit"]) == credits


def test_usage_apis_meter_the_logged_tokens_plus_the_unlogged_team(demo, truth, logged):
    logs: dict[tuple[str, str], int] = defaultdict(int)
    for r in logged:
        if r["model"] != "text-embedding-3-small":  # embeddings are not completions usage
            logs[(r["provider"], r["day"])] += r["input"]
    api: dict[tuple[str, str], int] = defaultdict(int)
    unlogged = {p: truth["ai_apis"][p]["unlogged_project"]["id"] for p in PROVIDERS}
    page = load_page(demo.out_dir / "billing-api/openai/usage-completions.json")
    seen_unlogged = set()
    for bucket in page["data"]:
        day = datetime.fromtimestamp(int(bucket["start_time"]), UTC).date().isoformat()
        for r in bucket["results"]:
            parts = ("input_cached_tokens", "input_uncached_tokens", "input_cache_write_tokens")
            assert r["input_tokens"] == sum(r[p] for p in parts)
            if r["project_id"] == unlogged["openai"]:
                seen_unlogged.add("openai")
            else:
                api[("openai", day)] += r["input_tokens"]
    for bucket in load_page(demo.out_dir / "billing-api/anthropic/usage-messages.json")["data"]:
        for r in bucket["results"]:
            total = r["uncached_input_tokens"] + r["cache_read_input_tokens"]
            total += sum(r["cache_creation"].values())
            if r["workspace_id"] == unlogged["anthropic"]:
                seen_unlogged.add("anthropic")
            else:
                api[("anthropic", bucket["starting_at"][:10])] += total
    assert api == logs and seen_unlogged == set(PROVIDERS)
