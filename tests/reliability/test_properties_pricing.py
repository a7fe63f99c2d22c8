"""Property tests for pricing, on the real code: `bimo.pricing` and the compiled
`int_llm_requests_priced` (compiled once with dbt and run on DuckDB). Unit prices are never
negative; the price table reproduces genai-prices' own `calc_price`; cost is additive across
splits within a tier and follows the documented cliff across one; an unknown model has no price
row and a NULL cost (never 0); every price is in USD. Token normalisation has its own module,
`test_properties_tokens.py`.
"""

from __future__ import annotations

import csv
import importlib.util
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache

import pyarrow as pa
from genai_prices import Usage, calc_price
from hypothesis import given, settings
from hypothesis import strategies as st

from bimo.pricing import PRICE_COLUMNS, PriceRow, price_rows
from bimo.settings import DBT_PROJECT_DIR
from tests.reliability.properties_support import FEW

MTOK = Decimal(1_000_000)
DAY = date(2026, 6, 1)


# --- 1. the price table (bimo.pricing) ---------------------------------------------------------

FLAT = [("openai", "gpt-4o"), ("openai", "o3-mini"), ("anthropic", "claude-3-5-haiku-latest")]
TIERED = [("anthropic", "claude-sonnet-4-5"), ("google", "gemini-2.5-pro")]
MODELS = FLAT + TIERED
days = st.dates(date(2025, 1, 1), date(2026, 10, 31))


@cache
def rows_on(provider: str, model: str, day: date) -> tuple[PriceRow, ...]:
    return tuple(price_rows(provider, model, day, day))


def row_for(rows: tuple[PriceRow, ...], input_total: int) -> PriceRow:
    """The tier a request's total input reaches (what `int_llm_requests_priced` picks)."""
    return max((r for r in rows if input_total >= r.tier_start_tokens),
               key=lambda r: r.tier_start_tokens)  # fmt: skip


def cost(row: PriceRow, u: dict[str, int]) -> Decimal:
    """Cost of normalised buckets at one row's unit prices (the dbt formula)."""
    return sum((Decimal(u.get(c, 0)) * getattr(row, c) for c in PRICE_COLUMNS), Decimal(0)) / MTOK


def priced(provider: str, model: str, day: date, u: dict[str, int]) -> Decimal:
    rows = rows_on(provider, model, day)
    total_input = u.get("input", 0) + u.get("cache_read", 0) + u.get("cache_write", 0)
    return cost(row_for(rows, total_input), u)


usages = st.fixed_dictionaries(
    {c: st.integers(0, 400_000) for c in ("input", "cache_read", "cache_write", "output")}
)


@FEW
@given(model=st.sampled_from(MODELS), day=days)
def test_unit_prices_are_usd_decimals_never_negative(model, day):
    rows = rows_on(*model, day)
    assert rows, f"{model} has no catalogue price on {day}"
    assert 0 in {r.tier_start_tokens for r in rows}  # every request size has a price
    for r in rows:
        assert r.valid_from <= day and (r.valid_to is None or day < r.valid_to)
        for c in PRICE_COLUMNS:
            assert isinstance(getattr(r, c), Decimal) and getattr(r, c) >= 0, (r, c)


@FEW
@given(model=st.sampled_from(MODELS), day=days, u=usages)
def test_a_usage_never_costs_less_than_zero_and_matches_calc_price(model, day, u):
    provider, ref = model
    ours = priced(provider, ref, day, u)
    assert ours >= 0
    theirs = calc_price(
        Usage(
            input_tokens=u["input"] + u["cache_read"] + u["cache_write"],
            cache_read_tokens=u["cache_read"],
            cache_write_tokens=u["cache_write"],
            output_tokens=u["output"],
        ),
        model_ref=ref,
        provider_id=provider,
        genai_request_timestamp=datetime.combine(day, datetime.min.time(), UTC)
        + timedelta(hours=12),
    ).total_price
    assert ours == theirs


@FEW
@given(model=st.sampled_from(MODELS), day=days, a=usages, b=usages)
def test_cost_is_additive_within_a_tier_and_a_cliff_across_one(model, day, a, b):
    rows = rows_on(*model, day)
    both = {c: a[c] + b[c] for c in a}

    def total_input(u: dict[str, int]) -> int:
        return u["input"] + u["cache_read"] + u["cache_write"]

    whole = row_for(rows, total_input(both))
    if row_for(rows, total_input(a)) == whole == row_for(rows, total_input(b)):
        assert priced(*model, day, a) + priced(*model, day, b) == priced(*model, day, both)
    else:  # the split crosses a tier: every token of the whole request is at the higher tier
        assert priced(*model, day, both) == cost(whole, a) + cost(whole, b)
        assert priced(*model, day, both) >= priced(*model, day, a) + priced(*model, day, b)


