"""The demo's Slack and Zoom responses for one day.

Slack lists every member who ever joined (`billable_info` keyed by user id): a member who left is
deactivated and one away for over `SLACK_AWAY_DAYS` is not billed (`billing_active: false`).
Zoom lists the people employed that day, licensed (type 2) or basic (type 1); its daily report
counts new users, meetings, participants and minutes per date.
"""

from __future__ import annotations

import base64
from datetime import date, timedelta

from bimo.demo.company import EMAIL_DOMAIN
from bimo.demo.saas.people import SLACK_AWAY_DAYS, Person, last_active, local_time, unit

SLACK_TEAM = "T0ACME7R0B"


def billing_active(p: Person, day: date) -> bool:
    if not p.employed(day):
        return False
    if p.away is None:
        return True
    return not p.away[0] + timedelta(days=SLACK_AWAY_DAYS) <= day < p.away[1]


def billable_info(people: list[Person], day: date) -> dict[str, dict]:
    """`billable_info` on `day`, by Slack user id."""
    members = sorted((p.ident("U", 10), p) for p in people if p.joined <= day)
    return {uid: {"billing_active": billing_active(p, day)} for uid, p in members}


def slack_pages(info: dict[str, dict], limit: int) -> list[dict]:
    """`team.billableInfo` pages of `limit` users, chained by `response_metadata.next_cursor`."""
    ids = list(info)
    pages = []
    for i in range(0, max(len(ids), 1), limit):
        nxt = ids[i + limit] if i + limit < len(ids) else ""
        chunk = {uid: info[uid] for uid in ids[i : i + limit]}
        cursor = slack_cursor(nxt) if nxt else ""
        pages.append({"ok": True, "billable_info": chunk,
                      "response_metadata": {"next_cursor": cursor}})  # fmt: skip
    return pages


def slack_cursor(user_id: str) -> str:
    """Slack's cursor shape: base64 of `user:<id>` (opaque to clients)."""
    return base64.b64encode(f"user:{user_id}".encode()).decode()


def licensed(p: Person, day: date) -> bool:
    return p.zoom_licensed_from is not None and p.zoom_licensed_from <= day


def zoom_users(people: list[Person], day: date, seed: int) -> list[dict]:
    """`GET /users` on `day`: everyone employed, oldest account first."""
    out = []
    for p in sorted((p for p in people if p.employed(day)), key=lambda p: (p.joined, p.local)):
        first, _, last = p.local.partition(".")
        login = last_active(p, day, seed)
        out.append({
            "id": p.ident("", 22).lower(),
            "first_name": first.title(),
            "last_name": last.title(),
            "display_name": f"{first.title()} {last.title()}",
            "email": f"{p.local}@{EMAIL_DOMAIN}",
            "type": 2 if licensed(p, day) else 1,
            "pmi": 8_000_000_000 + int(unit("pmi", p.local) * 1e9),
            "verified": 1,
            "dept": p.team,
            "created_at": f"{p.joined.isoformat()}T09:00:00Z",
            "last_login_time": local_time(login, 490, 0) if login else None,
            "language": "en-US",
            "status": "active",
        })  # fmt: skip
    return out


def zoom_page(users: list[dict], page_size: int, page: int, token: str) -> dict:
    """One `GET /users` page (1-based `page`); `token` continues to the next page or is ''."""
    total = len(users)
    return {"page_count": -(-total // page_size), "page_number": page, "page_size": page_size,
            "total_records": total, "next_page_token": token,
            "users": users[(page - 1) * page_size : page * page_size]}  # fmt: skip


def report_day(people: list[Person], day: date, seed: int) -> dict:
    """One `dates[]` entry of `GET /report/daily`."""
    seats = sum(licensed(p, day) for p in people)
    weekday = day.weekday() < 5
    meetings = int(seats * (0.9 + 0.4 * unit(seed, "meet", day)) * (1 if weekday else 0.05))
    participants = int(meetings * (2.6 + unit(seed, "part", day)))
    return {"date": day.isoformat(), "new_users": sum(p.joined == day for p in people),
            "meetings": meetings, "participants": participants,
            "meeting_minutes": int(participants * (28 + 10 * unit(seed, "min", day)))}  # fmt: skip
