"""Property tests for token normalisation and pricing, on the real code.

* Parsers (`ingestion.formats.*`): whatever a usage field holds, a loaded count is a
  non-negative int64 or absent; anything else is quarantined.
* Normalisation (dbt `tokens.sql` macros in the staging models, compiled once with dbt and run on
  DuckDB): the five buckets are never negative and add up to what the format reported — OpenAI-
  style input that includes cache reads and writes, Anthropic-style input that excludes them,
  output that includes reasoning — and a count that contradicts itself is clamped, not negative.
* Pricing (`bimo.pricing` and the compiled `int_llm_requests_priced`): unit prices are never
  negative; the price table reproduces genai-prices' own `calc_price`; cost is additive across
  splits within a tier and follows the documented cliff across one; an unknown model has no price
  row and a NULL cost (never 0); every price is in USD.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache

import duckdb
import orjson
import pyarrow as pa
import pytest
from genai_prices import Usage, calc_price
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bimo.dbt_runner import DBT
from bimo.pricing import PRICE_COLUMNS, PriceRow, price_rows
from bimo.settings import DBT_PROJECT_DIR
from ingestion.formats import FORMATS
from ingestion.formats.common import BadRecord
from ingestion.formats.skip import Skip
from ingestion.source import arrow_schema

INT64_MAX = 2**63 - 1
MTOK = Decimal(1_000_000)
DAY = date(2026, 6, 1)
FEW = settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
STAGING = {
    "bimo-gateway": "stg_gateway__bimo_requests",
    "litellm": "stg_gateway__litellm_spend_logs",
    "otel-genai": "stg_gateway__otel_spans",
    "cli-log": "stg_gateway__cli_usage",
}
TOKEN_COLUMNS = {
    "input_tokens",
    "output_tokens",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cache_read_input_tokens",
    "cache_write_input_tokens",
    "cache_creation_input_tokens",
    "reasoning_tokens",
    "reasoning_output_tokens",
}


# --- records in each format, with the usage a test chooses -----------------------------------


def record(source: str, u: dict[str, object]) -> dict:
    """One request of `source` whose usage fields hold `u` (input, read, write, output, reason)."""
    inp, read, write, out, reason = (u.get(k) for k in ("in", "read", "write", "out", "reason"))
    if source == "bimo-gateway":
        usage = {
            "input_tokens": inp,
            "cache_read_input_tokens": read,
            "cache_write_input_tokens": write,
            "output_tokens": out,
            "reasoning_tokens": reason,
        }
        return {
            "schema": "bimo.gateway.v1",
            "request_id": "r1",
            "timestamp": "2026-06-01T12:00:00Z",
            "provider": "openai",
            "model": "gpt-4o",
            "usage": usage,
        }
    if source == "litellm":
        usage_object = {
            "prompt_tokens_details": {"cached_tokens": read},
            "cache_creation_input_tokens": write,
            "completion_tokens_details": {"reasoning_tokens": reason},
        }
        return {
            "request_id": "r1",
            "startTime": "2026-06-01T12:00:00",
            "model": "gpt-4o",
            "custom_llm_provider": "openai",
            "prompt_tokens": inp,
            "completion_tokens": out,
            "metadata": orjson.dumps({"usage_object": usage_object}).decode(),
        }
    if source == "otel-genai":
        attrs = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": inp,
            "gen_ai.usage.cache_read.input_tokens": read,
            "gen_ai.usage.cache_creation.input_tokens": write,
            "gen_ai.usage.output_tokens": out,
            "gen_ai.usage.reasoning.output_tokens": reason,
        }
        span = {
            "traceId": "t1",
            "spanId": "s1",
            "startTimeUnixNano": str(int(datetime(2026, 6, 1, 12, tzinfo=UTC).timestamp()) * 10**9),
            "attributes": [{"key": k, "value": _any_value(v)} for k, v in attrs.items()],
        }
        return {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    usage = {
        "input_tokens": inp,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": write,
        "output_tokens": out,
        "reasoning_tokens": reason,
    }
    return {
        "type": "usage",
        "message_id": "r1",
        "ts": "2026-06-01T12:00:00Z",
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "usage": usage,
    }


def _any_value(v: object) -> dict:
    """An OTLP AnyValue as exporters write it (int64 as a string)."""
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    return {"stringValue": v}


def parsed(source: str, rec: dict) -> list[dict | BadRecord | Skip]:
    return list(FORMATS[source].parse(rec))


# --- 1. parsers: never a negative or overflowing count ----------------------------------------

ODD_COUNTS = st.one_of(
    st.none(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(0, 10**12).map(str),
    st.integers(-(10**6), -1).map(str),
    st.sampled_from(["", "None", "1.5", "1e3", "-0", "12abc", "0x10"]),
    st.booleans(),
)
USAGE_KEYS = ("in", "read", "write", "out", "reason")


@pytest.mark.parametrize("source", list(STAGING))
@FEW
@given(values=st.fixed_dictionaries({k: ODD_COUNTS for k in USAGE_KEYS}))
def test_a_loaded_token_count_is_never_negative(source, values):
    for out in parsed(source, record(source, values)):
        if isinstance(out, BadRecord | Skip):
            continue
        for column in TOKEN_COLUMNS & out.keys():
            value = out[column]
            assert value is None or (type(value) is int and 0 <= value <= INT64_MAX), (
                column,
                value,
            )


@pytest.mark.parametrize("source", list(STAGING))
@FEW
@given(bad=st.integers(-(10**9), -1), key=st.sampled_from(USAGE_KEYS))
def test_a_negative_count_is_quarantined_with_its_field(source, bad, key):
    (out,) = parsed(source, record(source, {key: bad}))
    assert isinstance(out, BadRecord) and "negative" in str(out)


# --- 2. normalisation in the compiled staging models ------------------------------------------


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> dict[str, str]:
    """The compiled SQL of the staging models and the two intermediate models they feed
    (one `dbt compile` into a temporary target, so the repository's target is not touched)."""
    tmp = tmp_path_factory.mktemp("dbt_compile")
    models = [*STAGING.values(), "int_llm_requests_unioned", "int_llm_requests_priced"]
    env = {
        **os.environ,
        "BIMO_WAREHOUSE": str(tmp / "w.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    cmd = [DBT, "compile", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
           str(DBT_PROJECT_DIR), "--target-path", str(tmp / "target"), "--log-path",
           str(tmp / "logs"), "--select", *models]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    found = {p.stem: p.read_text() for p in (tmp / "target" / "compiled").rglob("*.sql")}
    return {m: found[m] for m in models}


@pytest.fixture(scope="module")
def wh(compiled) -> duckdb.DuckDBPyConnection:
    """An in-memory catalogue named like the compiled SQL's (`w`): the raw tables with the
    parsers' Arrow schemas, the staging views, the provider aliases seed."""
    con = duckdb.connect()
    con.execute("attach ':memory:' as w")
    con.execute("use w")
    for schema in ("raw_gateway", "staging", "intermediate", "reference"):
        con.execute(f"create schema {schema}")
    for module in FORMATS.values():
        empty = pa.Table.from_pylist([], schema=arrow_schema(module))  # noqa: F841
        con.execute(f"create table raw_gateway.{module.TABLE} as select * from empty")
    aliases = DBT_PROJECT_DIR / "seeds" / "provider_aliases.csv"
    con.execute(
        "create table reference.provider_aliases as select * from read_csv(?, all_varchar=true)",
        [str(aliases)],
    )
    for view in STAGING.values():
        con.execute(f"create view staging.{view} as {compiled[view]}")
    yield con
    con.close()


def normalised(con: duckdb.DuckDBPyConnection, compiled, source: str, rec: dict) -> dict:
    """Load one parsed record into its raw table and read it back through staging and the
    unioned intermediate model."""
    module = FORMATS[source]
    (row,) = parsed(source, rec)
    assert isinstance(row, dict), row
    row |= {"_source_file": "f", "_source_line": 1, "_loaded_at": datetime.now(UTC)}
    batch = pa.Table.from_pylist([row], schema=arrow_schema(module))  # noqa: F841
    for m in FORMATS.values():
        con.execute(f"delete from raw_gateway.{m.TABLE}")
    con.execute(f"insert into raw_gateway.{module.TABLE} by name select * from batch")
    cur = con.execute(compiled["int_llm_requests_unioned"])
    names = [d[0] for d in cur.description]
    (out,) = cur.fetchall()
    return dict(zip(names, out, strict=True))


BUCKETS = ("input_uncached_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens",
           "reasoning_tokens")  # fmt: skip
counts = st.integers(0, 2_000_000)


@pytest.mark.parametrize("source", list(STAGING))
@FEW
@given(inp=counts, read=counts, write=counts, out=counts, reason=counts)
def test_buckets_are_never_negative_and_add_up(wh, compiled, source, inp, read, write, out, reason):
    u = {"in": inp, "read": read, "write": write, "out": out, "reason": reason}
    r = normalised(wh, compiled, source, record(source, u))
    assert all(r[b] >= 0 for b in BUCKETS), r
    assert r["input_total_tokens"] == sum(r[b] for b in BUCKETS[:3])
    assert r["total_tokens"] == sum(r[b] for b in BUCKETS)
    # cache detail: as reported
    assert (r["cache_read_tokens"], r["cache_write_tokens"]) == (read, write)
    assert r["reasoning_tokens"] == reason
    if source == "cli-log":  # Anthropic: input_tokens excludes cache reads and writes
        assert r["input_uncached_tokens"] == inp
        assert r["input_total_tokens"] == inp + read + write
    else:  # OpenAI / OTel: the input count includes them; an impossible split is clamped at 0
        assert r["input_total_tokens"] == max(inp, read + write)
        if read + write <= inp:
            assert r["input_total_tokens"] == inp
    # output includes reasoning (every format); clamped the same way
    assert r["output_tokens"] + r["reasoning_tokens"] == max(out, reason)
    if reason <= out:
        assert r["output_tokens"] + r["reasoning_tokens"] == out


@pytest.mark.parametrize("source", list(STAGING))
@settings(deadline=None, max_examples=15)
@given(present=st.sets(st.sampled_from(USAGE_KEYS)), n=st.integers(0, 10**6))
def test_missing_counts_are_zero_buckets_never_null(wh, compiled, source, present, n):
    r = normalised(wh, compiled, source, record(source, {k: n for k in present}))
    assert all(r[b] is not None and r[b] >= 0 for b in BUCKETS), r


# --- 3. the price table (bimo.pricing) ---------------------------------------------------------

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
    price_fields = [f.name for f in int_model_prices.SCHEMA if f.name.endswith("_per_mtok")]
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


# --- 4. the cost formula in the compiled int_llm_requests_priced -------------------------------

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
