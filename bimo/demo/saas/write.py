"""`generate_saas`: the demo company's SaaS API responses per day, monthly invoices, truth.json."""

from __future__ import annotations

import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import orjson

from bimo.demo.files import write_bytes
from bimo.demo.saas import chat, github
from bimo.demo.saas.invoices import (
    SLACK,
    SLACK_PRICES,
    Counts,
    invoice_csv,
    months,
    price_change,
)
from bimo.demo.saas.people import Person, Seat, cycle_end, roster

SCHEMA = "bimo.demo.saas_truth.v1"
# source -> folder under saas/ holding one saved response per day (per month for the report):
# the landing layout the Dagster SaaS asset reads (`<landing>/saas/<source>/`)
SAVED = {
    s: s
    for s in ("github-copilot-seats", "github-copilot-billing", "github-billing-usage",
              "slack-billable", "zoom-users", "zoom-daily-report")
}  # fmt: skip
SEATS_PER_PAGE, SLACK_PER_PAGE, GZIP_EVERY = 25, 20, 7
NOTES = {
    "seats": "github-copilot: seats listed (= total_seats, the deleted user's seat included); "
    "slack: billable users (billing_active true); zoom: licensed users (type 2).",
    "saved": "Copilot seats are JSON arrays of pages (25 per page; every 7th day gzipped), Slack "
    "JSON Lines of cursor-chained pages (20 per page), the rest one page per file. The date in "
    "each file name is the snapshot day; Zoom's daily report is one file per month.",
    "invoices": "Seats counted on the invoice day (the month's first day, or the window's) and "
    "billed in advance at list price; the last file has one quarantined row (amount n/a).",
}


def _json(value: object) -> bytes:
    return orjson.dumps(value, default=lambda d: float(d) if isinstance(d, Decimal) else str(d))


def _pulled(day: date) -> datetime:
    """When a day's snapshot was saved: early the next morning (the file mtime)."""
    return datetime.combine(day + timedelta(days=1), time(6), UTC)


@dataclass
class _Writer:
    """Writes one window's files day by day and tallies what truth.json reports."""

    root: Path
    seed: int
    people: list[Person]
    ghost: Seat
    seats: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    idle: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    rows: Counter[str] = field(default_factory=Counter)
    files: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    invoiced: dict[date, Counts] = field(default_factory=dict)
    report: dict[date, list[dict]] = field(default_factory=lambda: defaultdict(list))
    minutes: Decimal = Decimal(0)  # Linux Actions minutes of the month so far

    def save(self, source: str, name: str, data: bytes, day: date) -> None:
        path = self.root / "saas" / SAVED[source] / name
        write_bytes(path, data, mtime=_pulled(day))
        self.files[source].append(path.relative_to(self.root).as_posix())

    def day(self, day: date, *, gz: bool) -> None:
        """Save every API's answer of `day` and tally its seats."""
        listed = self._github(day, gz=gz)
        info = chat.billable_info(self.people, day)
        stamp = day.isoformat()
        lines = b"".join(_json(p) + b"\n" for p in chat.slack_pages(info, SLACK_PER_PAGE))
        self.save("slack-billable", f"{stamp}.jsonl", lines, day)
        users = chat.zoom_users(self.people, day, self.seed)
        self.save("zoom-users", f"{stamp}.json", _json(chat.zoom_page(users, 300, 1, "")), day)
        self.report[day.replace(day=1)].append(chat.report_day(self.people, day, self.seed))
        self.rows.update({"slack-billable": len(info), "zoom-users": len(users)})
        self.seats["github-copilot"][stamp] = len(listed)
        self.seats["slack"][stamp] = sum(v["billing_active"] for v in info.values())
        self.seats["zoom"][stamp] = sum(u["type"] == 2 for u in users)
        if day.day == 1 or not self.invoiced:
            teams = Counter(_team(self.people, s) for s in listed)
            counts = Counts(teams, self.seats["slack"][stamp], self.seats["zoom"][stamp])
            self.invoiced[day.replace(day=1)] = counts

    def _github(self, day: date, *, gz: bool) -> list[dict]:
        stamp = day.isoformat()
        listed = github.seats(self.people, self.ghost, day, self.seed)
        pages = _json(github.seat_pages(listed, SEATS_PER_PAGE))
        self.save("github-copilot-seats", stamp + (".json.gz" if gz else ".json"), pages, day)
        self.save(
            "github-copilot-billing", f"{stamp}.json", _json(github.billing(listed, day)), day
        )
        self.minutes = Decimal(0) if day.day == 1 else self.minutes
        items = github.usage(day, len(listed), self.minutes, self.seed)
        self.minutes += sum(it["quantity"] for it in items if it["sku"] == "actions_linux")
        self.save("github-billing-usage", f"{stamp}.json", _json({"usageItems": items}), day)
        pending = sum(1 for s in listed if s["pending_cancellation_date"])
        self.idle["pending_cancellation"][stamp] = pending
        self.idle["inactive_30_days"][stamp] = sum(1 for s in listed if _idle(s, day))
        self.rows.update({"github-copilot-seats": len(listed), "github-copilot-billing": 1,
                          "github-billing-usage": len(items)})  # fmt: skip
        return listed

    def daily_reports(self, end: date) -> None:
        """Zoom's daily report, one file per month (saved after the month's last day)."""
        for month, dates in self.report.items():
            body = {"year": month.year, "month": month.month, "dates": dates}
            last = min(end, cycle_end(month))
            self.save("zoom-daily-report", f"{month:%Y-%m}.json", _json(body), last)
            self.rows["zoom-daily-report"] += len(dates)


