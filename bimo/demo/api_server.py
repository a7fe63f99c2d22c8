"""A local stand-in for the OpenAI and Anthropic admin cost/usage APIs, serving the demo's saved
responses (`billing-api/` under the demo folder) over real HTTP on 127.0.0.1.

Like the real APIs it needs an auth header (OpenAI `Authorization: Bearer …`, Anthropic
`x-api-key`), returns daily buckets for the requested window (OpenAI `start_time`/`end_time` in
unix seconds, Anthropic `starting_at`/`ending_at` in RFC 3339; empty buckets have
`results: []`), pages `limit` buckets at a time with `has_more` and an opaque `next_page` cursor
to send back as `page`, filters by ids/models and aggregates results to the requested
`group_by` (fields not grouped by are null). The demo holds 1d buckets only.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson

_DESCRIPTION = ("description", "cost_type", "context_window", "model", "service_tier", "token_type")


@dataclass(frozen=True)
class Endpoint:
    provider: str  # openai | anthropic
    file: str  # under billing-api/
    groups: dict[str, tuple[str, ...]]  # group_by key -> the result fields it controls
    max_limit: int
    filters: dict[str, str]  # query parameter -> result field


def _same(*keys: str) -> dict[str, tuple[str, ...]]:
    return {k: (k,) for k in keys}


ENDPOINTS = {
    "/v1/organization/costs": Endpoint(
        "openai", "openai/costs.json", _same("project_id", "line_item"), 180,
        {"project_ids": "project_id"},
    ),
    "/v1/organization/usage/completions": Endpoint(
        "openai", "openai/usage-completions.json",
        _same("project_id", "user_id", "api_key_id", "model", "batch", "service_tier"), 31,
        {"project_ids": "project_id", "user_ids": "user_id", "api_key_ids": "api_key_id",
         "models": "model"},
    ),
    "/v1/organizations/cost_report": Endpoint(
        "anthropic", "anthropic/cost_report.json",
        {"workspace_id": ("workspace_id",), "description": _DESCRIPTION,
         "inference_geo": ("inference_geo",)}, 31,
        {"workspace_ids": "workspace_id"},
    ),
    "/v1/organizations/usage_report/messages": Endpoint(
        "anthropic", "anthropic/usage-messages.json",
        _same("api_key_id", "workspace_id", "model", "service_tier", "context_window",
              "inference_geo"), 31,
        {"api_key_ids": "api_key_id", "workspace_ids": "workspace_id", "models": "model"},
    ),
}  # fmt: skip
DEFAULT_LIMIT = 7


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.kind = status, kind


def _error_body(provider: str, err: ApiError) -> dict:
    if provider == "anthropic":
        return {"type": "error", "error": {"type": err.kind, "message": str(err)}}
    return {"error": {"message": str(err), "type": err.kind, "param": None, "code": None}}


def _day_of(bucket: dict) -> date:
    if "start_time" in bucket:
        return datetime.fromtimestamp(bucket["start_time"], UTC).date()
    return date.fromisoformat(bucket["starting_at"][:10])


def _empty(provider: str, d: date) -> dict:
    nxt = d + timedelta(days=1)
    if provider == "openai":
        start = int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())
        return {"object": "bucket", "start_time": start, "end_time": start + 86_400, "results": []}
    return {"starting_at": f"{d}T00:00:00Z", "ending_at": f"{nxt}T00:00:00Z", "results": []}


def _params(query: str) -> dict[str, list[str]]:
    """Query values by name; `group_by[]=a&group_by=b,c` all become group_by: [a, b, c]."""
    out: dict[str, list[str]] = {}
    for key, values in parse_qs(query, keep_blank_values=True).items():
        name = key.removesuffix("[]")
        out.setdefault(name, []).extend(v for value in values for v in value.split(",") if v)
    return out


def _one(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def _rfc3339(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"{name}: not an RFC 3339 timestamp: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _window(ep: Endpoint, params: dict[str, list[str]]) -> tuple[date, datetime | None]:
    """The first bucket day (the start snapped to its UTC day) and the exclusive end."""
    if ep.provider == "openai":
        start, end = _one(params, "start_time"), _one(params, "end_time")
        if start is None:
            raise ApiError(400, "start_time is required")
        try:
            first = datetime.fromtimestamp(int(start), UTC)
            last = datetime.fromtimestamp(int(end), UTC) if end is not None else None
        except ValueError:
            raise ApiError(400, "start_time and end_time are unix seconds") from None
        return first.date(), last
    start, end = _one(params, "starting_at"), _one(params, "ending_at")
    if start is None:
        raise ApiError(400, "starting_at is required")
    first = _rfc3339(start, "starting_at")
    return first.astimezone(UTC).date(), _rfc3339(end, "ending_at") if end else None


def _merge(into: dict, more: dict, keep: set[str]) -> None:
    """Add `more`'s measures into `into` (ints, float USD values, decimal-string cents)."""
    for key, value in more.items():
        if key in keep or key not in into:
            continue
        if isinstance(value, dict):
            _merge(into[key], value, keep)
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            into[key] += value
        elif isinstance(value, float):
            into[key] = float(Decimal(repr(into[key])) + Decimal(repr(value)))
        elif key == "amount" and isinstance(value, str):
            into[key] = format(Decimal(into[key]) + Decimal(value), "f")


