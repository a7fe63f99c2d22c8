"""The demo's monthly SaaS invoices CSV (the `saas-invoices` format), one file per month.

Seats are counted on the invoice day (the month's first day, or the window's first day) and billed
in advance at list price: Copilot per team (the deleted user's seat on a row without a team),
Slack and Zoom company-wide, Figma in EUR for growth. Slack's price rises from the month holding
the window's midpoint. The last file carries one row with an unreadable amount (quarantined).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

HEADER = "vendor,period,seats,amount,currency,invoice_id,team"
COPILOT, SLACK, ZOOM = "GitHub Copilot Business", "Slack Business+", "Zoom Workplace Pro"
PRICES = {COPILOT: Decimal("19.00"), ZOOM: Decimal("13.33")}
SLACK_PRICES = (Decimal("12.50"), Decimal("15.00"))  # before / from the price change
FIGMA = ("Figma Professional", 6, Decimal("15.00"), "EUR", "growth")
BAD_ROW = "Miro Business,{period},9,n/a,USD,MIRO-{stamp},"


@dataclass(frozen=True)
class Counts:
    """Seats on the invoice day: Copilot by team ('' = no team), Slack billable, Zoom licensed."""

    copilot: Counter[str]
    slack: int
    zoom: int


def months(start: date, end: date) -> list[date]:
    """First days of the months the window touches."""
    first, out = start.replace(day=1), []
    while first <= end:
        out.append(first)
        first = (first + timedelta(days=32)).replace(day=1)
    return out


def price_change(start: date, end: date) -> date:
    """The first month billed at Slack's new price."""
    return (start + (end - start) / 2).replace(day=1)


def invoice_csv(period: date, counts: Counts, changed: date, *, bad: bool) -> tuple[bytes, list]:
    """The CSV of one month and its valid rows as (vendor, seats, amount, currency, team)."""
    stamp = f"{period:%Y%m}"
    rows = [(COPILOT, n, PRICES[COPILOT] * n, "USD", team, f"GH-{stamp}")
            for team, n in sorted(counts.copilot.items())]  # fmt: skip
    slack_price = SLACK_PRICES[period >= changed]
    rows.append((SLACK, counts.slack, slack_price * counts.slack, "USD", "", f"SL-{stamp}"))
    rows.append((ZOOM, counts.zoom, PRICES[ZOOM] * counts.zoom, "USD", "", f"ZM-{stamp}"))
    vendor, seats, price, currency, team = FIGMA
    rows.append((vendor, seats, price * seats, currency, team, f"FIG-{stamp}"))
    lines = [HEADER]
    lines += [f"{v},{period:%Y-%m},{n},{a},{c},{inv},{t}" for v, n, a, c, t, inv in rows]
    if bad:
        lines.append(BAD_ROW.format(period=f"{period:%Y-%m}", stamp=stamp))
    return ("\n".join(lines) + "\n").encode(), [(v, n, a, c, t) for v, n, a, c, t, _ in rows]
