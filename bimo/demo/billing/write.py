"""`generate_billing`: the demo company's bills — FOCUS exports of three clouds, an AWS CUR 2.0
export and the OpenAI / Anthropic cost and usage API responses — with their ground truth."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import orjson

from bimo.demo.billing.accounts import CLOUDS, EUR_PER_USD
from bimo.demo.billing.ai_apis import anthropic_files, openai_files
from bimo.demo.billing.ai_traffic import metered, terms
from bimo.demo.billing.cloud import Charge, Delivery, charges, schedule
from bimo.demo.billing.cur import write_cur
from bimo.demo.billing.focus import write_delivery
from bimo.demo.billing.ledger import AiLedger
from bimo.demo.billing.truth import BillingTruth, add_sums, fmt, sums

OUT_DIRS = ("billing", "billing-api")
NOTES = {
    "deliveries": "Each FOCUS file is one delivery of one billing period. The last period is "
    "open: a month-to-date delivery (its last day partial, InvoiceId empty) and a later "
    "restated delivery that replaces it (more days, plus an AWS refund flagged "
    "ChargeClass=Correction for the previous month and a late GCP adjustment). Order "
    "deliveries by file mtime (= delivered_at); Azure run folders are GUIDs that do not sort.",
    "fx": "focus-azure bills in EUR. x_BillingExchangeRate is EUR per 1 USD (pricing currency "
    "to billing currency), so USD per EUR = 1 / x_BillingExchangeRate; x_BilledCostInUsd and "
    "x_EffectiveCostInUsd hold the USD amounts and PricingCurrency* columns are USD.",
    "cur_vs_focus": "aws-cur holds the same AWS charges as focus-aws for its period: load one "
    "of them per period. Σ line_item_unblended_cost = Σ BilledCost and the CUDOS amortized "
    "cost = Σ EffectiveCost of that period's final FOCUS delivery.",
    "commitments": "AWS Compute Savings Plan: a daily Purchase row (BilledCost = fee, "
    "EffectiveCost 0), covered usage (BilledCost 0, EffectiveCost at the SP rate) and Unused "
    "rows; per day Σ EffectiveCost(Used + Unused) = BilledCost(Purchase).",
    "tax": "AWS Tax rows span the whole billing period (ChargePeriodStart = day 1). The AI "
    "APIs carry no tax.",
    "ai_apis": "Saved pages hold the finest grouping (OpenAI costs: project_id + line_item; "
    "usage: project_id, api_key_id, model, batch, service_tier; Anthropic: workspace_id + "
    "description). The demo API server aggregates to the group_by the client asks for, as "
    "the real APIs do. OpenAI amount.value is a number in USD ('usd'); Anthropic amount is a "
    "decimal string in cents. Embedding cost is in OpenAI costs but not in usage/completions. "
    "Claude Code bills to Anthropic's default workspace (workspace_id null).",
    "ai_gap": "Per provider and month: billed = logged_cost + unlogged_cost + discount + "
    "credits + rounding. logged_cost prices the gateway/CLI logs' billable calls (no error, "
    "no gateway cache hit) at genai-prices list prices; models no catalogue knows "
    "(logged_cost_unpriced_models) at the demo's internal price. unlogged_cost is the "
    "finance-ops project calling the provider directly.",
    "not_billed": "Gemini (google) and self-hosted gateway traffic has no bill here; the "
    "self-hosted model's GPU instance is the AWS g6e.12xlarge. Bedrock, Azure OpenAI and Vertex "
    "AI rows are small pilots that never went through the gateways.",
}


def generate_billing(
    out: Path, *, traffic: AiLedger, seed: int, start: date, end: date
) -> BillingTruth:
    """Write `billing/` and `billing-api/` under `out` for the window [start, end] and return
    the ground truth (also written to `billing/truth.json`). Same arguments, same bytes and
    the same file mtimes."""
    out = Path(out)
    for name in OUT_DIRS:
        shutil.rmtree(out / name, ignore_errors=True)
    truth = BillingTruth(out / "billing/truth.json", start.isoformat(), end.isoformat())
    final_aws: tuple[Delivery, list[Charge]] | None = None
    for cloud in CLOUDS:
        file_set: dict = {"format": "FOCUS 1.2 CSV", "files": [], "rows": 0, "periods": {}}
        totals: dict = {}
        for d in schedule(cloud, start, end):
            lines = charges(d, seed)
            entry = write_delivery(out, d, lines)
            file_set["files"].append(entry["file"])
            period = file_set["periods"].setdefault(
                f"{d.period:%Y-%m}", {"billing_account_id": cloud.account_id, "deliveries": []}
            )
            period["deliveries"].append(entry)
            if d.kind != "mtd":
                period["final"] = entry["file"]
                file_set["rows"] += entry["rows"]
                totals = add_sums(totals, {k: entry[k] for k in ("billed_cost", "effective_cost")})
                if cloud.key == "aws" and (final_aws is None or d.closed):
                    final_aws = (d, lines)
        truth.file_sets[f"focus-{cloud.key}"] = file_set | totals
    if final_aws:
        entry = write_cur(out, *final_aws)
        truth.file_sets["aws-cur"] = {
            "format": "AWS CUR 2.0 CSV",
            "files": [entry["file"]],
            "rows": entry["rows"],
            "periods": {f"{final_aws[0].period:%Y-%m}": entry},
            "line_item_unblended_cost": entry["line_item_unblended_cost"],
            "amortized_cost": entry["amortized_cost"],
        }
    _ai(out, truth, traffic, seed, start, end)
    months = sorted({p for s in truth.file_sets.values() for p in s.get("periods", {})})
    truth.notes = NOTES | {
        "eur_per_usd": {m: str(EUR_PER_USD[int(m[5:]) - 1]) for m in months},
    }
    truth.write()
    return truth


def _ai(out: Path, truth: BillingTruth, ledger: AiLedger, seed: int, start: date, end: date):
    t = terms(ledger, start, end)
    providers = {"openai": openai_files, "anthropic": anthropic_files}
    for provider, write in providers.items():
        info = write(out, metered(ledger, provider, seed, start, end), t, start, end)
        truth.ai_apis[provider] = info
    api = out / "billing-api"
    for name, rel, results in (
        ("openai-costs", "openai/costs.json", "cost_results"),
        ("openai-usage", "openai/usage-completions.json", "usage_results"),
        ("anthropic-costs", "anthropic/cost_report.json", "cost_results"),
        ("anthropic-usage", "anthropic/usage-messages.json", "usage_results"),
    ):
        provider = name.split("-")[0]
        entry = {
            "format": "API response (all daily buckets)",
            "files": [f"billing-api/{rel}"],
            "rows": truth.ai_apis[provider][results],
            "buckets": truth.ai_apis[provider]["buckets"],
        }
        if name.endswith("costs"):
            entry |= _api_billed(orjson.loads((api / rel).read_bytes()), provider)
        truth.file_sets[name] = entry


def _api_billed(page: dict, provider: str) -> dict:
    """Billed USD per charge category of a saved costs page (credits are their own line)."""
    rows = []
    for bucket in page["data"]:
        for r in bucket["results"]:
            if provider == "openai":
                value = Decimal(repr(r["amount"]["value"]))
                category = "Credit" if value < 0 else "Usage"
            else:
                value, category = Decimal(r["amount"]) / 100, "Usage"
            rows.append({"currency": "USD", "category": category, "cost": fmt(value)})
    return {"billed_cost": sums(rows, "currency", "category", ("cost",))["cost"]}
