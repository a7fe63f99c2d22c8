"""The clouds' charges for one delivery of one billing period, in FOCUS semantics: daily usage,
the AWS Savings Plan (fee, covered usage, unused commitment), monthly tax and credits, and the
refunds and late adjustments a restated delivery adds."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import numpy as np

from bimo.demo.billing.accounts import (
    AWS_TAX_RATE,
    CLOUDS,
    EUR_PER_USD,
    SAVINGS_PLAN,
    Cloud,
    Resource,
)
from bimo.demo.billing.truth import fmt

MONEY = Decimal("1e-10")
CENT = Decimal("0.01")
QTY = Decimal("1e-6")
PAYER = -1  # `Charge.sub` of rows booked on the billing (payer) account itself
PARTIAL_SHARE = 0.55  # how much of its cut-off day a month-to-date delivery already holds
CATEGORY = {
    "usage": "Usage",
    "covered": "Usage",
    "unused": "Usage",
    "purchase": "Purchase",
    "tax": "Tax",
    "credit": "Credit",
    "refund": "Credit",
    "adjustment": "Adjustment",
}


def money(x: Decimal) -> Decimal:
    return x.quantize(MONEY)


def dt(d: date) -> datetime:
    return datetime.combine(d, time(), UTC)


def month_end(m: date) -> date:
    """The first day of the next month (billing periods end exclusive)."""
    return m + timedelta(days=calendar.monthrange(m.year, m.month)[1])


@dataclass
class Charge:
    """One line: amounts in USD (the pricing currency); `rate` converts to the billing one."""

    kind: str  # a CATEGORY key
    sub: int
    start: datetime
    end: datetime
    res: Resource | None
    qty: Decimal | None
    billed: Decimal
    effective: Decimal
    list_cost: Decimal
    contracted: Decimal
    description: str
    service: tuple[str, str, str]  # ServiceName, ServiceCategory, ServiceSubcategory
    rate: Decimal = Decimal(1)  # billing-currency units per USD
    sp_rate: Decimal | None = None  # covered rows: the Savings Plan rate
    used: Decimal | None = None  # purchase rows: commitment used that day

    @property
    def category(self) -> str:
        return CATEGORY[self.kind]


@dataclass(frozen=True)
class Delivery:
    """One export file of a billing period: complete `days`, maybe a `partial` cut-off day."""

    cloud: Cloud
    period: date
    days: tuple[date, ...]
    partial: date | None
    delivered_at: datetime
    kind: str  # final (closed month) | mtd | restated (the open month's later, final delivery)
    window_start: date

    @property
    def closed(self) -> bool:
        return self.kind == "final"


def schedule(cloud: Cloud, start: date, end: date) -> list[Delivery]:
    """Every delivery of every billing period the window touches, in delivery order per period.
    The last period is open: a month-to-date delivery, then a restated one through `end`."""
    offset = timedelta(hours=CLOUDS.index(cloud))
    out, m = [], start.replace(day=1)
    while m <= end:
        first, last = max(start, m), min(end, month_end(m) - timedelta(days=1))
        days = tuple(first + timedelta(days=i) for i in range((last - first).days + 1))
        if month_end(m) > end:
            cut = max(first, end - timedelta(days=3))
            mtd_at = dt(cut) + timedelta(hours=14) + offset
            out.append(Delivery(cloud, m, days[: (cut - first).days], cut, mtd_at, "mtd", start))
            restated_at = dt(end + timedelta(days=1)) + timedelta(hours=5) + offset
            out.append(Delivery(cloud, m, days, None, restated_at, "restated", start))
        else:
            at = min(
                dt(month_end(m) + timedelta(days=2)) + timedelta(hours=6),
                dt(end) + timedelta(hours=28),
            )
            out.append(Delivery(cloud, m, days, None, at + offset, "final", start))
        m = month_end(m)
    return out


def charges(delivery: Delivery, seed: int) -> list[Charge]:
    """All lines of one delivery."""
    cloud = delivery.cloud
    rate = (
        Decimal(str(EUR_PER_USD[delivery.period.month - 1]))
        if cloud.currency == "EUR"
        else Decimal(1)
    )
    out: list[Charge] = []
    for d in delivery.days:
        out += day_charges(cloud, d, seed, delivery.window_start, 1.0)
    if delivery.partial:
        out += day_charges(cloud, delivery.partial, seed, delivery.window_start, PARTIAL_SHARE)
    out += monthly_charges(delivery, out)
    for c in out:
        c.rate = rate
    return out


def _service(res: Resource) -> tuple[str, str, str]:
    return res.service, res.category, res.subcategory


def _usage(res: Resource, d: date, qty: Decimal, discount: float) -> Charge:
    price = Decimal(str(res.price))
    listed = money(qty * price)
    contracted = money(qty * price * Decimal(str(1 - discount)))
    desc = f"{res.meter} at ${fmt(price)} per {res.unit}"
    return Charge(
        "usage", res.sub, dt(d), dt(d + timedelta(days=1)), res, qty, contracted, contracted,
        listed, contracted, desc, _service(res),
    )  # fmt: skip


def day_charges(cloud: Cloud, d: date, seed: int, window_start: date, share: float) -> list[Charge]:
    """One day's metered usage; SP-eligible usage split into covered and on-demand parts."""
    rng = np.random.default_rng([seed, 40, CLOUDS.index(cloud), d.toordinal()])
    noise = rng.standard_normal(len(cloud.resources))
    out, eligible = [], []
    for res, z in zip(cloud.resources, noise.tolist(), strict=True):
        q = res.daily * (res.weekend if d.weekday() >= 5 else 1.0) * share
        q *= (1 + res.growth) ** ((d - window_start).days / 90) * np.exp(
            np.clip(z * res.noise, -0.1, 0.1)
        )
        if res.monthly:
            q /= calendar.monthrange(d.year, d.month)[1]
        qty = Decimal(f"{q:.6f}")
        if res.sp_rate is None:
            out.append(_usage(res, d, qty, cloud.contract_discount))
        else:
            eligible.append((res, qty))
    if eligible:
        out += savings_plan(eligible, d, share)
    return out


