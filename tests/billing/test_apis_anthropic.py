"""Anthropic cost report and messages usage: live paging and retries locally, saved pages."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from ingestion.billing.apis import ApiError, fetch, parse_saved

from .test_apis_http import KEY, ApiServer, Seen, assert_key_absent, envelope, paged

DAY0 = datetime(2025, 8, 30, tzinfo=UTC)
START, END = date(2025, 8, 30), date(2025, 9, 3)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0")


def bucket(day: int, results: list) -> dict:
    start = DAY0 + timedelta(days=day)
    iso = "%Y-%m-%dT%H:%M:%SZ"
    end = start + timedelta(days=1)
    return {"starting_at": start.strftime(iso), "ending_at": end.strftime(iso), "results": results}


def cost(amount: str, token_type: str | None, **more) -> dict:
    return {
        "currency": "USD",
        "amount": amount,
        "workspace_id": "wrkspc_a",
        "description": "Claude Sonnet 4 Usage - Input Tokens",
        "cost_type": "tokens" if token_type else "web_search",
        "context_window": "0-200k",
        "model": "claude-sonnet-4-20250514" if token_type else None,
        "service_tier": "standard",
        "token_type": token_type,
        **more,
    }


def cost_pages() -> list[dict]:
    buckets = [
        [
            bucket(0, [cost("123.78912", "uncached_input_tokens"), cost("5", "output_tokens")]),
            bucket(1, [cost("0.5", "cache_read_input_tokens")]),
        ],
        [bucket(2, [cost("7.25", "cache_creation.ephemeral_1h_input_tokens")]), bucket(3, [])],
        [bucket(3, [cost("1000", None), cost("1", "cache_creation.ephemeral_5m_input_tokens")])],
    ]
    return [envelope(b, n, 3, openai=False) for n, b in enumerate(buckets, start=1)]


def pull(api: ApiServer, source: str = "anthropic-costs"):
    return fetch(source, start=START, end=END, api_key=KEY, base_url=api.url)


def test_cost_report_pages_through_every_result_once():
    with ApiServer(paged(cost_pages())) as api:
        parse = pull(api)
    assert len(api.requests) == 3
    first = api.requests[0]
    assert first.path == "/v1/organizations/cost_report"
    assert first.headers["x-api-key"] == KEY and first.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in first.headers
    assert first.query == {
        "starting_at": ["2025-08-30T00:00:00Z"],
        "ending_at": ["2025-09-03T00:00:00Z"],
        "bucket_width": ["1d"],
        "group_by[]": ["description", "workspace_id"],
        "limit": ["31"],
    }
    assert [s.query.get("page") for s in api.requests] == [None, ["p2"], ["p3"]]
    assert all(s.headers["x-api-key"] == KEY for s in api.requests)
    rows = parse.line_items.to_pylist()
    assert parse.rows_in == 6 and not parse.quarantine
    got = sorted((r["delivery_key"], r["billed_cost"], r["token_type"]) for r in rows)
    assert got == [
        ("anthropic-costs|default|2025-08-30", Decimal("0.05"), "output"),
        ("anthropic-costs|default|2025-08-30", Decimal("1.2378912"), "input_uncached"),
        ("anthropic-costs|default|2025-08-31", Decimal("0.005"), "cache_read"),
        ("anthropic-costs|default|2025-09-01", Decimal("0.0725"), "cache_write"),
        ("anthropic-costs|default|2025-09-02", Decimal("0.01"), "cache_write"),
        ("anthropic-costs|default|2025-09-02", Decimal("10"), None),
    ]
    first_row = next(r for r in rows if r["token_type"] == "input_uncached")
    assert first_row["billed_cost"] == Decimal("1.2378912")  # "123.78912" cents, exactly
    assert first_row["list_cost"] == first_row["contracted_cost"] == first_row["effective_cost"]
    assert (first_row["provider_name"], first_row["service_name"]) == ("Anthropic", "Claude API")
    assert first_row["model"] == "claude-sonnet-4-20250514"
    assert first_row["sub_account_id"] == "wrkspc_a" and first_row["billing_currency"] == "USD"
    assert first_row["charge_description"] == "Claude Sonnet 4 Usage - Input Tokens"
    assert json.loads(first_row["extra"]) == {
        "context_window": "0-200k",
        "cost_type": "tokens",
        "service_tier": "standard",
        "token_type": "uncached_input_tokens",
    }
    search = next(r for r in rows if r["token_type"] is None)
    assert search["charge_category"] == "Usage" and search["model"] is None
    assert json.loads(search["extra"])["cost_type"] == "web_search"
    assert first_row["billing_period_start"] == datetime(2025, 8, 1, tzinfo=UTC)
    sept = next(r for r in rows if r["delivery_key"].endswith("2025-09-01"))
    assert sept["billing_period_start"] == datetime(2025, 9, 1, tzinfo=UTC)
    assert all("x-api-key" not in r["_source_file"] for r in rows)
    assert_key_absent(parse)


def test_a_429_is_retried_after_retry_after():
    page = envelope([bucket(0, [cost("1", "output_tokens")])], 1, 1, openai=False)

    def respond(seen: Seen, n: int):
        if n == 1:
            return (
                429,
                {"type": "error", "error": {"type": "rate_limit_error"}},
                {"Retry-After": "0"},
            )
        return 200, page, {}

    with ApiServer(respond) as api:
        parse = pull(api)
    assert len(api.requests) == 2 and parse.line_items.num_rows == 1


def test_repeated_500s_exhaust_the_retries():
    with (
        ApiServer(lambda s, n: (529, {"type": "error"}, {})) as api,
        pytest.raises(ApiError, match=r"anthropic-costs: HTTP 529 .* after 3 attempts") as err,
    ):
        pull(api)
    assert len(api.requests) == 3
    assert KEY not in str(err.value)


def test_a_bucket_without_starting_at_quarantines_its_page():
    pages = cost_pages()
    del pages[0]["data"][1]["starting_at"]
    with ApiServer(paged(pages)) as api:
        parse = pull(api)
    assert parse.line_items.num_rows == 3 and parse.rows_in == 6
    [bad] = parse.quarantine
    assert bad["line"] == 1 and bad["reason"] == "malformed page: bucket 2 has no starting_at"
    assert_key_absent(parse, bad["file"])


def usage_result(**more) -> dict:
    return {
        "uncached_input_tokens": 1000,
        "cache_creation": {"ephemeral_5m_input_tokens": 500, "ephemeral_1h_input_tokens": 200},
        "cache_read_input_tokens": 1500,
        "output_tokens": 300,
        "server_tool_use": {"web_search_requests": 2},
        "model": "claude-opus-4-1-20250805",
        "api_key_id": "apikey_01",
        "workspace_id": None,
        "service_tier": None,
        **more,
    }


def test_usage_tokens_and_paging():
    pages = [envelope([bucket(n, [usage_result()])], n + 1, 3, openai=False) for n in range(3)]
    with ApiServer(paged(pages)) as api:
        parse = pull(api, "anthropic-usage")
    first = api.requests[0]
    assert first.path == "/v1/organizations/usage_report/messages"
    assert first.query["group_by[]"] == ["model", "api_key_id", "workspace_id"]
    assert first.query["bucket_width"] == ["1d"]
    rows = parse.usage.to_pylist()
    assert len(rows) == parse.rows_in == 3 and parse.line_items.num_rows == 0
    row = rows[0]
    assert (row["input_uncached_tokens"], row["cache_read_tokens"]) == (1000, 1500)
    assert (row["cache_write_tokens"], row["output_tokens"], row["requests"]) == (700, 300, None)
    # total input = uncached + cache writes + cache reads
    assert (
        row["input_uncached_tokens"] + row["cache_write_tokens"] + row["cache_read_tokens"] == 3200
    )
    assert (row["provider"], row["project_id"], row["api_key_id"]) == (
        "anthropic",
        None,
        "apikey_01",
    )
    assert row["delivery_key"] == "anthropic-usage|default|2025-08-30"
    assert row["bucket_start"] == DAY0 and row["usage_date"] == date(2025, 8, 30)
    assert json.loads(row["extra"]) == {
        "cache_creation": {"ephemeral_1h_input_tokens": 200, "ephemeral_5m_input_tokens": 500},
        "server_tool_use": {"web_search_requests": 2},
    }
    assert_key_absent(parse)


def test_saved_usage_in_gzip_json_lines_with_a_bad_result(tmp_path):
    results = [usage_result(), usage_result(output_tokens=-1), usage_result(cache_creation=None)]
    pages = [envelope([bucket(0, results)], 1, 2, openai=False), {"data": {"not": "a list"}}]
    path = tmp_path / "usage.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(json.dumps(p) for p in pages).encode()))
    parse = parse_saved("anthropic-usage", path)
    assert parse.rows_in == 3
    assert [r["cache_write_tokens"] for r in parse.usage.to_pylist()] == [700, 0]
    assert [(q["line"], q["reason"]) for q in parse.quarantine] == [
        (2, "bad result: output_tokens: expected a non-negative integer, got -1"),
        (2, "malformed page: data is not a list of buckets"),
    ]


def test_saved_cost_report_as_array_and_object(tmp_path):
    pages = cost_pages()
    as_array, as_object = tmp_path / "costs.json", tmp_path / "one.json"
    as_array.write_text(json.dumps(pages))
    as_object.write_text(json.dumps(pages[1], indent=2))
    assert parse_saved("anthropic-costs", as_array).line_items.num_rows == 6
    [row] = parse_saved("anthropic-costs", as_object).line_items.to_pylist()
    assert row["billed_cost"] == Decimal("0.0725") and row["_source_line"] == 1
