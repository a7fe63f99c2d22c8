"""A local stand-in for the GitHub, Slack and Zoom APIs, serving the demo's saved SaaS responses
(`saas/` under the demo folder) over real HTTP on 127.0.0.1.

Like the real APIs it pages (GitHub: `per_page` ≤ 100 and `page`, with a `Link` header holding
the absolute `rel="next"` URL; Slack: `limit` and a `response_metadata.next_cursor` to send back
as `cursor`; Zoom: `page_size` ≤ 300 and `next_page_token`), needs a bearer token and answers
errors in each vendor's shape: GitHub `{"message", "documentation_url", "status"}`, Slack HTTP 200
`{"ok": false, "error"}`, Zoom `{"code", "message"}`. It answers as of `day` (default: the last
saved day). Tests script failures with `fail` (e.g. one 429, then normal answers) and `malform`
(one page of an endpoint comes back with its records replaced by a string).
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from bimo.demo.saas import SAVED
from bimo.demo.saas.chat import slack_pages, zoom_page
from bimo.demo.saas.github import ORG, seat_pages

SEATS = f"/orgs/{ORG}/copilot/billing/seats"
BILLING = f"/orgs/{ORG}/copilot/billing"
USAGE = f"/organizations/{ORG}/settings/billing/usage"
SLACK, ZOOM_USERS, ZOOM_REPORT = "/api/team.billableInfo", "/v2/users", "/v2/report/daily"
VENDOR = {SEATS: "github", BILLING: "github", USAGE: "github", SLACK: "slack",
          ZOOM_USERS: "zoom", ZOOM_REPORT: "zoom"}  # fmt: skip
RECORDS = {SEATS: "seats", BILLING: "seat_breakdown", USAGE: "usageItems", SLACK: "billable_info",
           ZOOM_USERS: "users", ZOOM_REPORT: "dates"}  # fmt: skip
DOCS = "https://docs.github.com/rest/copilot/copilot-user-management"


@dataclass
class Reply:
    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)
    page: int = 1  # which page of its endpoint this is (for `malform`)


class Refused(Exception):
    def __init__(self, vendor: str, status: int, message: str, code: int | str = 0) -> None:
        super().__init__(message)
        self.reply = error_reply(vendor, status, message, code)


def error_reply(vendor: str, status: int, message: str, code: int | str = 0) -> Reply:
    """An error as the vendor writes it (Slack: HTTP 200 unless rate limited, `ok: false`)."""
    if vendor == "slack":
        return Reply(status if status == 429 else 200, {"ok": False, "error": code or message})
    if vendor == "zoom":
        return Reply(status, {"code": code or status, "message": message})
    return Reply(status, {"message": message, "documentation_url": DOCS, "status": str(status)})


def _saved(path: Path) -> list[dict]:
    """The pages of a saved response: one page, a JSON array of pages or JSON Lines (± gzip)."""
    raw = path.read_bytes()
    raw = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    try:
        doc = json.loads(raw)
    except ValueError:
        return [json.loads(line) for line in raw.splitlines() if line.strip()]
    return doc if isinstance(doc, list) else [doc]


def _one(query: dict[str, list[str]], name: str, default: str | None = None) -> str | None:
    return query.get(name, [default])[-1]


def _int(query: dict[str, list[str]], name: str, default: int, vendor: str) -> int:
    value = _one(query, name, str(default)) or ""
    if not value.isdigit():
        raise Refused(vendor, 400, f"{name} must be a positive integer", "invalid_arguments")
    return int(value)


class SaasApis:
    """The saved responses of one demo folder, answering as of `day`, plus scripted faults."""

    def __init__(self, root: Path, day: date | None = None) -> None:
        self.folder = Path(root) / "saas"
        days = [p.name[:10] for p in (self.folder / SAVED["github-copilot-seats"]).glob("*")]
        self.day = day or (date.fromisoformat(max(days)) if days else date.today())
        self.token: str | None = None  # set: only this bearer token is accepted
        self.faults: dict[str, list[Reply]] = defaultdict(list)
        self.malformed: dict[str, set[int]] = defaultdict(set)
        self.requests: list[str] = []
        self.lock = threading.Lock()

    def fail(self, path: str, status: int, *, times: int = 1, message: str = "") -> None:
        """The next `times` requests to `path` fail with `status` in the vendor's error shape."""
        reply = error_reply(VENDOR[path], status, message or f"scripted HTTP {status}")
        self.faults[path] += [reply] * times

    def malform(self, path: str, page: int) -> None:
        """Page `page` (1-based) of `path` comes back with its records replaced by a string."""
        self.malformed[path].add(page)

    def answer(self, path: str, query: dict[str, list[str]], auth: str, host: str) -> Reply:
        with self.lock:
            self.requests.append(path)
            if self.faults.get(path):
                return self.faults[path].pop(0)
        vendor = VENDOR.get(path)
        if vendor is None:
            return error_reply("github", 404, "Not Found")
        try:
            self._check_token(vendor, auth)
            reply = self._route(path, query, host)
        except Refused as err:
            return err.reply
        if reply.page in self.malformed[path]:
            reply.body = reply.body | {RECORDS[path]: "temporarily unavailable"}
        return reply

    def _check_token(self, vendor: str, auth: str) -> None:
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        if token and (self.token is None or token == self.token):
            return
        if vendor == "slack":
            raise Refused("slack", 200, "", "invalid_auth" if token else "not_authed")
        if vendor == "zoom":
            raise Refused("zoom", 401, "Invalid access token.", 124)
        raise Refused("github", 401, "Bad credentials" if token else "Requires authentication")

    def _file(self, source: str, name: str) -> Path | None:
        found = sorted((self.folder / SAVED[source]).glob(f"{name}.json*"))
        return found[0] if found else None

    def _records(self, source: str, key: str) -> list:
        path = self._file(source, self.day.isoformat())
        return [r for page in _saved(path) for r in page[key]] if path else []

    def _route(self, path: str, query: dict[str, list[str]], host: str) -> Reply:
        if path == SEATS:
            return self._seats(query, host)
        if path == BILLING:
            saved = self._file("github-copilot-billing", self.day.isoformat())
            if saved is None:
                raise Refused("github", 404, "Copilot Business is not enabled for this org")
            return Reply(200, _saved(saved)[0])
        if path == USAGE:
            return Reply(200, {"usageItems": self._usage(query)})
        if path == SLACK:
            return self._slack(query)
        if path == ZOOM_USERS:
            return self._zoom_users(query)
        return self._zoom_report(query)

    def _seats(self, query: dict[str, list[str]], host: str) -> Reply:
        per_page = min(max(_int(query, "per_page", 50, "github"), 1), 100)
        page = max(_int(query, "page", 1, "github"), 1)
        pages = seat_pages(self._records("github-copilot-seats", "seats"), per_page)
        body = pages[page - 1] if page <= len(pages) else pages[0] | {"seats": []}
        links = []
        for rel, n in (("next", page + 1), ("last", len(pages))):
            if page < len(pages):
                url = f"http://{host}{SEATS}?{urlencode({'per_page': per_page, 'page': n})}"
                links.append(f'<{url}>; rel="{rel}"')
        headers = {"Link": ", ".join(links)} if links else {}
        return Reply(200, body, headers, page)

    def _usage(self, query: dict[str, list[str]]) -> list[dict]:
        year = _int(query, "year", self.day.year, "github")
        month = _int(query, "month", self.day.month, "github")
        day = _one(query, "day")
        name = f"{year:04d}-{month:02d}-{int(day):02d}" if day else f"{year:04d}-{month:02d}-*"
        folder = self.folder / SAVED["github-billing-usage"]
        files = [f for f in sorted(folder.glob(f"{name}.json*")) if f.name[:10] <= str(self.day)]
        return [item for f in files for item in _saved(f)[0]["usageItems"]]

    def _slack(self, query: dict[str, list[str]]) -> Reply:
        pages = slack_pages(self._billable_info(), _int(query, "limit", 100, "slack"))
        cursor = _one(query, "cursor") or ""
        first = base64.b64decode(cursor).decode().removeprefix("user:") if cursor else None
        for n, page in enumerate(pages, start=1):
            if first is None or next(iter(page["billable_info"]), None) == first:
                return Reply(200, page, page=n)
        raise Refused("slack", 200, "", "invalid_cursor")

    def _billable_info(self) -> dict[str, dict]:
        path = self._file("slack-billable", self.day.isoformat())
        return {
            k: v
            for page in (_saved(path) if path else [])
            for k, v in page["billable_info"].items()
        }

    def _zoom_users(self, query: dict[str, list[str]]) -> Reply:
        size = _int(query, "page_size", 30, "zoom")
        if not 1 <= size <= 300:
            raise Refused("zoom", 400, "page_size must be between 1 and 300", 300)
        token = _one(query, "next_page_token") or ""
        page = int(base64.b64decode(token).decode().split(":")[1]) if token else 1
        users = self._records("zoom-users", "users")
        more = page * size < len(users)
        nxt = base64.b64encode(f"{self.day}:{page + 1}".encode()).decode() if more else ""
        return Reply(200, zoom_page(users, size, page, nxt), page=page)

    def _zoom_report(self, query: dict[str, list[str]]) -> Reply:
        year = _int(query, "year", self.day.year, "zoom")
        month = _int(query, "month", self.day.month, "zoom")
        path = self._file("zoom-daily-report", f"{year:04d}-{month:02d}")
        dates = _saved(path)[0]["dates"] if path else []
        kept = [d for d in dates if d["date"] <= str(self.day)]
        return Reply(200, {"year": year, "month": month, "dates": kept})


class SaasServer(ThreadingHTTPServer):
    """The HTTP server; `github`, `slack` and `zoom` are the base URLs to give the clients."""

    daemon_threads = True

    def __init__(self, apis: SaasApis) -> None:
        super().__init__(("127.0.0.1", 0), _handler(apis))
        self.apis = apis
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.github, self.slack, self.zoom = self.url, self.url + "/api", self.url + "/v2"


def _handler(apis: SaasApis) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query, keep_blank_values=True)
            auth, host = self.headers.get("Authorization", ""), self.headers.get("Host", "")
            reply = apis.answer(url.path, query, auth, host)
            data = json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: tests and the demo CLI own the terminal

    return Handler


@contextmanager
def serve_saas_apis(root: Path, *, day: date | None = None) -> Iterator[SaasServer]:
    """Serve `root/saas/` on 127.0.0.1 (any free port) from a daemon thread while the block
    runs; yields the server: base URLs in `.github` / `.slack` / `.zoom`, faults via `.apis`."""
    server = SaasServer(SaasApis(root, day))
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="saas-apis", daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
