"""Live pulls against a real local HTTP server: keys, base URLs, errors that are not retried.

`ApiServer` is the scripted admin API the provider tests share: a `ThreadingHTTPServer` on
127.0.0.1 with an ephemeral port, recording every request it answers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from ingestion.billing.apis import ApiError, fetch, parse_saved, trailing_window

KEY = "sk-admin-TEST-9f8e7d6c5b4a"  # must never show up in rows, quarantine or errors


@dataclass
class Seen:
    """One request the server answered."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names


Reply = tuple[int, object, dict[str, str]]  # status, JSON body (or raw bytes), headers


class ApiServer:
    """A real HTTP server answering each request with `respond(seen, n)` (n = 1-based count)."""

    def __init__(self, respond: Callable[[Seen, int], Reply]) -> None:
        self.requests: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                seen = Seen(
                    parts.path,
                    parse_qs(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()},
                )
                server.requests.append(seen)
                status, body, headers = respond(seen, len(server.requests))
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> ApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


def paged(pages: list[dict]) -> Callable[[Seen, int], Reply]:
    """Serve `pages` by cursor: no `page` param → the first, `page=p<n>` → page n."""

    def respond(seen: Seen, _: int) -> Reply:
        cursor = seen.query.get("page", ["p1"])[0]
        return 200, pages[int(cursor[1:]) - 1], {}

    return respond


def envelope(buckets: list, n: int, total: int, *, openai: bool) -> dict:
    """Page n of `total` in the API's envelope, its cursor pointing at page n + 1."""
    more = n < total
    page = {"data": buckets, "has_more": more, "next_page": f"p{n + 1}" if more else None}
    return {"object": "page", **page} if openai else page


def assert_key_absent(parse, *extra_text: str) -> None:
    tables = [parse.line_items] + ([parse.usage] if parse.usage is not None else [])
    dumped = json.dumps([t.to_pylist() for t in tables], default=str)
    assert KEY not in dumped
    assert KEY not in json.dumps(parse.quarantine)
    for text in extra_text:
        assert KEY not in text


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0")
    for name in ("OPENAI_ADMIN_KEY", "ANTHROPIC_ADMIN_KEY", "SOURCES__ANTHROPIC__ADMIN_KEY"):
        monkeypatch.delenv(name, raising=False)


def one_empty_page(seen: Seen, _: int) -> Reply:
    return 200, {"object": "page", "data": [], "has_more": False, "next_page": None}, {}


def test_trailing_window_covers_the_last_days_and_today():
    assert trailing_window(date(2026, 3, 10)) == (date(2026, 3, 3), date(2026, 3, 11))
    assert trailing_window(date(2026, 3, 1), days=2) == (date(2026, 2, 27), date(2026, 3, 2))


def test_key_and_base_url_come_from_the_environment(monkeypatch):
    with ApiServer(one_empty_page) as api:
        monkeypatch.setenv("OPENAI_ADMIN_KEY", KEY)
        monkeypatch.setenv("BIMO_OPENAI_API_BASE", api.url + "/v1/")  # a trailing /v1 is fine
        parse = fetch("openai-costs", start=date(2026, 3, 1), end=date(2026, 3, 2))
    assert parse.line_items.num_rows == 0 and parse.rows_in == 0
    assert [s.path for s in api.requests] == ["/v1/organization/costs"]
    assert api.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_key_from_dlt_secrets(monkeypatch):
    monkeypatch.setenv("SOURCES__ANTHROPIC__ADMIN_KEY", KEY)
    with ApiServer(lambda s, n: (200, {"data": [], "has_more": False}, {})) as api:
        fetch("anthropic-usage", start=date(2026, 3, 1), end=date(2026, 3, 2), base_url=api.url)
    assert api.requests[0].headers["x-api-key"] == KEY


def test_missing_key_is_a_clear_error():
    with pytest.raises(ApiError, match="OPENAI_ADMIN_KEY"):
        fetch("openai-usage", start=date(2026, 3, 1), end=date(2026, 3, 2), base_url="http://x")


def test_refused_key_is_not_retried_and_not_echoed():
    with (
        ApiServer(lambda s, n: (401, {"error": {"message": "bad key"}}, {})) as api,
        pytest.raises(ApiError, match=r"HTTP 401.*refused") as err,
    ):
        fetch(
            "openai-costs",
            start=date(2026, 3, 1),
            end=date(2026, 3, 2),
            api_key=KEY,
            base_url=api.url,
        )
    assert len(api.requests) == 1
    assert KEY not in str(err.value)


def test_a_page_that_is_not_json_stops_the_pull():
    with (
        ApiServer(lambda s, n: (200, b"<html>maintenance</html>", {})) as api,
        pytest.raises(ApiError, match="not JSON"),
    ):
        fetch(
            "anthropic-costs",
            start=date(2026, 3, 1),
            end=date(2026, 3, 2),
            api_key=KEY,
            base_url=api.url,
        )


def test_unknown_source_and_empty_window_are_rejected():
    with pytest.raises(ValueError, match="unknown API source"):
        fetch("openai-images", start=date(2026, 3, 1), end=date(2026, 3, 2))
    with pytest.raises(ValueError, match="empty window"):
        fetch("openai-costs", start=date(2026, 3, 2), end=date(2026, 3, 2))


def test_an_empty_saved_file_is_quarantined(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text("\n")
    parse = parse_saved("openai-costs", path)
    assert parse.rows_in == 0 and parse.line_items.num_rows == 0
    assert [q["reason"] for q in parse.quarantine] == ["empty file: no pages"]
