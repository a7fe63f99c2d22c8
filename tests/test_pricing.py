"""The price table reproduces genai-prices' own per-request prices."""

import importlib.util
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import pytest
from genai_prices import Usage, calc_price

from bimo.pricing import price_rows
from bimo.settings import DBT_PROJECT_DIR

CASES = [
    ("openai", "gpt-4o", dict(input_tokens=1200, cache_read_tokens=400, output_tokens=300)),
    ("openai", "o3-mini", dict(input_tokens=5000, output_tokens=2000)),
    ("anthropic", "claude-3-5-haiku-latest",
     dict(input_tokens=9000, cache_read_tokens=6000, cache_write_tokens=2000, output_tokens=100)),
    ("anthropic", "claude-sonnet-4-5",
     dict(input_tokens=250_000, cache_read_tokens=50_000, output_tokens=900)),
    ("google", "gemini-2.5-pro", dict(input_tokens=210_000, output_tokens=1000)),
    ("google", "gemini-2.5-pro", dict(input_tokens=1000, output_tokens=1000)),
]  # fmt: skip


def ours(provider, model, day, u):
    rows = price_rows(provider, model, day, day)
    total_input = u.get("input_tokens", 0)
    row = max((r for r in rows if total_input >= r.tier_start_tokens),
              key=lambda r: r.tier_start_tokens)  # fmt: skip
    cr, cw = u.get("cache_read_tokens", 0), u.get("cache_write_tokens", 0)
    cost = (
        (total_input - cr - cw) * row.input
        + cr * row.cache_read
        + cw * row.cache_write
        + u.get("output_tokens", 0) * row.output
    )
    return cost / Decimal(1_000_000)


@pytest.mark.parametrize(("provider", "model", "usage"), CASES)
def test_price_table_matches_calc_price(provider, model, usage):
    day = date(2026, 6, 1)
    ref = calc_price(
        Usage(**usage),
        model_ref=model,
        provider_id=provider,
        genai_request_timestamp=datetime(2026, 6, 1, 12, tzinfo=UTC),
    ).total_price
    assert ours(provider, model, day, usage) == ref


def test_price_change_splits_validity_windows():
    rows = price_rows("anthropic", "claude-opus-4-6", date(2026, 3, 1), date(2026, 3, 31))
    windows = sorted({(r.valid_from, r.valid_to) for r in rows})
    assert windows == [(date(2026, 3, 1), date(2026, 3, 13)), (date(2026, 3, 13), None)]


def test_unknown_models_have_no_price():
    assert price_rows("anthropic", "claude-orion-preview", date(2026, 6, 1), date(2026, 6, 2)) == []
    assert price_rows("self_hosted", "acme-llama-70b-ft", date(2026, 6, 1), date(2026, 6, 2)) == []


def test_the_price_table_keeps_its_types_and_exact_prices():
    """int_model_prices hands dbt a DuckDB relation of its columns' types: prices exact to the
    ninth decimal, and typed columns when no model has a price."""
    spec = importlib.util.spec_from_file_location(
        "int_model_prices", DBT_PROJECT_DIR / "models" / "intermediate" / "int_model_prices.py"
    )
    int_model_prices = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(int_model_prices)
    con = duckdb.connect()
    price = Decimal("0.123456789")
    day = date(2026, 6, 1)
    row = ("openai", "gpt-x", day, None, 0, "gpt-x", price, price, None, Decimal(15), price, "c")
    kinds = [k.replace(" ", "").upper() for _, k in int_model_prices.COLUMNS]
    for rows in ([row, row], []):
        relation = int_model_prices.as_relation(con, rows)
        assert [str(t) for t in relation.types] == kinds
        assert relation.fetchall() == rows
