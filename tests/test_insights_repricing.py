"""The expensive-model insight reprices a model's requests at a candidate's prices. The query
sums the requests per tier band before it prices them; here it must give exactly what pricing
each request on its own gives (the per-request query below, the definition), for prices with
several tiers, priorities and validity, requests in every band, below the lowest tier, errors,
unpriced ones and other scopes."""

import random
from datetime import date
from decimal import Decimal

import duckdb
import polars as pl
import pytest

from bimo.analytics import insights_llm
from tests.test_insights import PRICES_DDL, contract_ddl

START, THROUGH = date(2026, 6, 1), date(2026, 6, 30)

# Each request priced on its own: the rank of every price row whose tier its input reaches.
PER_REQUEST = f"""
    with requests as ({insights_llm._REQUESTS}),
    prices as (
        select * from intermediate.int_llm_prices
        where valid_from <= $through and (valid_to is null or $through < valid_to)
    ),
    repriced as (
        select
            pairs.pair,
            requests.cost,
            requests.input_uncached_tokens * prices.input_per_mtok
            + requests.cache_read_tokens * prices.cache_read_per_mtok
            + requests.cache_write_tokens * prices.cache_write_per_mtok
            + requests.output_tokens * prices.output_per_mtok
            + requests.reasoning_tokens * prices.reasoning_per_mtok as candidate_cost_per_mtok,
            prices.price_source,
            row_number() over (
                partition by pairs.pair, requests.request_key
                order by prices.priority, prices.tier_start_tokens desc
            ) as price_rank
        from insight_pairs as pairs
        inner join requests
            on requests.source_tag = pairs.source_tag and requests.scope_type = pairs.scope_type
            and requests.scope = pairs.scope and requests.provider = pairs.provider
            and requests.model = pairs.model
        inner join prices
            on prices.provider = pairs.provider_cand
            and prices.model_ref = pairs.pricing_model_cand
            and requests.input_total_tokens >= prices.tier_start_tokens
    )
    select
        pair,
        count(*) as repriced_requests,
        sum(cost)::double as cost,
        sum(candidate_cost_per_mtok)::double / 1e6 as candidate_cost,
        string_agg(distinct price_source, ', ' order by price_source) as price_source
    from repriced where price_rank = 1 group by pair
"""

