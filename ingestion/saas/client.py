"""Live paging for the SaaS APIs on dlt's RESTClient, with each vendor's own paginator.

Keys, base URLs and retries work as for the admin APIs (`ingestion.billing.apis.client`, whose
`Provider`, `resolve_key`, `resolve_base_url` and dlt runtime settings are used here): the token
comes from the argument, else `GITHUB_TOKEN` / `SLACK_TOKEN` / `ZOOM_TOKEN`, else the dlt secret
`sources.<github|slack|zoom>.admin_key`, and is sent only as a bearer header; the base URL from
the argument, else `BIMO_<VENDOR>_API_BASE`, else the public host. 429 and 5xx are retried with
dlt's backoff (`RUNTIME__REQUEST_*`). A refusal names the vendor's own message or error code
(GitHub and Zoom answer `{"message": ...}`, Zoom also a numeric `code`), never the token.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dlt.sources.helpers.requests import Client, HTTPError, RequestException, Response
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from dlt.sources.helpers.rest_client.redaction import sanitize_url
from requests.exceptions import JSONDecodeError

from ingestion.billing.apis.client import (
    MAX_PAGES,
    ApiError,
    Provider,
    resolve_base_url,
    resolve_key,
    runtime_settings,
)
from ingestion.billing.apis.pages import RawPage, loads

_RETRY_SETTINGS = (
    "request_timeout",
    "request_max_attempts",
    "request_backoff_factor",
    "request_max_retry_delay",
)


def iter_pages(
    provider: Provider,
    path: str,
    params: dict[str, Any],
    *,
    source: str,
    paginator: BasePaginator,
    token: str | None = None,
    base_url: str | None = None,
) -> Iterator[RawPage]:
    """Every page of one request as (request URL without secrets, page number, parsed page)."""
    config = runtime_settings()
    secret = resolve_key(provider, token)
    retry = {name: getattr(config, name) for name in _RETRY_SETTINGS}
    rest = RESTClient(
        base_url=resolve_base_url(provider, base_url),
        headers=dict(provider.headers),
        auth=provider.auth(secret),
        paginator=paginator,
        data_selector="$",
        session=Client(raise_for_status=False, **retry).session,
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
    """Why a request failed: status, URL and the vendor's message, with the token redacted."""
    if response is None:
        return f"{source}: the request failed without a response"
    status, url = response.status_code, sanitize_url(response.url)
    said = vendor_message(response).replace(secret, "***")
    said = f": {said}" if said else ""
    if status == 429 or status >= 500:
        return (
            f"{source}: HTTP {status} from {url} after {attempts} attempts with backoff{said} "
            "(RUNTIME__REQUEST_MAX_ATTEMPTS / RUNTIME__REQUEST_BACKOFF_FACTOR set the retries)"
        )
    if status in (401, 403):
        return f"{source}: HTTP {status} from {url}: the token was refused{said}"
    return f"{source}: HTTP {status} from {url}{said}"


def vendor_message(response: Response) -> str:
    """The error a vendor put in its JSON body: `code` and `message`, or Slack's `error`."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    said = str(body.get("message") or body.get("error") or "")
    if body.get("code") is not None:
        said = f"code {body['code']}: {said}"
    return said[:200]
