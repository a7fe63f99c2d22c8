"""OpenAI and Anthropic admin-API responses (costs and usage), saved as the full set of daily
buckets in the real envelopes (`api_server.py` paginates them), and how each month's bill
decomposes against the gateway-log cost."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import orjson

from bimo.demo.billing.ai_traffic import (
    ANTHROPIC_DISCOUNT,
    UNLOGGED_PROJECT,
    Metered,
    Terms,
    anthropic_key,
    anthropic_workspace,
    openai_key,
    openai_project,
)
from bimo.demo.billing.ledger import unit_prices
from bimo.demo.billing.truth import fmt
from bimo.demo.company import MODEL_INDEX, MODELS

Q10, CENTS_Q = Decimal("1e-10"), Decimal("0.00001")
OPENAI_ITEMS = (("uncached", "input"), ("cache_read", "cached input"), ("output", "output"))
ANTHROPIC_TYPES = (
    ("uncached", "uncached_input_tokens", "Input Tokens"),
    ("cache_read", "cache_read_input_tokens", "Prompt Caching Read"),
    ("cache_write", "cache_creation.ephemeral_5m_input_tokens", "Prompt Caching Write"),
    ("output", "output_tokens", "Output Tokens"),
)
DISPLAY = {
    "claude-sonnet-4-5": "Claude Sonnet 4.5",
    "claude-3-5-haiku-latest": "Claude Haiku 3.5",
    "claude-orion-preview": "Claude Orion Preview",
}
PARTS = ("logged_cost", "logged_cost_unpriced_models", "unlogged_cost", "discount", "credits")


def _snapshot(model: str) -> str:
    return MODELS[MODEL_INDEX[model]].snapshot


def _tokens(r: Metered, part: str) -> int:
    t = r.tokens
    return t["input"] - t["cache_read"] - t["cache_write"] if part == "uncached" else t[part]


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _unix(d: date) -> int:
    return int(datetime.combine(d, time(), UTC).timestamp())


def _rfc(d: date) -> str:
    return f"{d.isoformat()}T00:00:00Z"


class Breakdown:
    """Per month: logged and unlogged list cost, discount and credits, and what was billed."""

    def __init__(self) -> None:
        self.months: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))

    def add_cost(self, r: Metered, exact: Decimal) -> None:
        m = self.months[f"{r.day:%Y-%m}"]
        m["logged_cost" if r.logged else "unlogged_cost"] += exact
        if r.logged and not unit_prices(r.model)[4]:
            m["logged_cost_unpriced_models"] += exact

    def add(self, day: date, key: str, amount: Decimal) -> None:
        self.months[f"{day:%Y-%m}"][key] += amount

    def as_dict(self) -> dict[str, dict[str, str]]:
        out = {}
        for month, m in sorted(self.months.items()):
            metered = m["logged_cost"] + m["unlogged_cost"]
            explained = metered + m["discount"] + m["credits"]
            row = {k: fmt(m[k]) for k in PARTS}
            row |= {
                "unlogged_share": fmt((m["unlogged_cost"] / metered).quantize(Decimal("1e-6")))
                if metered
                else "0",
                "billed": fmt(m["billed"]),
                "rounding": fmt(m["billed"] - explained),
            }
            out[month] = row
        return out


def _save(path: Path, envelope: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(envelope, option=orjson.OPT_INDENT_2) + b"\n")


def openai_files(out: Path, rows: list[Metered], terms: Terms, start: date, end: date) -> dict:
    """`costs.json` and `usage-completions.json`; returns the truth entries."""
    costs: dict[date, list] = defaultdict(list)
    usage: dict[date, list] = defaultdict(list)
    book = Breakdown()
    for r in rows:
        project = openai_project(r.project)
        cost = r.cost()
        for part, label in OPENAI_ITEMS:
            if not _tokens(r, part):
                continue
            value = float(cost[part].quantize(Q10))
            costs[r.day].append({
                "object": "organization.costs.result",
                "amount": {"value": value, "currency": "usd"},
                "line_item": f"{_snapshot(r.model)}, {label}",
                "project_id": project,
            })  # fmt: skip
            book.add_cost(r, cost[part])
            book.add(r.day, "billed", Decimal(repr(value)))
        if MODELS[MODEL_INDEX[r.model]].embedding:
            continue  # embeddings are metered by /usage/embeddings, not /usage/completions
        t = r.tokens
        usage[r.day].append({
            "object": "organization.usage.completions.result",
            "input_tokens": t["input"],
            "output_tokens": t["output"],
            "input_cached_tokens": t["cache_read"],
            "input_cache_write_tokens": t["cache_write"],
            "input_uncached_tokens": _tokens(r, "uncached"),
            "input_text_tokens": t["input"],
            "output_text_tokens": t["output"],
            "input_cached_text_tokens": t["cache_read"],
            "input_audio_tokens": 0,
            "input_cached_audio_tokens": 0,
            "output_audio_tokens": 0,
            "input_image_tokens": 0,
            "input_cached_image_tokens": 0,
            "output_image_tokens": 0,
            "num_model_requests": t["requests"],
            "project_id": project,
            "user_id": None,
            "api_key_id": openai_key(r.project),
            "model": _snapshot(r.model),
            "batch": False,
            "service_tier": "default",
        })  # fmt: skip
    credit = float(terms.credit)
    costs[terms.credit_day].append({
        "object": "organization.costs.result",
        "amount": {"value": credit, "currency": "usd"},
        "line_item": "Promotional credit",
        "project_id": None,
    })  # fmt: skip
    book.add(terms.credit_day, "credits", terms.credit)
    book.add(terms.credit_day, "billed", Decimal(repr(credit)))

    def page(by_day: dict[date, list]) -> dict:
        data = [
            {"object": "bucket", "start_time": _unix(d), "end_time": _unix(d + timedelta(days=1)),
             "results": by_day.get(d, [])}
            for d in _days(start, end)
        ]  # fmt: skip
        return {"object": "page", "data": data, "has_more": False, "next_page": None}

    _save(out / "billing-api/openai/costs.json", page(costs))
    _save(out / "billing-api/openai/usage-completions.json", page(usage))
    names = sorted({r.project for r in rows})
    return {
        "months": book.as_dict(),
        "projects": [{"id": openai_project(p), "name": p} for p in names],
        "unlogged_project": {"name": UNLOGGED_PROJECT, "id": openai_project(UNLOGGED_PROJECT)},
        "credit": {"day": terms.credit_day.isoformat(), "amount": fmt(terms.credit)},
        "discount": None,
        "cost_results": sum(len(v) for v in costs.values()),
        "usage_results": sum(len(v) for v in usage.values()),
        "buckets": len(_days(start, end)),
    }


def anthropic_files(out: Path, rows: list[Metered], terms: Terms, start: date, end: date) -> dict:
    """`cost_report.json` (amounts: decimal strings in cents) and `usage-messages.json`."""
    costs: dict[date, list] = defaultdict(list)
    usage: dict[date, list] = defaultdict(list)
    book = Breakdown()
    for r in rows:
        ws, cost = anthropic_workspace(r.project), r.cost()
        discounted = r.day >= terms.discount_start
        for part, token_type, label in ANTHROPIC_TYPES:
            if not _tokens(r, part):
                continue
            net = cost[part] * (1 - ANTHROPIC_DISCOUNT) if discounted else cost[part]
            cents = (net * 100).quantize(CENTS_Q)
            costs[r.day].append({
                "currency": "USD",
                "amount": format(cents, "f"),
                "workspace_id": ws,
                "description": f"{DISPLAY[r.model]} Usage - {label}",
                "cost_type": "tokens",
                "context_window": "0-200k",
                "model": _snapshot(r.model),
                "service_tier": "standard",
                "token_type": token_type,
                "inference_geo": "not_available",
            })  # fmt: skip
            book.add_cost(r, cost[part])
            book.add(r.day, "discount", net - cost[part])
            book.add(r.day, "billed", cents / 100)
        t = r.tokens
        usage[r.day].append({
            "uncached_input_tokens": _tokens(r, "uncached"),
            "cache_creation": {
                "ephemeral_1h_input_tokens": 0,
                "ephemeral_5m_input_tokens": t["cache_write"],
            },
            "cache_read_input_tokens": t["cache_read"],
            "output_tokens": t["output"],
            "server_tool_use": {"web_search_requests": 0},
            "api_key_id": anthropic_key(r.project),
            "workspace_id": ws,
            "model": _snapshot(r.model),
            "service_tier": "standard",
            "context_window": "0-200k",
            "inference_geo": "not_available",
        })  # fmt: skip

    def page(by_day: dict[date, list]) -> dict:
        data = [
            {"starting_at": _rfc(d), "ending_at": _rfc(d + timedelta(days=1)),
             "results": by_day.get(d, [])}
            for d in _days(start, end)
        ]  # fmt: skip
        return {"data": data, "has_more": False, "next_page": None}

    _save(out / "billing-api/anthropic/cost_report.json", page(costs))
    _save(out / "billing-api/anthropic/usage-messages.json", page(usage))
    names = sorted({r.project for r in rows})
    return {
        "months": book.as_dict(),
        "workspaces": [{"id": anthropic_workspace(p), "name": p} for p in names],
        "unlogged_project": {
            "name": UNLOGGED_PROJECT,
            "id": anthropic_workspace(UNLOGGED_PROJECT),
        },
        "credit": None,
        "discount": {"rate": fmt(ANTHROPIC_DISCOUNT), "from": terms.discount_start.isoformat()},
        "cost_results": sum(len(v) for v in costs.values()),
        "usage_results": sum(len(v) for v in usage.values()),
        "buckets": len(_days(start, end)),
    }
