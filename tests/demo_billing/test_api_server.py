"""The demo cost/usage API server over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bimo.demo.api_server import serve_demo_apis
from tests.demo_billing.support import END_ARGS, load_page

OPENAI = {"Authorization": "Bearer sk-admin-demo"}
ANTHROPIC = {"x-api-key": "sk-ant-admin-demo", "anthropic-version": "2023-06-01"}
COSTS, USAGE = "/v1/organization/costs", "/v1/organization/usage/completions"
REPORT, MESSAGES = "/v1/organizations/cost_report", "/v1/organizations/usage_report/messages"


@pytest.fixture(scope="module")
def api(demo):
    server, base = serve_demo_apis(demo.out_dir)
    yield base
    server.shutdown()


def get(base: str, path: str, headers: dict[str, str]) -> tuple[int, dict]:
    request = urllib.request.Request(base + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read(), parse_float=Decimal)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def pages(base: str, path: str, query: str, headers: dict[str, str]) -> list[list[dict]]:
    """Every page of a query, following next_page; returns each page's buckets."""
    out, cursor = [], ""
    while True:
        status, body = get(base, f"{path}?{query}{cursor}", headers)
        assert status == 200, body
        out.append(body["data"])
        if not body["has_more"]:
            assert body["next_page"] is None
            return out
        assert len(body["data"]) > 0 and body["next_page"]
        cursor = f"&page={body['next_page']}"


def unix(value: str) -> int:
    return int(datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp())


def test_binds_to_loopback_only(demo):
    with pytest.raises(ValueError):
        serve_demo_apis(demo.out_dir, host="0.0.0.0")


@pytest.mark.parametrize(
    ("path", "query", "headers"),
    [
        (COSTS, "start_time=0", {"x-api-key": "k"}),
        (USAGE, "start_time=0", {"Authorization": "Bearer "}),
        (REPORT, "starting_at=2026-08-01T00:00:00Z", OPENAI),
        (MESSAGES, "starting_at=2026-08-01T00:00:00Z", {"x-api-key": ""}),
    ],
)
def test_auth_is_required(api, path, query, headers):
    status, body = get(api, f"{path}?{query}", headers)
    assert status == 401 and "error" in body


def test_bad_parameters_are_rejected(api):
    assert get(api, f"{COSTS}?limit=3", OPENAI)[0] == 400  # start_time is required
    assert get(api, f"{COSTS}?start_time=0&limit=181", OPENAI)[0] == 400
    assert get(api, f"{USAGE}?start_time=0&limit=32", OPENAI)[0] == 400
    assert get(api, f"{USAGE}?start_time=0&bucket_width=1h", OPENAI)[0] == 400
    assert get(api, f"{REPORT}?starting_at=yesterday", ANTHROPIC)[0] == 400
    assert (
        get(api, f"{REPORT}?starting_at=2026-08-01T00:00:00Z&group_by[]=model", ANTHROPIC)[0] == 400
    )
    assert get(api, "/v1/organization/nothing", OPENAI)[0] == 404


@pytest.mark.parametrize(
    ("path", "file", "query", "headers"),
    [
        (COSTS, "openai/costs.json", "group_by=project_id&group_by=line_item&limit=4", OPENAI),
        (USAGE, "openai/usage-completions.json",
         "group_by[]=project_id&group_by[]=user_id&group_by[]=api_key_id&group_by[]=model"
         "&group_by[]=batch&group_by[]=service_tier&limit=6", OPENAI),
        (REPORT, "anthropic/cost_report.json",
         "group_by[]=workspace_id&group_by[]=description&group_by[]=inference_geo&limit=5",
         ANTHROPIC),
        (MESSAGES, "anthropic/usage-messages.json",
         "group_by[]=api_key_id&group_by[]=workspace_id&group_by[]=model&group_by[]=service_tier"
         "&group_by[]=context_window&group_by[]=inference_geo&limit=31", ANTHROPIC),
    ],
)  # fmt: skip
def test_pagination_returns_every_saved_bucket_once(api, demo, path, file, query, headers):
    saved = load_page(demo.out_dir / "billing-api" / file)["data"]
    first = saved[0].get("start_time") or saved[0]["starting_at"]
    start = f"start_time={first}" if "start_time" in saved[0] else f"starting_at={first}"
    got = pages(api, path, f"{start}&{query}", headers)
    limit = int(query.rsplit("limit=", 1)[1])
    assert all(len(p) == limit for p in got[:-1]) and 0 < len(got[-1]) <= limit
    assert [b for p in got for b in p] == saved  # fully grouped: the saved results, once each
    assert len(saved) == END_ARGS["days"]


def test_openai_window_is_respected(api, demo):
    saved = load_page(demo.out_dir / "billing-api/openai/costs.json")["data"]
    lo, hi = saved[10]["start_time"], saved[20]["start_time"]
    got = [
        b
        for p in pages(api, COSTS, f"start_time={lo + 3600}&end_time={hi}&limit=3", OPENAI)
        for b in p
    ]
    assert [b["start_time"] for b in got] == [b["start_time"] for b in saved[10:20]]
    before = saved[0]["start_time"] - 2 * 86_400  # days before the data: empty buckets
    got = pages(api, COSTS, f"start_time={before}&end_time={saved[1]['start_time']}", OPENAI)[0]
    assert [len(b["results"]) > 0 for b in got] == [False, False, True]


def test_anthropic_window_is_respected(api, demo):
    saved = load_page(demo.out_dir / "billing-api/anthropic/usage-messages.json")["data"]
    lo, hi = saved[5]["starting_at"], saved[9]["ending_at"]
    query = f"starting_at={lo[:10]}T07:30:00Z&ending_at={hi}&limit=2"
    got = [b for p in pages(api, MESSAGES, query, ANTHROPIC) for b in p]
    assert [b["starting_at"] for b in got] == [b["starting_at"] for b in saved[5:10]]


def test_group_by_aggregates_without_losing_money(api, demo, truth):
    start = unix(truth["start"])
    end = unix((datetime.fromisoformat(truth["end"]) + timedelta(days=1)).isoformat())
    window = f"start_time={start}&end_time={end}&limit=180"
    ungrouped = pages(api, COSTS, window, OPENAI)
    assert all(
        len(b["results"]) == 1 and b["results"][0]["line_item"] is None
        for p in ungrouped
        for b in p
    )
    by_item = pages(api, COSTS, f"{window}&group_by=line_item", OPENAI)
    expected = sum(map(Decimal, truth["file_sets"]["openai-costs"]["billed_cost"]["USD"].values()))
    for got in (ungrouped, by_item):
        total = sum(r["amount"]["value"] for p in got for b in p for r in b["results"])
        assert abs(total - expected) < Decimal("1e-6")
    query = f"starting_at={truth['start']}T00:00:00Z&group_by[]=workspace_id&limit=31"
    report = [r for p in pages(api, REPORT, query, ANTHROPIC) for b in p for r in b["results"]]
    assert all(r["description"] is None and r["model"] is None for r in report)
    cents = sum(Decimal(r["amount"]) for r in report)
    usd = truth["file_sets"]["anthropic-costs"]["billed_cost"]["USD"]
    assert cents / 100 == sum(map(Decimal, usd.values()))
