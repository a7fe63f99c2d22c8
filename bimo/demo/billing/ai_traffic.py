"""What OpenAI and Anthropic metered: the logged traffic (from the `AiLedger`) plus a finance
team that calls the providers directly, never through a gateway. Also the providers' ids for
Acme's projects, workspaces and keys, and the commercial terms (discount, credit)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

import numpy as np

from bimo.demo.billing.ledger import DEV_PROJECT, PROJECTS, AiLedger, list_cost

UNLOGGED_PROJECT = "finance-ops"  # invoice OCR scripts with their own provider keys
# Per provider: the unlogged team's models with their share of its requests, and the tokens of
# one of its requests (input, output).
UNLOGGED_MIX = {
    "openai": ((("gpt-4o", 0.6), ("gpt-4o-mini", 0.4)), (3_000, 350)),
    "anthropic": ((("claude-sonnet-4-5", 1.0),), (4_000, 500)),
}
UNLOGGED_SHARE = (0.03, 0.05)  # of the provider's metered list cost, drawn per provider
ANTHROPIC_DISCOUNT = Decimal("0.10")  # negotiated, from `discount_start` on
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@cache
def _id(kind: str, name: str, n: int) -> str:
    h = int(hashlib.sha256(f"acme:{kind}:{name}".encode()).hexdigest(), 16)
    chars = []
    for _ in range(n):
        h, r = divmod(h, 62)
        chars.append(_B62[r])
    return "".join(chars)


def openai_project(name: str) -> str:
    return "proj_" + _id("openai-project", name, 24)


def openai_key(name: str) -> str:
    return "key_" + _id("openai-key", name, 16)


def anthropic_workspace(name: str) -> str | None:
    """Claude Code runs in the organisation's default workspace, which the API reports as null."""
    return None if name == DEV_PROJECT else "wrkspc_01" + _id("anthropic-ws", name, 22)


def anthropic_key(name: str) -> str:
    return "apikey_01" + _id("anthropic-key", name, 22)


@dataclass(frozen=True)
class Metered:
    """One (UTC day, project, model) of metered usage; `logged` if the gateway logs have it."""

    day: date
    project: str
    model: str
    tokens: dict[str, int]
    logged: bool

    def cost(self) -> dict[str, Decimal]:
        return list_cost(self.model, self.tokens)


@dataclass(frozen=True)
class Terms:
    """Commercial terms for the window: Anthropic's discount start and OpenAI's one credit."""

    discount_start: date
    credit_day: date
    credit: Decimal  # USD, negative


def terms(ledger: AiLedger, start: date, end: date) -> Terms:
    """Discount and credit start on the first of the window's second month (mid-window if the
    window is within one month); the credit is about three days of OpenAI spend."""
    nxt = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
    pivot = nxt if nxt <= end else start + timedelta(days=(end - start).days // 2)
    daily = ledger.daily_cost("openai")
    mean = sum(daily.values(), Decimal(0)) / max(len(daily), 1)
    credit = -max(Decimal(5), (3 * mean).quantize(Decimal(1)))
    return Terms(pivot, pivot, credit)


def metered(ledger: AiLedger, provider: str, seed: int, start: date, end: date) -> list[Metered]:
    """The logged rows plus the unlogged team's: each day, `share` of the day's metered cost."""
    rows = [Metered(d, p, m, t, True) for d, m, p, t in ledger.rows(provider)]
    index = list(UNLOGGED_MIX).index(provider)
    share = np.random.default_rng([seed, 51, index]).uniform(*UNLOGGED_SHARE)
    mix, (tok_in, tok_out) = UNLOGGED_MIX[provider]
    daily = ledger.daily_cost(provider)
    one = _tokens(1, tok_in, tok_out)
    per_request = sum(w * float(sum(list_cost(m, one).values())) for m, w in mix)
    day = start
    while day <= end:
        rng = np.random.default_rng([seed, 50, index, day.toordinal()])
        target = float(daily.get(day, Decimal(0))) * share / (1 - share) * rng.uniform(0.7, 1.3)
        n = int(rng.poisson(target / per_request))
        for model, w in mix:
            k = round(n * w)
            if k:
                jitter = rng.uniform(0.9, 1.1, 2)
                tokens = _tokens(k, round(k * tok_in * jitter[0]), round(k * tok_out * jitter[1]))
                rows.append(Metered(day, UNLOGGED_PROJECT, model, tokens, False))
        day += timedelta(days=1)
    return sorted(rows, key=lambda r: (r.day, r.project, r.model))


def _tokens(requests: int, tok_in: int, tok_out: int) -> dict[str, int]:
    return {
        "input": tok_in,
        "cache_read": 0,
        "cache_write": 0,
        "output": tok_out,
        "reasoning": 0,
        "requests": requests,
    }


def project_names() -> tuple[str, ...]:
    return (*PROJECTS, UNLOGGED_PROJECT)