def savings_plan(eligible: list[tuple[Resource, Decimal]], d: date, share: float) -> list[Charge]:
    """The day's fee (Purchase, EffectiveCost 0), covered usage (BilledCost 0, EffectiveCost the
    SP rate), on-demand overflow, and the unused commitment: Σ effective = the fee, exactly."""
    fee = money(Decimal(str(SAVINGS_PLAN["hourly"])) * 24 * Decimal(str(share)))
    at_sp = [qty * Decimal(str(r.sp_rate)) for r, qty in eligible]
    f = min(Decimal(1), fee / sum(at_sp)) if sum(at_sp) else Decimal(1)
    out, used = [], Decimal(0)
    start, end = dt(d), dt(d + timedelta(days=1))
    for i, (res, qty) in enumerate(eligible):
        covered = (qty * f).quantize(QTY)
        sp_rate = Decimal(str(res.sp_rate))
        effective = money(covered * sp_rate)
        if f < 1 and i == len(eligible) - 1:
            effective = fee - used  # the commitment is fully used: rounding goes to the last row
        used += effective
        listed = money(covered * Decimal(str(res.price)))
        desc = f"Savings Plan covered {res.meter}"
        out.append(Charge("covered", res.sub, start, end, res, covered, Decimal(0), effective,
                          listed, listed, desc, _service(res), sp_rate=sp_rate))  # fmt: skip
        if covered < qty:
            out.append(_usage(res, d, qty - covered, 0.0))
    service = ("Savings Plans for AWS Compute usage", "Compute", "Virtual Machines")
    if fee > used:
        desc = "Unused Savings Plan commitment"
        out.append(Charge("unused", PAYER, start, end, None, None, Decimal(0), fee - used,
                          Decimal(0), Decimal(0), desc, service))  # fmt: skip
    desc = f"{SAVINGS_PLAN['name']} recurring fee"
    out.append(Charge("purchase", PAYER, start, end, None, Decimal(24 * share).quantize(QTY),
                      fee, Decimal(0), fee, fee, desc, service, used=used))  # fmt: skip
    return out


def _one_off(kind: str, sub: int, span: tuple[date, date], amount: Decimal, desc: str,
             service: tuple[str, str, str]) -> Charge:  # fmt: skip
    start, end = dt(span[0]), dt(span[1])
    return Charge(kind, sub, start, end, None, None, amount, amount, amount, amount, desc, service)


def monthly_charges(delivery: Delivery, usage: list[Charge]) -> list[Charge]:
    """Credits, taxes (dated to the whole period, so they land on day 1) and, in a restated
    delivery, a refund correcting the previous month or a late adjustment."""
    cloud, m = delivery.cloud, delivery.period
    covered = [*delivery.days, *([delivery.partial] if delivery.partial else [])]
    if not covered:
        return []
    span = (covered[0], covered[-1] + timedelta(days=1))
    out: list[Charge] = []
    if cloud.key == "aws":
        ec2 = [c for c in usage if c.res and c.res.code == "AmazonEC2" and c.kind == "usage"]
        amount = -min(Decimal(400), sum(c.billed for c in ec2) * Decimal("0.05")).quantize(CENT)
        svc = (
            _service(ec2[0].res)
            if ec2
            else ("Amazon Elastic Compute Cloud", "Compute", "Virtual Machines")
        )
        out.append(_one_off("credit", 0, span, amount, "AWS Activate Credits", svc))
        if delivery.kind == "restated":
            prev = (m - timedelta(days=1)).replace(day=1)
            lo = max(prev, delivery.window_start) if delivery.window_start < m else prev
            s3 = next(r for r in cloud.resources if r.code == "AmazonS3")
            desc = f"SLA credit: S3 availability, {prev:%B %Y}"
            out.append(_one_off("refund", 0, (lo, m), Decimal("-84.37"), desc, _service(s3)))
        out += _taxes(usage + out[:1], (m, month_end(m)))
    elif cloud.key == "gcp":
        gce = [c for c in usage if c.res and c.res.key == "gce"]
        amount = -(sum(c.billed for c in gce) * Decimal("0.2")).quantize(CENT)
        out.append(
            _one_off("credit", 0, span, amount, "Sustained use discount", _service(gce[0].res))
        )
        if delivery.kind == "restated":
            bq = next(r for r in cloud.resources if r.key == "bq")
            late = (covered[0], covered[0] + timedelta(days=1))
            desc = "BigQuery analysis: late-arriving usage"
            out.append(_one_off("adjustment", 0, late, Decimal("12.50"), desc, _service(bq)))
    return out


def _taxes(lines: list[Charge], period: tuple[date, date]) -> list[Charge]:
    """US sales tax per (account, service), on the billed amounts, for the whole period."""
    base: dict[tuple[int, tuple[str, str, str]], Decimal] = {}
    for c in lines:
        if c.kind in ("usage", "purchase", "credit"):
            base[(c.sub, c.service)] = base.get((c.sub, c.service), Decimal(0)) + c.billed
    out = []
    for (sub, service), amount in sorted(base.items(), key=lambda kv: (kv[0][0], kv[0][1][0])):
        tax = (amount * Decimal(str(AWS_TAX_RATE))).quantize(CENT)
        if tax > 0:
            out.append(_one_off("tax", sub, period, tax, f"Tax for {service[0]}", service))
    return out
