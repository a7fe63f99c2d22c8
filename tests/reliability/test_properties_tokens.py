"""Property tests for token normalisation, on the real code.

* Parsers (`ingestion.formats.*`): whatever a usage field holds, a loaded count is a
  non-negative int64 or absent; anything else is quarantined.
* Normalisation (dbt `tokens.sql` macros in the staging models, compiled once with dbt and run on
  DuckDB): the five buckets are never negative and add up to what the format reported — OpenAI-
  style input that includes cache reads and writes, Anthropic-style input that excludes them,
  output that includes reasoning — and a count that contradicts itself is clamped, not negative.

Pricing has its own module, `test_properties_pricing.py`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion.formats import FORMATS
from ingestion.formats.common import BadRecord
from ingestion.formats.skip import Skip
from ingestion.source import arrow_schema
from tests.reliability.properties_support import FEW, STAGING

INT64_MAX = 2**63 - 1
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
            # json, not orjson: the generated counts go beyond 64 bits
            "metadata": json.dumps({"usage_object": usage_object}),
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