@settings(deadline=None, max_examples=25)
@given(
    provider=st.sampled_from(["openai", "anthropic", "google", "self_hosted", None]),
    name=st.text("abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=20),
)
def test_an_unknown_model_has_no_price_row(provider, name):
    assert price_rows(provider, f"bimo-unknown-{name}", DAY, DAY) == []


def test_every_price_is_in_one_currency_usd():
    spec = importlib.util.spec_from_file_location(
        "int_model_prices", DBT_PROJECT_DIR / "models" / "intermediate" / "int_model_prices.py"
    )
    int_model_prices = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(int_model_prices)
    price_fields = [name for name, _ in int_model_prices.COLUMNS if name.endswith("_per_mtok")]
    assert len(price_fields) == len(PRICE_COLUMNS)  # all USD per MTok (bimo.pricing.PriceRow)
    for seed in ("price_overrides", "saas_seat_prices"):
        with open(DBT_PROJECT_DIR / "seeds" / f"{seed}.csv", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            rows = list(reader)
        money = [c for c in header if c.endswith(("_per_mtok", "_usd", "price", "amount"))]
        if "currency" in header:  # a currency column must say USD on every row
            assert {r["currency"] for r in rows} <= {"USD"}, seed
        else:  # without one, every money column is USD by name or by the price table's docs
            assert all(c.endswith(("_per_mtok", "_usd")) for c in money), (seed, money)


# --- 2. the cost formula in the compiled int_llm_requests_priced -------------------------------

price = st.decimals(0, 200, places=9, allow_nan=False, allow_infinity=False)
bucket = st.integers(0, 5_000_000)


def _requests_table(con, rows: list[dict]) -> None:
    requests = pa.Table.from_pylist(rows)  # noqa: F841
    con.execute("create or replace table intermediate.int_llm_requests_unioned as "
                "select * from requests")  # fmt: skip


def _prices_table(con, rows: list[dict]) -> None:
    schema = pa.schema(
        [("provider", pa.string()), ("model_ref", pa.string()), ("valid_from", pa.date32()),
         ("valid_to", pa.date32()), ("tier_start_tokens", pa.int64()),
         *((f"{c}_per_mtok", pa.decimal128(18, 9)) for c in PRICE_COLUMNS),
         ("price_source", pa.string()), ("catalogue_model_id", pa.string()),
         ("priority", pa.int32())]
    )  # fmt: skip
    prices = pa.Table.from_pylist(rows, schema=schema)  # noqa: F841
    con.execute("create or replace table intermediate.int_llm_prices as select * from prices")


def _request(key: str, model: str, b: dict[str, int], *, cache_hit: bool = False) -> dict:
    return {
        "request_key": key,
        "provider": "openai",
        "pricing_model": model,
        "request_date": DAY,
        "gateway_cache_hit": cache_hit,
        "input_total_tokens": b["input"] + b["cache_read"] + b["cache_write"],
        **{f"{c}_tokens" if c != "input" else "input_uncached_tokens": b[c]
           for c in PRICE_COLUMNS},
    }  # fmt: skip


def _price(model: str, tier: int, unit: dict[str, Decimal], priority: int = 1) -> dict:
    return {
        "provider": "openai",
        "model_ref": model,
        "valid_from": DAY - timedelta(days=30),
        "valid_to": None,
        "tier_start_tokens": tier,
        **{f"{c}_per_mtok": unit[c] for c in PRICE_COLUMNS},
        "price_source": "test",
        "catalogue_model_id": model,
        "priority": priority,
    }


buckets = st.fixed_dictionaries({c: bucket for c in PRICE_COLUMNS})
units = st.fixed_dictionaries({c: price for c in PRICE_COLUMNS})


def run_priced(con, compiled) -> dict[str, tuple]:
    sql = compiled["int_llm_requests_priced"]
    out = con.execute(
        f"select request_key, pricing_status, estimated_cost_usd from ({sql})"
    ).fetchall()
    return {k: (status, c) for k, status, c in out}


@settings(deadline=None, max_examples=30)
@given(a=buckets, b=buckets, unit=units, high=units, tier=st.integers(1, 12_000_000))
def test_sql_cost_is_exact_additive_and_unpriced_stays_null(wh, compiled, a, b, unit, high, tier):
    both = {c: a[c] + b[c] for c in a}
    _requests_table(wh, [
        _request("a", "m", a), _request("b", "m", b), _request("ab", "m", both),
        _request("unknown", "no-such-model", both), _request("hit", "m", both, cache_hit=True),
    ])  # fmt: skip
    _prices_table(wh, [_price("m", 0, unit), _price("m", tier, high)])
    got = run_priced(wh, compiled)

    def expected(b: dict[str, int]) -> Decimal:
        total = b["input"] + b["cache_read"] + b["cache_write"]
        rate = high if total >= tier else unit
        return sum((b[c] * rate[c] for c in PRICE_COLUMNS), Decimal(0)) / MTOK

    for key, usage in (("a", a), ("b", b), ("ab", both)):
        status, value = got[key]
        assert status == "priced" and value is not None and value >= 0
        assert value == expected(usage)
    assert got["unknown"] == ("unpriced", None)  # never 0
    assert got["hit"] == ("gateway_cache_hit", 0)
    same_tier = len({(a_["input"] + a_["cache_read"] + a_["cache_write"]) >= tier
                     for a_ in (a, b, both)}) == 1  # fmt: skip
    if same_tier:
        assert got["a"][1] + got["b"][1] == got["ab"][1]


@settings(deadline=None, max_examples=15)
@given(b=buckets, catalogue=units, override=units)
def test_sql_an_override_wins_and_a_price_window_is_respected(wh, compiled, b, catalogue, override):
    _requests_table(wh, [_request("r", "m", b), _request("old", "old-model", b)])
    stale = _price("old-model", 0, catalogue) | {"valid_to": DAY}  # ended the day before
    _prices_table(wh, [_price("m", 0, catalogue), _price("m", 0, override, priority=0), stale])
    got = run_priced(wh, compiled)
    want = sum((b[c] * override[c] for c in PRICE_COLUMNS), Decimal(0)) / MTOK
    assert got["r"] == ("priced", want)
    assert got["old"] == ("unpriced", None)