def generate_saas(root: Path, start: date, end: date, seed: int) -> dict:
    """Write `saas/` (saved API responses per day) and `saas/saas-invoices/*.csv` under `root`
    for the window [start, end], and return the ground truth (also `saas/truth.json`). Same
    arguments, same bytes and the same file mtimes."""
    root = Path(root)
    for name in ("saas",):
        shutil.rmtree(root / name, ignore_errors=True)
    people = roster(start, end, seed)
    out = _Writer(root, seed, people, github.ghost_seat(start))
    for i in range((end - start).days + 1):
        out.day(start + timedelta(days=i), gz=i % GZIP_EVERY == GZIP_EVERY - 1)
    out.daily_reports(end)
    truth = {
        "schema": SCHEMA,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "seed": seed,
        "org": github.ORG,
        "slack_team": chat.SLACK_TEAM,
        "seats": dict(out.seats),
        "billable_users": out.seats["slack"],
        "copilot": {"null_assignee_seats": 1, **out.idle},
        "rows": dict(sorted(out.rows.items())),
        "files": dict(out.files),
        "invoices": _invoices(root, start, end, out.invoiced, price_change(start, end)),
        "notes": NOTES,
    }
    data = orjson.dumps(truth, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    write_bytes(root / "saas" / "truth.json", data)
    return truth


def _idle(seat: dict, day: date) -> bool:
    """No Copilot activity in the 30 days before `day`."""
    last = seat["last_activity_at"]
    return last is None or datetime.fromisoformat(last).astimezone(UTC).date() < day - timedelta(
        days=30
    )


def _team(people: list[Person], seat: dict) -> str:
    """The team a seat is invoiced to ('' for the deleted user's seat)."""
    if seat["assignee"] is None:
        return ""
    return next(p.team for p in people if p.login == seat["assignee"]["login"])


def _invoices(root: Path, start: date, end: date, counts: dict, changed: date) -> dict:
    periods: dict = {}
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    names = []
    valid = 0
    firsts = months(start, end)
    for month in firsts:
        data, rows = invoice_csv(month, counts[month], changed, bad=month == firsts[-1])
        path = root / "saas" / "saas-invoices" / f"invoices-{month:%Y-%m}.csv"
        write_bytes(path, data, mtime=datetime.combine(max(month, start), time(6), UTC))
        names.append(path.relative_to(root).as_posix())
        valid += len(rows)
        for vendor, seats, amount, currency, _ in rows:
            entry = periods.setdefault(f"{month:%Y-%m}", {}).setdefault(
                vendor, {"seats": 0, "amount": "0", "currency": currency}
            )
            entry["seats"] += seats
            entry["amount"] = str(Decimal(entry["amount"]) + amount)
            amounts[currency] += amount
    return {
        "files": names,
        "rows": valid,
        "quarantined": 1,
        "amount": {c: str(a) for c, a in sorted(amounts.items())},
        "price_change": {
            "vendor": SLACK,
            "from": str(SLACK_PRICES[0]),
            "to": str(SLACK_PRICES[1]),
            "first_period": f"{changed:%Y-%m}",
        },
        "periods": periods,
    }
