"""OpenAI costs and completions usage: live paging and retries on a local server, saved pages."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ingestion.billing.apis import ApiError, fetch, parse_saved

from .test_apis_http import KEY, ApiServer, Seen, assert_key_absent, envelope, paged

DAY0 = 1730419200  # 2024-11-01T00:00:00Z
START, END = date(2024, 11, 1), date(2024, 11, 6)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0")


def bucket(day: int, results: list) -> dict:
    start = DAY0 + day * 86400
    return {"object": "bucket", "start_time": start, "end_time": start + 86400, "results": results}


def cost(value: float, line_item: str, project: str = "proj_a", **more) -> dict:
    return {
        "object": "organization.costs.result",
        "amount": {"value": value, "currency": "usd"},
        "line_item": line_item,
        "project_id": project,
        "organization_id": "org-test",
        **more,
    }


def cost_pages() -> list[dict]:
    buckets = [
        [
            bucket(0, [cost(1.5, "gpt-4o-2024-08-06, input"), cost(0.25, "o3, output")]),
            bucket(1, [cost(0.03, "gpt-4o-mini, cached input", "proj_b")]),
        ],
        [bucket(2, [cost(2, "web search tool calls")]), bucket(3, [])],
        [bucket(4, [cost(0.000000123456789, "gpt-4o-mini, input")])],
    ]
    return [envelope(b, n, 3, openai=True) for n, b in enumerate(buckets, start=1)]


def pull(api: ApiServer, source: str = "openai-costs"):
    return fetch(source, start=START, end=END, api_key=KEY, base_url=api.url)


def test_costs_pages_through_every_result_once():
    with ApiServer(paged(cost_pages())) as api:
        parse = pull(api)
    assert len(api.requests) == 3
    first = api.requests[0]
    assert first.path == "/v1/organization/costs"
    assert first.headers["authorization"] == f"Bearer {KEY}"
    assert first.query == {
        "start_time": [str(DAY0)],
        "end_time": [str(DAY0 + 5 * 86400)],
        "bucket_width": ["1d"],
        "group_by": ["project_id", "line_item"],
        "limit": ["180"],
    }
    assert [s.query.get("page") for s in api.requests] == [None, ["p2"], ["p3"]]
    rows = parse.line_items.to_pylist()
    assert parse.rows_in == 5 and not parse.quarantine
    got = sorted((r["delivery_key"], r["charge_description"], r["billed_cost"]) for r in rows)
    assert got == [
        ("openai-costs|default|2024-11-01", "gpt-4o-2024-08-06, input", Decimal("1.5")),
        ("openai-costs|default|2024-11-01", "o3, output", Decimal("0.25")),
        ("openai-costs|default|2024-11-02", "gpt-4o-mini, cached input", Decimal("0.03")),
        ("openai-costs|default|2024-11-03", "web search tool calls", Decimal("2")),
        ("openai-costs|default|2024-11-05", "gpt-4o-mini, input", Decimal("1.23456789E-7")),
    ]
    assert {r["billing_account_id"] for r in rows} == {"org-test"}  # kept, but not in the key
    days = [(c["usage_date"].day, c["result_rows"]) for c in parse.coverage]
    assert days == [(1, 2), (2, 1), (3, 1), (4, 0), (5, 1)]  # the empty day is covered too
    assert {(r["model"], r["token_type"]) for r in rows} == {
        ("gpt-4o-2024-08-06", "input_uncached"),
        ("o3", "output"),
        ("gpt-4o-mini", "cache_read"),
        (None, "other"),
        ("gpt-4o-mini", "input_uncached"),
    }
    row = rows[0]
    assert row["billing_currency"] == "USD"
    assert row["billed_cost"] == row["effective_cost"] == row["list_cost"] == row["contracted_cost"]
    assert row["charge_period_start"] == datetime(2024, 11, 1, tzinfo=UTC)
    assert row["charge_period_end"] == datetime(2024, 11, 2, tzinfo=UTC)
    assert row["billing_period_end"] == datetime(2024, 12, 1, tzinfo=UTC)
    assert (row["provider_name"], row["service_name"]) == ("OpenAI", "OpenAI API")
    assert (
        row["service_category"] == "AI and Machine Learning" and row["sub_account_id"] == "proj_a"
    )
    assert len({r["delivery_id"] for r in rows}) == len({r["delivery_rank"] for r in rows}) == 1
    assert all(r["_source_file"].startswith(api.url + "/v1/organization/costs?") for r in rows)
    assert_key_absent(parse)


def test_a_429_is_retried_after_retry_after():
    page = envelope([bucket(0, [cost(1, "o3, output")])], 1, 1, openai=True)

    def respond(seen: Seen, n: int):
        if n == 1:
            return 429, {"error": {"message": "rate limited"}}, {"Retry-After": "0"}
        return 200, page, {}

    with ApiServer(respond) as api:
        parse = pull(api)
    assert len(api.requests) == 2 and parse.line_items.num_rows == 1


def test_repeated_500s_exhaust_the_retries():
    with (
        ApiServer(lambda s, n: (500, {"error": "boom"}, {})) as api,
        pytest.raises(ApiError, match=r"openai-costs: HTTP 500 .* after 3 attempts") as err,
    ):
        pull(api)
    assert len(api.requests) == 3
    assert KEY not in str(err.value)


def test_a_malformed_page_is_quarantined_and_the_others_load():
    pages = cost_pages()
    pages[1]["data"] = "oops"
    with ApiServer(paged(pages)) as api:
        parse = pull(api)
    assert len(api.requests) == 3
    assert parse.line_items.num_rows == 4
    [bad] = parse.quarantine
    assert bad["source"] == "openai-costs" and bad["line"] == 2
    assert bad["reason"] == "malformed page: data is not a list of buckets"
    assert bad["file"].startswith(api.url) and "page=p2" in bad["file"]


def test_usage_token_arithmetic():
    result = {
        "object": "organization.usage.completions.result",
        "input_tokens": 1000,
        "input_cached_tokens": 400,
        "input_cache_write_tokens": 100,
        "input_uncached_tokens": 500,
        "output_tokens": 50,
        "num_model_requests": 7,
        "model": "gpt-4o-2024-08-06",
        "project_id": "proj_a",
        "api_key_id": "key_a",
        "user_id": None,
        "batch": False,
    }
    pages = [envelope([bucket(n, [result])], n + 1, 3, openai=True) for n in range(3)]
    with ApiServer(paged(pages)) as api:
        parse = pull(api, "openai-usage")
    assert api.requests[0].path == "/v1/organization/usage/completions"
    assert api.requests[0].query["group_by"] == ["model", "project_id", "api_key_id"]
    assert api.requests[0].query["limit"] == ["31"]
    assert parse.line_items.num_rows == 0 and parse.rows_in == 3
    rows = parse.usage.to_pylist()
    assert [r["usage_date"] for r in rows] == [date(2024, 11, d) for d in (1, 2, 3)]
    row = rows[0]
    assert (row["input_uncached_tokens"], row["cache_read_tokens"]) == (500, 400)
    assert (row["cache_write_tokens"], row["output_tokens"], row["requests"]) == (100, 50, 7)
    assert (row["provider"], row["model"], row["project_id"]) == (
        "openai",
        "gpt-4o-2024-08-06",
        "proj_a",
    )
    assert row["api_key_id"] == "key_a" and row["account_id"] is None
    assert row["delivery_key"] == "openai-usage|default|2024-11-01"
    assert json.loads(row["extra"]) == {"batch": False, "input_uncached_tokens": 500}
    assert_key_absent(parse)


def test_old_2025_03_schemas(tmp_path):
    usage = {
        "object": "organization.usage.completions.result",
        "input_tokens": 1000,
        "output_tokens": 20,
        "input_cached_tokens": 400,
        "input_audio_tokens": 0,
        "output_audio_tokens": 0,
        "num_model_requests": 3,
        "model": "gpt-4o",
    }
    broken = dict(usage, input_cached_tokens=1200)
    path = tmp_path / "usage.json"
    path.write_text(json.dumps(envelope([bucket(0, [usage, broken])], 1, 1, openai=True)))
    parse = parse_saved("openai-usage", path)
    [row] = parse.usage.to_pylist()
    assert (row["input_uncached_tokens"], row["cache_read_tokens"], row["cache_write_tokens"]) == (
        600,
        400,
        0,
    )
    assert parse.quarantine == [
        {
            "source": "openai-usage",
            "file": str(path),
            "line": 2,
            "reason": "bad result: "
            "input_cached_tokens + input_cache_write_tokens exceed input_tokens",
        }
    ]
    costs = tmp_path / "costs.json"
    old = {"object": "organization.costs.result", "amount": {"value": 0.5, "currency": "usd"}}
    costs.write_text(json.dumps(envelope([bucket(0, [old])], 1, 1, openai=True)))
    [item] = parse_saved("openai-costs", costs).line_items.to_pylist()
    assert item["billed_cost"] == Decimal("0.5") and item["billing_currency"] == "USD"
    assert item["pricing_quantity"] is None and item["extra"] is None
    assert item["model"] is None and item["token_type"] is None
    assert item["delivery_key"] == "openai-costs|default|2024-11-01"


def write(path, text: str, *, gz: bool) -> None:
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())


@pytest.mark.parametrize(
    ("shape", "gz"),
    [("object", False), ("array", False), ("lines", False), ("array", True), ("lines", True)],
)
def test_saved_responses_in_every_container(tmp_path, shape, gz):
    pages = cost_pages()
    if shape == "object":
        pages = [{**pages[0], "has_more": False, "next_page": None}]
        text = json.dumps(pages[0], indent=2)
    elif shape == "array":
        text = json.dumps(pages, indent=1)
    else:
        text = "\n".join(json.dumps(p) for p in pages) + "\n"
    path = tmp_path / f"costs.{shape}{'.gz' if gz else ''}"
    write(path, text, gz=gz)
    os.utime(path, ns=(1_700_000_000_123_456_000, 1_700_000_000_123_456_000))
    parse = parse_saved("openai-costs", path)
    expected = 3 if shape == "object" else 5
    assert parse.rows_in == parse.line_items.num_rows == expected and not parse.quarantine
    rows = parse.line_items.to_pylist()
    assert {r["delivery_rank"] for r in rows} == {1_700_000_000_123_456}
    assert [r["_source_line"] for r in rows] == list(range(1, expected + 1))
    assert {r["_source_file"] for r in rows} == {str(path)} and rows[0]["delivery_id"] == path.name


def test_saved_bad_pages_are_quarantined_by_page_number(tmp_path):
    pages = cost_pages()
    del pages[2]["data"][0]["start_time"]
    lines = [json.dumps(pages[0]), "{not json", json.dumps(pages[1]), json.dumps(pages[2])]
    path = tmp_path / "costs.jsonl"
    path.write_text("\n".join(lines))
    parse = parse_saved("openai-costs", path)
    assert parse.line_items.num_rows == 4 and parse.rows_in == 5
    assert [(q["line"], q["reason"].split(":")[0]) for q in parse.quarantine] == [
        (2, "invalid JSON"),
        (4, "malformed page"),
    ]
    assert "bucket 1 has no start_time" in parse.quarantine[1]["reason"]


def test_bad_results_are_quarantined_alone(tmp_path):
    results = [
        cost(1, "o3, output"),
        {"object": "organization.costs.result", "amount": {"value": "abc", "currency": "usd"}},
        "not an object",
        {"object": "organization.costs.result", "line_item": "o3, input"},
    ]
    path = tmp_path / "costs.json"
    path.write_text(json.dumps(envelope([bucket(0, results)], 1, 1, openai=True)))
    parse = parse_saved("openai-costs", path)
    assert parse.rows_in == 4 and parse.line_items.num_rows == 1
    assert [(q["line"], q["reason"]) for q in parse.quarantine] == [
        (2, "bad result: amount.value: not a number: 'abc'"),
        (3, "bad result: result is a str, not an object"),
        (4, "bad result: amount is missing or not an object"),
    ]


def test_amounts_are_exact_decimals(tmp_path):
    raw = (
        '{"object":"page","has_more":false,"next_page":null,"data":[{"object":"bucket",'
        f'"start_time":{DAY0},"end_time":{DAY0 + 86400},"results":['
        '{"amount":{"value":0.1000000000000000055,"currency":"usd"},"line_item":"o3, input"},'
        '{"amount":{"value":"2.32376000E-9","currency":"USD"},"line_item":"o3, output"}]}]}'
    )
    path = tmp_path / "costs.json"
    path.write_text(raw)
    rows = parse_saved("openai-costs", path).line_items.to_pylist()
    assert [r["billed_cost"] for r in rows] == [
        Decimal("0.100000000000000006"),
        Decimal("2.32376E-9"),
    ]
