"""Slack `team.billableInfo`: who is billed today, one row per user (a daily snapshot).

The API keys users by id (`billable_info: {U123: {billing_active: true}}`); each key becomes a
row (user_id, billing_active). Slack recomputes the status periodically, so every pull is a
snapshot of its as-of day. Slack reports errors as HTTP 200 with `ok: false` and an `error`
code: a live pull raises `ApiError` naming the code; in a saved file the page is quarantined.
"""

from __future__ import annotations

import pyarrow as pa
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from ingestion.billing.apis.client import Provider
from ingestion.billing.apis.pages import BadData, extra_json
from ingestion.saas.pages import Endpoint, Request, flag, obj, page_size
from ingestion.saas.schema import api_schema

PROVIDER = Provider(
    name="slack",
    label="Slack",
    key_env="SLACK_TOKEN",
    base_env="BIMO_SLACK_API_BASE",
    default_base="https://slack.com/api",
    auth=lambda token: BearerTokenAuth(token=token),
)

COLUMNS: dict[str, pa.DataType] = {
    "user_id": pa.string(),
    "billing_active": pa.bool_(),
    "extra": pa.string(),
}


def reported_error(doc: dict) -> str | None:
    """Slack's `ok: false` answer as "error 'invalid_auth'" (plus the scope it needed)."""
    if doc.get("ok") is not False:
        return None
    needed = f", needed scope {doc['needed']!r}" if doc.get("needed") else ""
    return f"ok:false, error {str(doc.get('error'))[:60]!r}{needed}"


def billable_page(doc: dict) -> list:
    if doc.get("ok") is not True:
        raise BadData("ok is not true")
    info = obj(doc.get("billable_info"), "billable_info")
    if info is None:
        raise BadData("billable_info is missing")
    return [{"user_id": user, "info": value} for user, value in info.items()]


def billable_row(record: dict) -> dict:
    info = record["info"]
    if not isinstance(info, dict):
        raise BadData(f"billable_info[{record['user_id'][:20]}] is not an object")
    active = flag(info.get("billing_active"), "billing_active")
    if active is None:
        raise BadData("billing_active is missing")
    return {
        "user_id": record["user_id"],
        "billing_active": active,
        "extra": extra_json(info, ("billing_active",)),
    }


def _params(request: Request) -> dict:
    params: dict = {"limit": page_size(request, 1000, 1000)}
    return params | ({"team_id": request.org} if request.org else {})


BILLABLE = Endpoint(
    source="slack-billable",
    table="slack_billable",
    schema=api_schema(COLUMNS),
    provider=PROVIDER,
    path="/team.billableInfo",
    records=billable_page,
    to_row=billable_row,
    params=_params,
    paginator=lambda: JSONResponseCursorPaginator(
        cursor_path="response_metadata.next_cursor", cursor_param="cursor"
    ),
    error=reported_error,
)
