"""GitHub: Copilot seats and seat breakdown, and the enhanced billing usage report.

Copilot seats are a daily snapshot: one row per seat, a seat whose user was deleted kept with a
NULL assignee, timestamps (written with the org's local offset) in UTC. Σ seats listed across
all pages must equal the pages' `total_seats`; when it does not (seats changed mid-pull, a page
was lost or quarantined), the rows still load and the parse carries an issue that is written to
`raw_saas.quarantine` with line 0, so the gap is visible and never silent.
Billing usage rows are dated: each `usageItems` day replaces that day (net = gross − discount;
included free minutes show up as discount; `unitType` casing varies, so it is lower-cased).
"""

from __future__ import annotations

import pyarrow as pa
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import HeaderLinkPaginator

from ingestion.billing.apis.client import Provider
from ingestion.billing.apis.pages import BadData, decimal, extra_json, money, text
from ingestion.billing.apis.pages import tokens as count
from ingestion.saas.pages import (
    Endpoint,
    Request,
    day_of,
    obj,
    page_size,
    records_at,
    utc,
)
from ingestion.saas.schema import MONEY, TS, api_schema

PROVIDER = Provider(
    name="github",
    label="GitHub",
    key_env="GITHUB_TOKEN",
    base_env="BIMO_GITHUB_API_BASE",
    default_base="https://api.github.com",
    auth=lambda token: BearerTokenAuth(token=token),
    headers={"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
)

SEAT_COLUMNS: dict[str, pa.DataType] = {
    "assignee_login": pa.string(),  # NULL: the user was deleted, the seat remains
    "assignee_id": pa.int64(),
    "assignee_type": pa.string(),
    "assigning_team": pa.string(),  # team slug when the seat comes from a team
    "plan_type": pa.string(),  # business | enterprise | unknown
    "created_at": TS,
    "updated_at": TS,
    "pending_cancellation_date": pa.date32(),  # the seat bills until this day
    "last_activity_at": TS,
    "last_activity_editor": pa.string(),
    "last_authenticated_at": TS,
    "extra": pa.string(),
}
_SEAT_FIELDS = ("assignee", "assigning_team", "plan_type", "created_at", "updated_at",
                "pending_cancellation_date", "last_activity_at", "last_activity_editor",
                "last_authenticated_at")  # fmt: skip

BREAKDOWN = ("total", "added_this_cycle", "pending_invitation", "pending_cancellation",
             "active_this_cycle", "inactive_this_cycle")  # fmt: skip
_SETTINGS = ("seat_management_setting", "plan_type", "public_code_suggestions", "ide_chat",
             "platform_chat", "cli")  # fmt: skip
BILLING_COLUMNS: dict[str, pa.DataType] = {
    **{f"seats_{k}": pa.int64() for k in BREAKDOWN},
    **dict.fromkeys(_SETTINGS, pa.string()),
    "extra": pa.string(),
}

USAGE_COLUMNS: dict[str, pa.DataType] = {
    "usage_date": pa.date32(),
    "product": pa.string(),
    "sku": pa.string(),
    "quantity": pa.float64(),
    "unit_type": pa.string(),  # lower case: minutes, gigabytehours, usermonths, …
    "price_per_unit": MONEY,
    "gross_amount": MONEY,  # USD
    "discount_amount": MONEY,
    "net_amount": MONEY,
    "organization_name": pa.string(),
    "repository_name": pa.string(),
    "extra": pa.string(),
}
_AMOUNTS = {"pricePerUnit": "price_per_unit", "grossAmount": "gross_amount",
            "discountAmount": "discount_amount", "netAmount": "net_amount"}  # fmt: skip
_USAGE_FIELDS = ("date", "product", "sku", "quantity", "unitType", "organizationName",
                 "repositoryName", *_AMOUNTS)  # fmt: skip


def seat_row(seat: dict) -> dict:
    """One `seats[]` entry → a copilot_seats row."""
    assignee = obj(seat.get("assignee"), "assignee") or {}
    team = obj(seat.get("assigning_team"), "assigning_team") or {}
    plan = text(seat.get("plan_type"), "plan_type")
    row = {
        "assignee_login": text(assignee.get("login"), "assignee.login"),
        "assignee_id": count(assignee.get("id"), "assignee.id"),
        "assignee_type": text(assignee.get("type"), "assignee.type"),
        "assigning_team": text(team.get("slug") or team.get("name"), "assigning_team.slug"),
        "plan_type": plan.lower() if plan else None,
        "pending_cancellation_date": day_of(
            seat.get("pending_cancellation_date"), "pending_cancellation_date"
        ),
        "last_activity_editor": text(seat.get("last_activity_editor"), "last_activity_editor"),
        "extra": extra_json(seat, _SEAT_FIELDS),
    }
    for field in ("created_at", "updated_at", "last_activity_at", "last_authenticated_at"):
        row[field] = utc(seat.get(field), field)
    if row["created_at"] is None:
        raise BadData("missing created_at")
    return row


def seats_page(doc: dict) -> list:
    if count(doc.get("total_seats"), "total_seats") is None:
        raise BadData("total_seats is missing")
    return records_at(doc, "seats")


def seat_total(pages: list[dict], seats: int) -> str | None:
    """Σ seats listed vs `total_seats` (the last page's, and every page must agree)."""
    totals = [int(p["total_seats"]) for p in pages]
    if len(set(totals)) > 1:
        return f"total_seats changed between pages: {sorted(set(totals))}"
    if seats != totals[-1]:
        return f"{seats} seats listed but total_seats is {totals[-1]}"
    return None


def billing_row(doc: dict) -> dict:
    """The seat breakdown and settings (the whole page is the one record of the day)."""
    breakdown = obj(doc.get("seat_breakdown"), "seat_breakdown")
    if breakdown is None:
        raise BadData("seat_breakdown is missing")
    row = {f"seats_{k}": count(breakdown.get(k), f"seat_breakdown.{k}") for k in BREAKDOWN}
    if row["seats_total"] is None:
        raise BadData("seat_breakdown.total is missing")
    for name in _SETTINGS:
        value = doc.get(name)
        row[name] = None if value is None else str(value).lower()
    return row | {"extra": extra_json(doc, ("seat_breakdown", *_SETTINGS))}


def usage_row(item: dict) -> dict:
    """One `usageItems[]` entry → a github_billing_usage row."""
    day = day_of(item.get("date"), "date")
    if day is None:
        raise BadData("missing date")
    unit = text(item.get("unitType"), "unitType")
    quantity = item.get("quantity")
    row = {
        "usage_date": day,
        "product": text(item.get("product"), "product"),
        "sku": text(item.get("sku"), "sku"),
        "quantity": None if quantity is None else float(decimal(quantity, "quantity")),
        "unit_type": unit.lower() if unit else None,
        "organization_name": text(item.get("organizationName"), "organizationName"),
        "repository_name": text(item.get("repositoryName"), "repositoryName"),
    }
    for name, column in _AMOUNTS.items():
        amount = item.get(name)
        row[column] = None if amount is None else money(decimal(amount, name), name)
    if row["gross_amount"] is None and row["net_amount"] is None:
        raise BadData("neither grossAmount nor netAmount")
    return row | {"extra": extra_json(item, _USAGE_FIELDS)}


def _seat_params(request: Request) -> dict:
    return {"per_page": page_size(request, 100, 100)}


def _usage_params(request: Request) -> dict:
    day = request.day or request.as_of
    params = {"year": day.year, "month": day.month}
    return params | ({"day": day.day} if request.day else {})


SEATS = Endpoint(
    source="github-copilot-seats",
    table="copilot_seats",
    schema=api_schema(SEAT_COLUMNS),
    provider=PROVIDER,
    path="/orgs/{org}/copilot/billing/seats",
    records=seats_page,
    to_row=seat_row,
    params=_seat_params,
    paginator=HeaderLinkPaginator,
    check=seat_total,
    needs_org=True,
)
BILLING = Endpoint(
    source="github-copilot-billing",
    table="copilot_billing",
    schema=api_schema(BILLING_COLUMNS),
    provider=PROVIDER,
    path="/orgs/{org}/copilot/billing",
    records=lambda doc: [doc],
    to_row=billing_row,
    params=lambda request: {},
    needs_org=True,
)
USAGE = Endpoint(
    source="github-billing-usage",
    table="github_billing_usage",
    schema=api_schema(USAGE_COLUMNS),
    provider=PROVIDER,
    path="/organizations/{org}/settings/billing/usage",
    records=lambda doc: records_at(doc, "usageItems"),
    to_row=usage_row,
    params=_usage_params,
    dated="usage_date",
    needs_org=True,
)
