"""Anthropic Admin API: `cost_report` → line items, `usage_report/messages` → token usage.

The cost report's `amount` is a decimal string in the lowest currency unit (cents): it is divided
by 100 with Decimal, exactly. Usage `uncached_input_tokens` already excludes cache reads and
writes; cache writes are the 5-minute plus the 1-hour ephemeral tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from dlt.sources.helpers.rest_client.auth import APIKeyAuth

from ingestion.billing.apis.client import Provider
from ingestion.billing.apis.pages import (
    BadData,
    Endpoint,
    decimal,
    extra_json,
    money,
    rfc3339,
    text,
    tokens,
)

API_VERSION = "2023-06-01"
PROVIDER = Provider(
    name="anthropic",
    label="Anthropic",
    key_env="ANTHROPIC_ADMIN_KEY",
    base_env="BIMO_ANTHROPIC_API_BASE",
    default_base="https://api.anthropic.com",
    auth=lambda key: APIKeyAuth(name="x-api-key", api_key=key, location="header"),
    headers={"anthropic-version": API_VERSION},
)

_TOKEN_TYPES = {
    "uncached_input_tokens": "input_uncached",
    "cache_read_input_tokens": "cache_read",
    "output_tokens": "output",
}
_COST_FIELDS = (
    "amount",
    "currency",
    "workspace_id",
    "description",
    "model",
    "token_type",
    "cost_type",
)
_USAGE_FIELDS = (
    "uncached_input_tokens",
    "cache_creation",
    "cache_read_input_tokens",
    "output_tokens",
    "model",
    "api_key_id",
    "workspace_id",
    "service_tier",
)


def _rfc3339(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _daily(group_by: list[str]) -> Callable[[date, date], dict]:
    """Request params for daily buckets over [start, end), grouped as given."""

    def params(start: date, end: date) -> dict:
        return {"starting_at": _rfc3339(start), "ending_at": _rfc3339(end), "bucket_width": "1d",
                "group_by[]": group_by, "limit": 31}  # fmt: skip

    return params


costs_params = _daily(["description", "workspace_id"])
usage_params = _daily(["model", "api_key_id", "workspace_id"])


def token_type(raw: str | None) -> str | None:
    """Cost-report token types → the canonical ones (both cache_creation.* are cache_write)."""
    if raw is None:
        return None
    if raw.startswith("cache_creation"):
        return "cache_write"
    return _TOKEN_TYPES.get(raw, "other")


def cost_row(result: dict) -> dict:
    """One cost-report result → a LINE_ITEM_SCHEMA row (without the bucket framing)."""
    cents = decimal(result.get("amount"), "amount")
    cost = money(cents.scaleb(-2), "amount")  # cents → dollars, exact
    currency = text(result.get("currency"), "currency")
    raw_token_type = text(result.get("token_type"), "token_type")
    return {
        "sub_account_id": text(result.get("workspace_id"), "workspace_id"),
        # web_search, code_execution and session_usage are usage too; cost_type stays in extra
        "charge_category": "Usage",
        "charge_description": text(result.get("description"), "description"),
        "charge_frequency": "Usage-Based",
        # the report gives one amount: it is what is billed, at list price, as contracted
        "billed_cost": cost,
        "effective_cost": cost,
        "list_cost": cost,
        "contracted_cost": cost,
        "billing_currency": (currency or "USD").upper(),
        "provider_name": "Anthropic",
        "publisher_name": "Anthropic",
        "invoice_issuer_name": "Anthropic",
        "service_name": "Claude API",
        "service_category": "AI and Machine Learning",
        "service_subcategory": "Generative AI",
        "model": text(result.get("model"), "model"),
        "token_type": token_type(raw_token_type),
        "conformance_issues": None if currency else '["currency missing; USD assumed"]',
        # token_type is kept raw too: the 5-minute and 1-hour cache writes are priced apart
        "extra": extra_json(result, _COST_FIELDS, kept=("cost_type", "token_type")),
    }


def usage_row(result: dict) -> dict:
    """One messages usage-report result → an AI_USAGE_SCHEMA row."""
    creation = result.get("cache_creation")
    if creation is None:
        creation = {}
    if not isinstance(creation, dict):
        raise BadData("cache_creation is not an object")
    written = sum(
        tokens(creation.get(k), f"cache_creation.{k}") or 0
        for k in ("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens")
    )
    return {
        "project_id": text(result.get("workspace_id"), "workspace_id"),
        "api_key_id": text(result.get("api_key_id"), "api_key_id"),
        "model": text(result.get("model"), "model"),
        "service_tier": text(result.get("service_tier"), "service_tier"),
        "input_uncached_tokens": _count(result, "uncached_input_tokens"),
        "cache_read_tokens": _count(result, "cache_read_input_tokens"),
        "cache_write_tokens": written,
        "output_tokens": _count(result, "output_tokens"),
        "requests": None,  # the messages usage report has no request count
        "extra": extra_json(result, _USAGE_FIELDS, kept=("cache_creation",)),
    }


def _count(result: dict, field: str) -> int | None:
    return tokens(result.get(field), field)


COSTS = Endpoint(
    source="anthropic-costs",
    provider="anthropic",
    path="/v1/organizations/cost_report",
    usage=False,
    start_field="starting_at",
    end_field="ending_at",
    parse_time=rfc3339,
    to_row=cost_row,
    params=costs_params,
)
USAGE = Endpoint(
    source="anthropic-usage",
    provider="anthropic",
    path="/v1/organizations/usage_report/messages",
    usage=True,
    start_field="starting_at",
    end_field="ending_at",
    parse_time=rfc3339,
    to_row=usage_row,
    params=usage_params,
)
