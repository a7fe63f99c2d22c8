"""The AI bills against the gateway and CLI logs: same days, models and tokens, and a cost gap
that is exactly the documented unlogged traffic, discount and credits; and the reconciliation mart
built from them splits that gap the same way."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pytest

from bimo.settings import get_settings
from ingestion.billing.apis import parse_saved
from ingestion.billing.files import FILE_SOURCES, expand_billing_paths
from ingestion.billing.load import load_billing
from ingestion.load import load_files
from tests.conftest import build, source_files
from tests.demo_billing.support import load_page
from tests.generator.support import UNKNOWN, genai_cost, load

PROVIDERS = ("openai", "anthropic")


@pytest.fixture(scope="module")
def requests(demo) -> list[dict]:
    """Every valid call in the gateway and CLI logs."""
    labels = json.loads(demo.labels_path.read_text())
    return load(demo, {(m["file"], m["line"]) for m in labels["malformed"]})


@pytest.fixture(scope="module")
def logged(requests) -> list[dict]:
    """Billable OpenAI and Anthropic calls in the logs (no error, no gateway cache hit)."""
    return [r for r in requests if r["provider"] in PROVIDERS and not r["error"] and not r["free"]]


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


API_PAGES = {
    "openai-costs": "openai/costs.json",
    "openai-usage": "openai/usage-completions.json",
    "anthropic-costs": "anthropic/cost_report.json",
    "anthropic-usage": "anthropic/usage-messages.json",
}
GAPS = ("unlogged", "dev_tools", "token_category", "price", "credits_tax_fees", "fx", "unexplained")


@pytest.fixture(scope="module")
def reconciliation(demo, tmp_path_factory) -> dict:
    """marts.fct_reconciliation built from the demo's logs, GCP FOCUS export and saved AI API
    pages: the provider-month rows keyed by (provider, YYYY-MM), plus the model rows under
    ("models", provider)."""
    settings = get_settings(tmp_path_factory.mktemp("recon") / "warehouse.duckdb")
    load_files(source_files(demo.out_dir), settings=settings)
    gcp = expand_billing_paths([demo.out_dir / "billing" / "focus-gcp"])
    parses = [FILE_SOURCES["focus"](f) for f in gcp]
    api = demo.out_dir / "billing-api"
    parses += [parse_saved(source, api / rel) for source, rel in API_PAGES.items()]
    load_billing(parses, settings=settings)
    build(settings)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        rel = con.sql(
            "select *, strftime(period_start, '%Y-%m') as month from marts.fct_reconciliation "
            "where period_grain = 'month'"
        )
        rows = [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]
    finally:
        con.close()
    out: dict = defaultdict(list)
    for r in rows:
        if r["model"] is None:
            out[r["provider"], r["month"]] = r
        else:
            out["models", r["provider"]].append(r)
    return out


@pytest.mark.slow
def test_reconciliation_parts_add_up_and_split_dev_tools_from_unlogged(
    demo, truth, logged, reconciliation
):
    dev: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in logged:
        if r["tag"] == "dev":
            tokens = (r["input"], r["cache_read"], r["cache_write"], r["output"])
            cost = Decimal(repr(genai_cost(r["provider"], r["model"], tokens)))
            dev[r["provider"], r["day"][:7]] += cost
    orion: dict[str, Decimal] = defaultdict(Decimal)  # the model no catalogue prices
    for bucket in load_page(demo.out_dir / "billing-api/anthropic/cost_report.json")["data"]:
        for r in bucket["results"]:
            if "Orion" in r["description"]:
                orion[bucket["starting_at"][:7]] += Decimal(r["amount"]) / 100
    for provider in PROVIDERS:
        for month, m in truth["ai_apis"][provider]["months"].items():
            row = reconciliation[provider, month]
            gaps = {g: row[f"gap_{g}_usd"] for g in GAPS}
            assert sum(gaps.values()) == row["variance_usd"]
            assert row["variance_usd"] == row["billing_usd"] - row["prod_estimate_usd"]
            assert row["billing_usd"] == Decimal(m["billed"])
            assert gaps["credits_tax_fees"] == Decimal(m["credits"])
            # the CLI tools' billed calls are dev tools (1 %: the logs also hold failed calls),
            # not unlogged traffic, which is no more than the team that calls the API directly
            assert abs(gaps["dev_tools"] - dev[provider, month]) <= dev[provider, month] / 100
            assert 0 <= gaps["unlogged"] <= Decimal(m["unlogged_cost"])
            expected = orion[month] if provider == "anthropic" else 0
            assert abs(gaps["unexplained"] - expected) < Decimal("1e-9")


@pytest.mark.slow
def test_google_reconciles_the_vertex_ai_bill_not_the_unbilled_gemini_api(
    truth, requests, reconciliation
):
    assert any(r["provider"] == "google" and r["tag"] == "prod" for r in requests)
    gcp = truth["file_sets"]["focus-gcp"]["periods"]
    for month, period in gcp.items():
        final = next(d for d in period["deliveries"] if d["file"] == period["final"])
        ai = Decimal(final["billed_cost_by_service_category"]["USD"]["AI and Machine Learning"])
        row = reconciliation["google", month]
        # the Gemini API gateway traffic has no bill here; the Vertex AI pilot never went
        # through a gateway: all of its bill is unlogged, none of it unexplained
        assert row["prod_estimate_usd"] == 0
        assert row["billing_usd"] == row["variance_usd"] == row["gap_unlogged_usd"] == ai
        assert row["gap_unexplained_usd"] == row["gap_dev_tools_usd"] == 0
    models = {(r["service"], r["model"]) for r in reconciliation["models", "google"]}
    assert models == {("Vertex AI", "gemini-2.5-flash")}
