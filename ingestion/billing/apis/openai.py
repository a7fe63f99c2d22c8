"""OpenAI Admin API: `/v1/organization/costs` → line items, `/usage/completions` → token usage.

Costs are invoice-grade (`amount.value` in dollars, currency written lower-case). Usage
`input_tokens` includes cached and cache-write tokens, so the uncached part is the difference.
Both endpoints drifted in 2025: the 2025-03 schema has costs without `api_key_id`/`quantity` and
usage without `input_cache_write_tokens`/`input_uncached_tokens`; absent fields load as NULL/0.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time

from dlt.sources.helpers.rest_client.auth import BearerTokenAuth

from ingestion.billing.apis.client import Provider
from ingestion.billing.apis.pages import (
    BadData,
    Endpoint,
    decimal,
    extra_json,
    money,
    text,
    tokens,
    unix_time,
)

PROVIDER = Provider(
    name="openai",
    label="OpenAI",
    key_env="OPENAI_ADMIN_KEY",
    base_env="BIMO_OPENAI_API_BASE",
    default_base="https://api.openai.com",
    auth=lambda key: BearerTokenAuth(token=key),
)

# the kind after the model in a costs line item ("gpt-4o-mini, cached input")
_KINDS = {"input": "input_uncached", "cached input": "cache_read", "output": "output"}
_COST_FIELDS = (
    "object",
    "amount",
    "line_item",
    "project_id",
    "project_name",
    "organization_id",
    "organization_name",
    "quantity",
    "quantity_unit",
)
_USAGE_FIELDS = (
    "object",
    "organization_id",
    "project_id",
    "api_key_id",
    "model",
    "service_tier",
    "input_tokens",
    "input_cached_tokens",
    "input_cache_write_tokens",
    "output_tokens",
    "num_model_requests",
)


def _unix(day: date) -> int:
    return int(datetime.combine(day, time(), UTC).timestamp())


def _daily(group_by: list[str], limit: int) -> Callable[[date, date], dict]:
    """Request params for daily buckets over [start, end), grouped as given."""

    def params(start: date, end: date) -> dict:
        return {"start_time": _unix(start), "end_time": _unix(end), "bucket_width": "1d",
                "group_by": group_by, "limit": limit}  # fmt: skip

    return params


costs_params = _daily(["project_id", "line_item"], 180)
usage_params = _daily(["model", "project_id", "api_key_id"], 31)


def split_line_item(line_item: str | None) -> tuple[str | None, str | None]:
    """("gpt-4o-2024-08-06, input") → (model, token type); a line item without the
    "<model>, <kind>" shape (a tool or training charge) gives (None, "other")."""
    if line_item is None:
        return None, None
    model, sep, kind = line_item.rpartition(",")
    if not sep or not model.strip():
        return None, "other"
    kind = re.sub(r"\s*\(.*\)\s*$", "", kind).strip().lower()  # "(batch)"-style qualifiers
    if kind in _KINDS:
        token_type = _KINDS[kind]
    elif "cache" in kind and ("write" in kind or "creation" in kind):
        token_type = "cache_write"
    elif "cached" in kind:
        token_type = "cache_read"
    elif kind.endswith("input"):
        token_type = "input_uncached"
    elif kind.endswith("output"):
        token_type = "output"
    else:
        token_type = "other"
    return model.strip(), token_type


def cost_row(result: dict) -> dict:
    """One `organization.costs.result` → a LINE_ITEM_SCHEMA row (without the bucket framing)."""
    amount = result.get("amount")
    if not isinstance(amount, dict):
        raise BadData("amount is missing or not an object")
    cost = money(decimal(amount.get("value"), "amount.value"), "amount.value")
    currency = text(amount.get("currency"), "amount.currency")
    line_item = text(result.get("line_item"), "line_item")
    model, token_type = split_line_item(line_item)
    quantity = result.get("quantity")
    rest = {k: v for k, v in amount.items() if k not in ("value", "currency") and v is not None}
    extra = extra_json(result, _COST_FIELDS, more={"amount": rest} if rest else None)
    return {
        "billing_account_id": text(result.get("organization_id"), "organization_id"),
        "billing_account_name": text(result.get("organization_name"), "organization_name"),
        "sub_account_id": text(result.get("project_id"), "project_id"),
        "sub_account_name": text(result.get("project_name"), "project_name"),
        # A negative line (e.g. "Promotional credit") is a credit, not usage.
        "charge_category": "Credit" if cost < 0 else "Usage",
        "charge_description": line_item,
        "charge_frequency": "One-Time" if cost < 0 else "Usage-Based",
        # the API gives one amount: it is what is billed, at list price, as contracted
        "billed_cost": cost,
        "effective_cost": cost,
        "list_cost": cost,
        "contracted_cost": cost,
        "billing_currency": (currency or "USD").upper(),
        "pricing_quantity": None if quantity is None else float(decimal(quantity, "quantity")),
        "pricing_unit": text(result.get("quantity_unit"), "quantity_unit"),
        "provider_name": "OpenAI",
        "publisher_name": "OpenAI",
        "invoice_issuer_name": "OpenAI",
        "service_name": "OpenAI API",
        "service_category": "AI and Machine Learning",
        "service_subcategory": "Generative AI",
        "model": model,
        "token_type": token_type,
        "conformance_issues": None if currency else '["amount.currency missing; USD assumed"]',
        "extra": extra,
    }


def usage_row(result: dict) -> dict:
    """One `organization.usage.completions.result` → an AI_USAGE_SCHEMA row."""
    total = tokens(result.get("input_tokens"), "input_tokens")
    cached = tokens(result.get("input_cached_tokens"), "input_cached_tokens")
    written = tokens(result.get("input_cache_write_tokens"), "input_cache_write_tokens") or 0
    uncached = None if total is None else total - (cached or 0) - written
    if uncached is not None and uncached < 0:
        raise BadData("input_cached_tokens + input_cache_write_tokens exceed input_tokens")
    return {
        "account_id": text(result.get("organization_id"), "organization_id"),
        "project_id": text(result.get("project_id"), "project_id"),
        "api_key_id": text(result.get("api_key_id"), "api_key_id"),
        "model": text(result.get("model"), "model"),
        "service_tier": text(result.get("service_tier"), "service_tier"),
        "input_uncached_tokens": uncached,
        "cache_read_tokens": cached,
        "cache_write_tokens": written,
        "output_tokens": tokens(result.get("output_tokens"), "output_tokens"),
        "requests": tokens(result.get("num_model_requests"), "num_model_requests"),
        "extra": extra_json(result, _USAGE_FIELDS),
    }


COSTS = Endpoint(
    source="openai-costs",
    provider="openai",
    path="/v1/organization/costs",
    usage=False,
    start_field="start_time",
    end_field="end_time",
    parse_time=unix_time,
    to_row=cost_row,
    params=costs_params,
    page_object="page",
)
USAGE = Endpoint(
    source="openai-usage",
    provider="openai",
    path="/v1/organization/usage/completions",
    usage=True,
    start_field="start_time",
    end_field="end_time",
    parse_time=unix_time,
    to_row=usage_row,
    params=usage_params,
    page_object="page",
)