MODELS = [("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("anthropic", "claude-sonnet-4-5")]
SCOPES = [("prod", "feature", "chat"), ("prod", "project", "helpdesk"), ("dev", "feature", "chat")]
TIERS = [0, 1_000, 128_000, 200_000, None]
EDGES = [0, 999, 1_000, 1_001, 127_999, 128_000, 199_999, 200_000, 200_001]


def case(rng: random.Random) -> tuple[list[dict], list[dict], list[tuple]]:
    """Prices, requests and pairs; the first pair always has priced requests in its scope and
    an all-tier price in force, so every case reprices something."""
    pairs = [(rng.choice(MODELS), rng.choice(MODELS), rng.choice(SCOPES)) for _ in range(4)]
    pairs.append((rng.choice(MODELS), ("google", "gemini"), SCOPES[0]))  # a candidate unpriced

    def price(model, tier, valid="now"):
        per_mtok = [Decimal(rng.randint(1, 90_000_000)) / 10**6 for _ in range(5)]
        return {"model": model, "tier_start_tokens": tier, "priority": rng.randint(1, 3),
                "valid": valid, "source": rng.choice(["genai-prices 1", "seed 2"]),
                "per_mtok": per_mtok}  # fmt: skip

    # In force on the last day: at most one row per model, tier and priority (as in the
    # catalogue; with two, which one prices a request is not defined).
    prices = [price(pairs[0][1], 0)]
    in_force = {(prices[0]["model"], 0, prices[0]["priority"])}
    for _ in range(rng.randint(2, 12)):
        valid = rng.choice(["now"] * 4 + ["ended", "future"])
        row = price(rng.choice(MODELS), rng.choice(TIERS), valid)
        key = (row["model"], row["tier_start_tokens"], row["priority"])
        if valid == "now" and key in in_force:
            continue
        if valid == "now":
            in_force.add(key)
        prices.append(row)

    def request(model, scope):
        tag, kind, name = scope
        tokens = rng.choice(EDGES) if rng.random() < 0.3 else rng.randint(0, 400_000)
        return {"model": model, "tag": tag, "input_total": tokens,
                "feature": name if kind == "feature" else None,
                "parts": [rng.choice([None, rng.randint(0, 50_000)]) for _ in range(5)],
                "cost": Decimal(rng.randint(0, 3 * 10**9)) / 10**9,
                "status": rng.choice(["priced"] * 5 + ["unpriced"]),
                "error": rng.choice([False] * 5 + [True, None]),
                "day": rng.choice([date(2026, 5, 31), START, THROUGH])}  # fmt: skip

    requests = [{**request(pairs[0][0], pairs[0][2]), "status": "priced", "error": False,
                 "day": THROUGH}]  # fmt: skip
    for _ in range(rng.randint(20, 200)):
        model, _, scope = rng.choice(pairs)  # most requests in a pair's scope, some not
        if rng.random() < 0.2:
            model, scope = rng.choice(MODELS), rng.choice(SCOPES)
        requests.append(request(model, scope))
    return prices, requests, pairs


def warehouse(prices: list[dict], requests: list[dict], pairs: list[tuple]):
    con = duckdb.connect()
    con.execute(contract_ddl("fct_llm_requests"))
    con.execute(PRICES_DDL)
    validity = {
        "now": (date(2026, 1, 1), None),
        "ended": (date(2026, 1, 1), THROUGH),  # ends on the last day: not in force
        "future": (date(2026, 7, 1), None),
    }
    price_rows = pl.DataFrame(  # noqa: F841 - read by name below
        [
            {"provider": p["model"][0], "model_ref": p["model"][1],
             "valid_from": validity[p["valid"]][0], "valid_to": validity[p["valid"]][1],
             "tier_start_tokens": p["tier_start_tokens"], "input_per_mtok": p["per_mtok"][0],
             "cache_read_per_mtok": p["per_mtok"][1], "cache_write_per_mtok": p["per_mtok"][2],
             "output_per_mtok": p["per_mtok"][3], "reasoning_per_mtok": p["per_mtok"][4],
             "price_source": p["source"], "catalogue_model_id": p["model"][1],
             "priority": p["priority"]}
            for p in prices
        ],
        schema_overrides={f: pl.Decimal(18, 9) for f in (
            "input_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok", "output_per_mtok",
            "reasoning_per_mtok")},
    )  # fmt: skip
    if prices:
        con.execute("insert into intermediate.int_llm_prices by name select * from price_rows")
    request_rows = pl.DataFrame(  # noqa: F841 - read by name below
        [
            {"request_key": f"k{i}", "request_id": str(i), "source_tag": r["tag"],
             "request_date": r["day"], "provider": r["model"][0], "model": r["model"][1],
             "response_model": None, "is_error": r["error"], "feature": r["feature"],
             "project": "helpdesk", "input_total_tokens": r["input_total"],
             "input_uncached_tokens": r["parts"][0], "cache_read_tokens": r["parts"][1],
             "cache_write_tokens": r["parts"][2], "output_tokens": r["parts"][3],
             "reasoning_tokens": r["parts"][4], "pricing_status": r["status"],
             "catalogue_model_id": r["model"][1], "estimated_cost_usd": r["cost"]}
            for i, r in enumerate(requests)
        ],
        schema_overrides={"estimated_cost_usd": pl.Decimal(38, 15)},
    )  # fmt: skip
    if requests:
        con.execute("insert into marts.fct_llm_requests by name select * from request_rows")
    pair_rows = pl.DataFrame(
        [
            {"pair": i, "source_tag": tag, "scope_type": kind, "scope": scope,
             "provider": model[0], "model": model[1], "provider_cand": cand[0],
             "pricing_model_cand": cand[1]}
            for i, (model, cand, (tag, kind, scope)) in enumerate(pairs)
        ],
        schema_overrides={"pair": pl.UInt32},
    )  # fmt: skip
    con.register("insight_pairs", pair_rows)
    return con


def repriced(con, query: str) -> list[tuple]:
    return sorted(con.sql(query, params={"start": START, "through": THROUGH}).fetchall())


@pytest.mark.parametrize("seed", range(40))
def test_banded_repricing_is_the_per_request_one(seed):
    con = warehouse(*case(random.Random(seed)))
    banded = repriced(con, insights_llm._REPRICED)
    assert banded, "the first pair always reprices"
    assert banded == repriced(con, PER_REQUEST)


def test_a_request_prices_at_its_own_tier_and_none_below_the_lowest():
    """Worked example: tiers at 1,000 and 200,000 input tokens (priority 1) and an all-tier
    priority-2 row; requests at 500 (only the priority-2 row reaches it), 1,000 and 250,000."""
    price = {"model": MODELS[1], "valid": "now", "source": "genai-prices 1"}
    prices = [
        {**price, "tier_start_tokens": 1_000, "priority": 1, "per_mtok": [Decimal(1)] * 5},
        {**price, "tier_start_tokens": 200_000, "priority": 1, "per_mtok": [Decimal(2)] * 5},
        {
            **price,
            "tier_start_tokens": 0,
            "priority": 2,
            "per_mtok": [Decimal(10)] * 5,
            "source": "seed 2",
        },
    ]
    request = {"model": MODELS[0], "feature": "chat", "tag": "prod", "cost": Decimal(1),
               "status": "priced", "error": False, "day": THROUGH}  # fmt: skip
    requests = [
        {**request, "input_total": n, "parts": [n, 0, 0, 0, 0]} for n in (500, 1_000, 250_000)
    ]
    con = warehouse(prices, requests, [(MODELS[0], MODELS[1], SCOPES[0])])
    (row,) = repriced(con, insights_llm._REPRICED)
    expected = (500 * 10 + 1_000 * 1 + 250_000 * 2) / 1e6
    assert row == (0, 3, 3.0, expected, "genai-prices 1, seed 2")
    assert repriced(con, PER_REQUEST) == [row]
