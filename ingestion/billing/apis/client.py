"""Shared HTTP paging for the admin APIs on dlt's RESTClient: keys, base URLs, cursor, retries.

Retries come from dlt's requests helper: 429 and every 5xx (and dropped connections) are retried
with exponential backoff (`backoff_factor * 2**(attempt - 1)` seconds, capped by the max delay);
a `Retry-After` header of one second or more is honoured instead. The numbers are dlt's runtime
settings, so they are configured like any dlt pipeline: `RUNTIME__REQUEST_MAX_ATTEMPTS` (default
5), `RUNTIME__REQUEST_BACKOFF_FACTOR` (1), `RUNTIME__REQUEST_MAX_RETRY_DELAY` (300 s),
`RUNTIME__REQUEST_TIMEOUT` (60 s), or a `[runtime]` table in `.dlt/config.toml`. When the
attempts are used up, `ApiError` names the endpoint, status and attempts — never the key.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import dlt
from dlt.common.configuration import resolve_configuration
from dlt.common.configuration.specs import RuntimeConfiguration
from dlt.sources.helpers.requests import Client, HTTPError, RequestException, Response
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import BasePaginator, JSONResponseCursorPaginator
from dlt.sources.helpers.rest_client.redaction import sanitize_url
from requests.auth import AuthBase
from requests.exceptions import JSONDecodeError

from ingestion.billing.apis.pages import RawPage, loads

MAX_PAGES = 10_000  # a server that never stops paging is a bug, not a long report


class ApiError(RuntimeError):
    """A live pull that could not complete (bad key, retries exhausted, not JSON, no key)."""


@dataclass(frozen=True)
class Provider:
    """Where and how to call one provider's admin API."""

    name: str  # openai | anthropic; also the dlt secrets section: sources.<name>.admin_key
    label: str
    key_env: str
    base_env: str
    default_base: str
    auth: Callable[[str], AuthBase]
    headers: dict[str, str] = field(default_factory=dict)


class NextPagePaginator(JSONResponseCursorPaginator):
    """`next_page` → `page` query parameter; stops when `has_more` is false or no cursor."""

    def __init__(self) -> None:
        super().__init__(cursor_path="next_page", cursor_param="page")

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        super().update_state(response, data)
        body = data[0] if data else None
        if isinstance(body, dict) and body.get("has_more") is False:
            self._has_next_page = False


def resolve_key(provider: Provider, api_key: str | None = None) -> str:
    """The admin key: argument, else environment, else dlt secrets (`sources.<name>.admin_key`)."""
    key = api_key or os.environ.get(provider.key_env)
    if not key:
        try:
            key = dlt.secrets.get(f"sources.{provider.name}.admin_key")
        except Exception:  # an unreadable secrets file is the same as no key here
            key = None
    if not key:
        raise ApiError(
            f"no {provider.label} admin key: set {provider.key_env} or "
            f"sources.{provider.name}.admin_key in .dlt/secrets.toml"
        )
    return str(key)


def resolve_base_url(provider: Provider, base_url: str | None = None) -> str:
    """Argument, else `BIMO_<PROVIDER>_API_BASE`, else the public host; a trailing /v1 is dropped
    (endpoint paths carry it), so both `https://api.openai.com` and `…/v1` work."""
    base = base_url or os.environ.get(provider.base_env) or provider.default_base
    return base.rstrip("/").removesuffix("/v1")


def runtime_settings() -> RuntimeConfiguration:
    """dlt's resolved runtime settings (request attempts, backoff, delays, timeout)."""
    return resolve_configuration(RuntimeConfiguration())


def iter_pages(
    provider: Provider,
    path: str,
    params: dict[str, Any],
    *,
    source: str,
    paginator: BasePaginator | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
) -> Iterator[RawPage]:
    """Every page of one request as (request URL without secrets, page number, parsed page).
    The paginator defaults to the admin reports' `next_page` cursor; the SaaS APIs pass their
    own (Link header, Slack cursor, Zoom page token)."""
    config = runtime_settings()
    secret = resolve_key(provider, api_key)
    session = Client(
        raise_for_status=False,
        request_timeout=config.request_timeout,
        request_max_attempts=config.request_max_attempts,
        request_backoff_factor=config.request_backoff_factor,
        request_max_retry_delay=config.request_max_retry_delay,
    ).session
    rest = RESTClient(
        base_url=resolve_base_url(provider, base_url),
        headers=dict(provider.headers),
        auth=provider.auth(secret),
        paginator=paginator or NextPagePaginator(),
        data_selector="$",
        session=session,
        config=config,
    )
    attempts = config.request_max_attempts
    try:
        for n, page in enumerate(rest.paginate(path, params=params), start=1):
            if n > MAX_PAGES:
                raise ApiError(f"{source}: more than {MAX_PAGES} pages; the cursor does not end")
            yield sanitize_url(page.response.url), n, loads(page.response.content)
    except HTTPError as exc:
        raise ApiError(refusal(source, exc.response, attempts, secret)) from exc
    except JSONDecodeError as exc:
        raise ApiError(f"{source}: the API answered with something that is not JSON") from exc
    except RequestException as exc:
        raise ApiError(
            f"{source}: request failed after {attempts} attempts: {type(exc).__name__}"
        ) from exc


def refusal(source: str, response: Response | None, attempts: int, secret: str) -> str:
    """Why a request failed: status, URL and the vendor's message, with the key redacted."""
    if response is None:
        return f"{source}: the request failed without a response"
    status, url = response.status_code, sanitize_url(response.url)
    said = vendor_message(response, secret)
    said = f": {said}" if said else ""
    if status == 429 or status >= 500:
        return (
            f"{source}: HTTP {status} from {url} after {attempts} attempts with backoff{said} "
            "(RUNTIME__REQUEST_MAX_ATTEMPTS / RUNTIME__REQUEST_BACKOFF_FACTOR set the retries)"
        )
    if status in (401, 403):
        return f"{source}: HTTP {status} from {url}: the key was refused{said}"
    return f"{source}: HTTP {status} from {url}{said}"


def vendor_message(response: Response, secret: str = "") -> str:
    """The error a vendor put in its JSON body: `code` and `message`, Slack's `error`, or the
    admin APIs' `{"error": {"message": ...}}`; `secret` masked before the text is cut short, so
    no part of it survives."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    if isinstance(error, dict):
        error = error.get("message") or error.get("type")
    said = str(body.get("message") or error or "")
    if body.get("code") is not None:
        said = f"code {body['code']}: {said}"
    return mask(said, secret)[:200]


def mask(text: str, secret: str) -> str:
    """`text` with every occurrence of `secret` replaced by `***`."""
    return text.replace(secret, "***") if secret else text
