"""Live pulls over real HTTP against the local SaaS server: paging, errors, retries, tokens."""

from __future__ import annotations

import json

import pytest

from bimo.demo.saas import SAVED
from bimo.demo.saas_server import SEATS, SLACK, ZOOM_USERS
from ingestion.saas import ApiError, fetch, parse_saved
from tests.saas.conftest import END, TOKEN, saved

ORG = "acme-robotics"
DAY = END.isoformat()


def pull(source: str, server, **kw):
    base = {"github": server.github, "slack": server.slack, "zoom": server.zoom}
    vendor = source.split("-")[0]
    kw.setdefault("org", ORG if vendor == "github" else None)
    return fetch(source, token=TOKEN, base_url=base[vendor], as_of=END, **kw)


def assert_token_absent(parse, *texts: str) -> None:
    dumped = json.dumps(parse.table.to_pylist(), default=str) + json.dumps(parse.quarantine)
    assert TOKEN not in dumped
    assert all(TOKEN not in t for t in texts)


@pytest.mark.parametrize(
    ("source", "size", "key"),
    [
        ("github-copilot-seats", 10, "assignee_login"),
        ("slack-billable", 20, "user_id"),
        ("zoom-users", 15, "user_id"),
    ],
)
def test_paged_pull_equals_the_saved_day(demo_root, server, source, size, key):
    live = pull(source, server, page_size=size)
    kept = parse_saved(
        source, saved(demo_root, SAVED[source], DAY), org=live.table["org"][0].as_py()
    )
    assert live.table.column("_source_page").to_pylist()[-1] >= 2
    assert sorted(map(str, live.table[key].to_pylist())) == sorted(
        map(str, kept.table[key].to_pylist())
    )
    assert live.rows_in == live.table.num_rows and not live.quarantine and not live.issues
    assert set(live.table["delivery_key"].to_pylist()) == set(
        kept.table["delivery_key"].to_pylist()
    )
    assert_token_absent(live)


def test_github_link_header_pages_and_bearer_token(server, truth):
    parse = pull("github-copilot-seats", server, page_size=10)
    seats = truth["seats"]["github-copilot"][DAY]
    assert parse.table.num_rows == seats
    assert server.apis.requests == [SEATS] * -(-seats // 10)
    assert "page=2" in parse.table["_source_file"][10].as_py()


def test_unpaged_endpoints(server, truth):
    billing = pull("github-copilot-billing", server)
    assert billing.table["seats_total"].to_pylist() == [truth["seats"]["github-copilot"][DAY]]
    month = pull("github-billing-usage", server)  # month to date of as_of
    assert (
        month.table["usage_date"][0].as_py().day == 1
        and month.table["usage_date"][-1].as_py() == END
    )
    day = pull("github-billing-usage", server, day=END)
    assert set(day.table["usage_date"].to_pylist()) == {END}
    report = pull("zoom-daily-report", server)
    assert report.table.num_rows == END.day


def test_token_and_base_url_from_the_environment(server, monkeypatch):
    monkeypatch.setenv("ZOOM_TOKEN", TOKEN)
    monkeypatch.setenv("BIMO_ZOOM_API_BASE", server.zoom)
    parse = fetch("zoom-users", as_of=END)
    assert parse.table.num_rows > 0 and parse.table["org"][0].as_py() == "default"


def test_missing_token_names_the_variable():
    with pytest.raises(ApiError, match="SLACK_TOKEN"):
        fetch("slack-billable", base_url="http://127.0.0.1:9")


def test_github_needs_an_org():
    with pytest.raises(ValueError, match="org="):
        fetch("github-copilot-seats", token=TOKEN)


def test_slack_ok_false_is_an_error_naming_the_code(server):
    server.apis.token = "xoxp-the-right-one"
    with pytest.raises(
        ApiError, match=r"slack-billable: Slack answered ok:false, error 'invalid_auth'"
    ) as err:
        pull("slack-billable", server)
    assert TOKEN not in str(err.value)


@pytest.mark.parametrize(
    ("source", "said"),
    [
        ("github-copilot-seats", r"HTTP 401 .* refused: Bad credentials"),
        ("zoom-users", r"HTTP 401 .* refused: code 124: Invalid access token\."),
    ],
)
def test_refused_tokens_are_not_retried_and_not_echoed(server, source, said):
    server.apis.token = "the-right-one"
    with pytest.raises(ApiError, match=said) as err:
        pull(source, server)
    assert len(server.apis.requests) == 1
    assert TOKEN not in str(err.value)


def test_github_403_message_is_reported(server):
    server.apis.fail(SEATS, 403, message="Resource not accessible by integration")
    with pytest.raises(ApiError, match=r"HTTP 403 .*Resource not accessible by integration"):
        pull("github-copilot-seats", server)


@pytest.mark.parametrize(
    ("path", "source"),
    [(SEATS, "github-copilot-seats"), (SLACK, "slack-billable"), (ZOOM_USERS, "zoom-users")],
)
def test_429_then_success_is_retried(server, path, source):
    server.apis.fail(path, 429)
    parse = pull(source, server, page_size=25)
    assert parse.table.num_rows > 0 and not parse.quarantine
    assert server.apis.requests[:2] == [path, path]


def test_retries_run_out_with_a_clear_error(server):
    server.apis.fail(ZOOM_USERS, 503, times=3)
    with pytest.raises(ApiError, match=r"HTTP 503 .* after 3 attempts"):
        pull("zoom-users", server)
    assert len(server.apis.requests) == 3


@pytest.mark.parametrize(
    ("path", "source", "size", "reason"),
    [
        (SEATS, "github-copilot-seats", 10, "seats is not a list"),
        (SLACK, "slack-billable", 20, "billable_info: expected an object, got str"),
        (ZOOM_USERS, "zoom-users", 15, "users is not a list"),
    ],
)
def test_a_malformed_page_is_quarantined_and_paging_goes_on(server, path, source, size, reason):
    whole = pull(source, server, page_size=size)
    server.apis.malform(path, 2)
    parse = pull(source, server, page_size=size)
    (bad,) = parse.quarantine
    assert bad["reason"] == f"malformed page 2: {reason}"
    assert bad["line"] == size + 1 and "127.0.0.1" in bad["file"]
    assert parse.table.num_rows == whole.table.num_rows - size
    assert parse.table.num_rows + len(parse.quarantine) == parse.rows_in
    assert parse.table.column("_source_page").to_pylist()[-1] >= 3
    if source == "github-copilot-seats":
        (issue,) = parse.issues
        assert issue["reason"].endswith(f"seats listed but total_seats is {whole.rows_in}")