def _aggregate(results: list[dict], ep: Endpoint, grouped: list[str]) -> list[dict]:
    keep = {f for g in grouped for f in ep.groups[g]}
    hidden = {f for fields in ep.groups.values() for f in fields} - keep
    out: dict[tuple, dict] = {}
    for r in results:
        row = {k: (None if k in hidden else v) for k, v in r.items()}
        key = tuple(orjson.dumps(row.get(f)) for f in sorted(keep | hidden))
        if key in out:
            _merge(out[key], row, keep | hidden)
        else:
            out[key] = orjson.loads(orjson.dumps(row))
    return list(out.values())


class DemoApis:
    """The saved pages of one demo folder, answering queries as the real APIs would."""

    def __init__(self, root: Path) -> None:
        self.buckets: dict[str, dict[date, dict]] = {}
        for path, ep in ENDPOINTS.items():
            file = Path(root) / "billing-api" / ep.file
            data = orjson.loads(file.read_bytes())["data"] if file.exists() else []
            self.buckets[path] = {_day_of(b): b for b in data}
        days = [d for by_day in self.buckets.values() for d in by_day]
        self.now = max(days) + timedelta(days=1) if days else date.today()

    def page(self, path: str, params: dict[str, list[str]]) -> dict:
        ep = ENDPOINTS[path]
        if (_one(params, "bucket_width") or "1d") != "1d":
            raise ApiError(400, "the demo API serves bucket_width=1d only")
        limit = _one(params, "limit") or str(DEFAULT_LIMIT)
        if not limit.isdigit() or not 1 <= int(limit) <= ep.max_limit:
            raise ApiError(400, f"limit must be between 1 and {ep.max_limit}")
        grouped = params.get("group_by", [])
        if bad := [g for g in grouped if g not in ep.groups]:
            raise ApiError(400, f"invalid group_by: {', '.join(bad)}")
        first, end = _window(ep, params)
        if token := _one(params, "page"):
            try:
                first = date.fromisoformat(base64.urlsafe_b64decode(token[5:]).decode())
            except ValueError:
                raise ApiError(400, "invalid page cursor") from None
        days, d = [], first
        while d < self.now and (end is None or _bucket_in(ep, d, end)):
            days.append(d)
            d += timedelta(days=1)
        chosen, rest = days[: int(limit)], days[int(limit) :]
        data = []
        for day in chosen:
            bucket = dict(self.buckets[path].get(day) or _empty(ep.provider, day))
            results = [r for r in bucket["results"] if _kept(r, ep, params)]
            bucket["results"] = _aggregate(results, ep, grouped)
            data.append(bucket)
        token = (
            "page_" + base64.urlsafe_b64encode(rest[0].isoformat().encode()).decode()
            if rest
            else None
        )
        envelope = {"data": data, "has_more": bool(rest), "next_page": token}
        return {"object": "page", **envelope} if ep.provider == "openai" else envelope


def _bucket_in(ep: Endpoint, d: date, end: datetime) -> bool:
    """OpenAI: buckets starting before end_time; Anthropic: buckets ending by ending_at."""
    start = datetime(d.year, d.month, d.day, tzinfo=UTC)
    return start < end if ep.provider == "openai" else start + timedelta(days=1) <= end


def _kept(result: dict, ep: Endpoint, params: dict[str, list[str]]) -> bool:
    return all(
        result.get(field) in params[name]
        for name, field in ep.filters.items()
        if params.get(name) and field in result
    )


def _handler(apis: DemoApis) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            ep = ENDPOINTS.get(url.path)
            if ep is None:
                return self._send(404, {"error": {"message": f"no route {url.path}"}})
            try:
                if ep.provider == "openai":
                    auth = self.headers.get("Authorization", "")
                    if not auth.startswith("Bearer ") or not auth[7:].strip():
                        raise ApiError(401, "missing bearer token", "invalid_api_key")
                elif not self.headers.get("x-api-key", "").strip():
                    raise ApiError(401, "x-api-key header is required", "authentication_error")
                self._send(200, apis.page(url.path, _params(url.query)))
            except ApiError as err:
                self._send(err.status, _error_body(ep.provider, err))

        def _send(self, status: int, body: dict) -> None:
            data = orjson.dumps(body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: tests and the demo CLI own the terminal

    return Handler


class DemoApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def shutdown(self) -> None:
        """Stop serving and close the listening socket."""
        super().shutdown()
        self.server_close()


def serve_demo_apis(
    root: Path, host: str = "127.0.0.1", port: int = 0
) -> tuple[DemoApiServer, str]:
    """Serve `root/billing-api/` on 127.0.0.1 (port 0: any free port) from a daemon thread.
    Returns the server (stop it with `server.shutdown()`) and its base URL."""
    if host != "127.0.0.1":
        raise ValueError("the demo API server binds to 127.0.0.1 only")
    server = DemoApiServer((host, port), _handler(DemoApis(root)))
    threading.Thread(target=server.serve_forever, name="demo-apis", daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}"
