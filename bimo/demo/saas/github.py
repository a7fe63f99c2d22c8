"""The demo's GitHub responses for one day: Copilot seats, the seat breakdown, billing usage.

Seats carry timestamps in each person's local offset, a pending cancellation date once a
cancellation is requested, and the last activity of the person; one seat belongs to a user who
was deleted (assignee null). Usage items are Actions minutes per repository (the included free
minutes appear as discount), shared storage and Copilot seats prorated per day.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

from bimo.demo.company import DEVELOPERS
from bimo.demo.saas.people import Person, Seat, last_active, local_time, unit

ORG = "acme-robotics"
SEAT_PRICE = Decimal(19)  # Copilot Business, USD per seat per month
EDITORS = ("vscode/1.95.3/copilot/1.245.0", "JetBrains-IC/2024.2.4/copilot-intellij/1.5.29",
           "Neovim/0.10.2/copilot.vim/1.41.0")  # fmt: skip
REPOS = tuple(dict.fromkeys(d[3] for d in DEVELOPERS))
INCLUDED_MINUTES = 3000  # Linux minutes per month included in the plan
MINUTE = {"linux": Decimal("0.008"), "macos": Decimal("0.08")}
STORAGE_GB_HOUR = Decimal("0.00033602")  # $0.25 per GB-month over 744 hours
_CENT6 = Decimal("0.000001")


def ghost_seat(start: date) -> Seat:
    """The seat of a deleted user: it stays listed, and billed, with no assignee."""
    return Seat(start - timedelta(days=400), dormant=True, last_active=start - timedelta(days=200))


def seats(people: list[Person], ghost: Seat, day: date, seed: int) -> list[dict]:
    """The `seats[]` of the org on `day`, oldest first."""
    held = [(p.seat, p) for p in people if p.seat and p.seat.listed(day)]
    out = [_seat(seat, p, day, seed) for seat, p in sorted(held, key=lambda h: h[0].created)]
    return [_seat(ghost, None, day, seed), *out]


def _seat(seat: Seat, p: Person | None, day: date, seed: int) -> dict:
    offset = p.offset_min if p else -420
    who = p.local if p else "ghost"
    active = seat.last_active if seat.dormant else (last_active(p, day, seed) if p else None)
    if active is not None and active < seat.created:
        active = None
    pending = seat.cancel_requested is not None and seat.cancel_requested <= day
    changed = seat.cancel_requested if pending else seat.created
    doc: dict = {
        "created_at": local_time(seat.created, 540 + int(unit(seed, who, "c") * 60), offset),
        "updated_at": local_time(changed, 600 + int(unit(seed, who, "u") * 60), offset),
        "pending_cancellation_date": seat.cancel_on.isoformat() if pending else None,
        "last_activity_at": None,
        "last_activity_editor": None,
        "last_authenticated_at": None,
        "plan_type": "business",
        "assignee": _user(p) if p else None,
    }
    if active is not None:
        minute = 480 + int(unit(seed, who, active) * 600)
        doc["last_activity_at"] = local_time(active, minute, offset)
        doc["last_authenticated_at"] = local_time(active, minute - 5, offset)
        doc["last_activity_editor"] = EDITORS[int(unit(seed, who, "e") * len(EDITORS))]
    if p and seat.via_team:
        doc["assigning_team"] = {"id": int(unit(p.team) * 1e6), "name": p.team, "slug": p.team}
    return doc


def _user(p: Person) -> dict:
    uid = 1_000_000 + int(unit("github", p.local) * 9e7)
    return {"login": p.login, "id": uid, "node_id": f"U_kgDO{uid:08X}", "type": "User",
            "site_admin": False, "url": f"https://api.github.com/users/{p.login}"}  # fmt: skip


def seat_pages(listed: list[dict], per_page: int) -> list[dict]:
    """The seats as the API pages them: every page carries the org's `total_seats`."""
    chunks = [listed[i : i + per_page] for i in range(0, len(listed), per_page)] or [[]]
    return [{"total_seats": len(listed), "seats": chunk} for chunk in chunks]


def billing(listed: list[dict], day: date) -> dict:
    """`GET /orgs/{org}/copilot/billing` on `day`: the seat breakdown of this billing cycle."""
    cycle = day.replace(day=1).isoformat()
    active = sum(1 for s in listed if (s["last_activity_at"] or "") >= cycle)
    breakdown = {
        "total": len(listed),
        "added_this_cycle": sum(1 for s in listed if s["created_at"] >= cycle),
        "pending_invitation": 0,
        "pending_cancellation": sum(1 for s in listed if s["pending_cancellation_date"]),
        "active_this_cycle": active,
        "inactive_this_cycle": len(listed) - active,
    }
    return {"seat_breakdown": breakdown, "seat_management_setting": "assign_selected",
            "public_code_suggestions": "block", "ide_chat": "enabled",
            "platform_chat": "enabled", "cli": "enabled", "plan_type": "business"}  # fmt: skip


def usage(day: date, seats_today: int, used_before: Decimal, seed: int) -> list[dict]:
    """`usageItems` of `day`; `used_before` is the month's Linux minutes up to yesterday."""
    weekday = day.weekday() < 5
    items = []
    for repo in REPOS:
        minutes = Decimal(int((300 if weekday else 40) * (0.4 + unit(seed, repo, day))))
        free = max(Decimal(0), min(minutes, INCLUDED_MINUTES - used_before))
        used_before += minutes
        items.append(_item(day, "actions", "actions_linux", "minutes", minutes, MINUTE["linux"],
                           free, repo))  # fmt: skip
    mac = Decimal(int((60 if weekday else 0) * unit(seed, "mac", day)))
    items.append(_item(day, "actions", "actions_macos", "Minutes", mac, MINUTE["macos"], 0,
                       "growth-web"))  # fmt: skip
    gb_hours = Decimal(24 * (120 + (day.toordinal() % 90)))
    items.append(_item(day, "shared_storage", "actions_storage", "GigabyteHours", gb_hours,
                       STORAGE_GB_HOUR, 0, None))  # fmt: skip
    days = calendar.monthrange(day.year, day.month)[1]
    share = (Decimal(seats_today) / days).quantize(_CENT6)
    items.append(_item(day, "copilot", "copilot_for_business", "UserMonths", share, SEAT_PRICE,
                       0, None))  # fmt: skip
    return items


def _item(
    day: date,
    product: str,
    sku: str,
    unit_type: str,
    quantity: Decimal,
    price: Decimal,
    free: Decimal | int,
    repo: str | None,
) -> dict:
    gross = (quantity * price).quantize(_CENT6)
    discount = (Decimal(free) * price).quantize(_CENT6)
    return {"date": day.isoformat(), "product": product, "sku": sku, "quantity": quantity,
            "unitType": unit_type, "pricePerUnit": price, "grossAmount": gross,
            "discountAmount": discount, "netAmount": gross - discount,
            "organizationName": ORG, "repositoryName": repo}  # fmt: skip
