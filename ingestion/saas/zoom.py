"""Zoom: users (licensed = type 2; a daily snapshot) and the daily usage report (dated rows).

`GET /users` pages with `next_page_token` (page_size ≤ 300). Names, phone numbers and picture
URLs are dropped while parsing: the email identifies the user, the rest is not needed to count
seats. `GET /report/daily?year&month` gives one entry per date; each date replaces that date.
"""

from __future__ import annotations

import pyarrow as pa
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from ingestion.billing.apis.client import Provider
from ingestion.billing.apis.pages import BadData, extra_json, text
from ingestion.billing.apis.pages import tokens as count
from ingestion.saas.pages import Endpoint, Request, day_of, page_size, records_at, utc
from ingestion.saas.schema import TS, api_schema

PROVIDER = Provider(
    name="zoom",
    label="Zoom",
    key_env="ZOOM_TOKEN",
    base_env="BIMO_ZOOM_API_BASE",
    default_base="https://api.zoom.us/v2",
    auth=lambda token: BearerTokenAuth(token=token),
)
LICENSED = 2  # user type: 1 Basic, 2 Licensed, 4 Unassigned without Meetings Basic, 99 None

USER_COLUMNS: dict[str, pa.DataType] = {
    "user_id": pa.string(),
    "email": pa.string(),
    "user_type": pa.int64(),
    "licensed": pa.bool_(),  # user_type = 2: the seat Zoom bills
    "status": pa.string(),
    "dept": pa.string(),
    "created_at": TS,
    "last_login_time": TS,
    "extra": pa.string(),
}
_DROPPED = ("first_name", "last_name", "display_name", "phone_number", "pic_url")
_USER_FIELDS = ("id", "email", "type", "status", "dept", "created_at", "last_login_time")

REPORT_COLUMNS: dict[str, pa.DataType] = {
    "report_date": pa.date32(),
    "new_users": pa.int64(),
    "meetings": pa.int64(),
    "participants": pa.int64(),
    "meeting_minutes": pa.int64(),
    "extra": pa.string(),
}
_MEASURES = ("new_users", "meetings", "participants", "meeting_minutes")


def user_row(user: dict) -> dict:
    user_id = text(user.get("id"), "id")
    user_type = count(user.get("type"), "type")
    if user_id is None or user_type is None:
        raise BadData("missing id or type")
    return {
        "user_id": user_id,
        "email": text(user.get("email"), "email"),
        "user_type": user_type,
        "licensed": user_type == LICENSED,
        "status": text(user.get("status"), "status"),
        "dept": text(user.get("dept"), "dept"),
        "created_at": utc(user.get("created_at"), "created_at"),
        "last_login_time": utc(user.get("last_login_time"), "last_login_time"),
        "extra": extra_json(user, _USER_FIELDS + _DROPPED),
    }


def report_row(entry: dict) -> dict:
    day = day_of(entry.get("date"), "date")
    if day is None:
        raise BadData("missing date")
    row = {"report_date": day} | {m: count(entry.get(m), m) for m in _MEASURES}
    return row | {"extra": extra_json(entry, ("date", *_MEASURES))}


def _report_params(request: Request) -> dict:
    day = request.day or request.as_of
    return {"year": day.year, "month": day.month}


USERS = Endpoint(
    source="zoom-users",
    table="zoom_users",
    schema=api_schema(USER_COLUMNS),
    provider=PROVIDER,
    path="/users",
    records=lambda doc: records_at(doc, "users"),
    to_row=user_row,
    params=lambda request: {"page_size": page_size(request, 300, 300)},
    paginator=lambda: JSONResponseCursorPaginator(
        cursor_path="next_page_token", cursor_param="next_page_token"
    ),
)
DAILY_REPORT = Endpoint(
    source="zoom-daily-report",
    table="zoom_daily_report",
    schema=api_schema(REPORT_COLUMNS),
    provider=PROVIDER,
    path="/report/daily",
    records=lambda doc: records_at(doc, "dates"),
    to_row=report_row,
    params=_report_params,
    dated="report_date",
)
