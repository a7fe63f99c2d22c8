"""The small warehouse of the anomaly trust tests, written directly in the marts' shape (no dbt):
`prod` and `dev` AI traffic from request logs, and `billing` cloud spend from one FOCUS feed with
a day-1 tax line, a daily commitment fee and a month-to-date delivery of October written at
14:00 on the 12th."""

from datetime import UTC, date, datetime, timedelta

import duckdb
import numpy as np
import polars as pl

START, LAST = date(2026, 8, 1), date(2026, 10, 15)  # LAST is a Thursday
DAYS = [START + timedelta(days=i) for i in range((LAST - START).days + 1)]
PROD_PARTIAL, MTD_AT = LAST, datetime(2026, 10, 12, 14, tzinfo=UTC)  # prod logs end 09:00 on LAST
SPIKE_PROJECT, SPIKE_MODEL = date(2026, 9, 16), date(2026, 10, 7)  # Wednesdays
DEV_RUN = [date(2026, 9, 8), date(2026, 9, 9), date(2026, 9, 10)]
ERROR_BURST = date(2026, 9, 23)
# provider, model, project, team, feature, USD per weekday
PROD = [
    ("openai", "gpt-4o", "search", "growth", "chat", 20.0),
    ("openai", "gpt-4o-mini", "search", "growth", "classify", 5.0),
    ("openai", "gpt-4o", "billing-bot", "growth", "extract", 10.0),
    ("openai", "gpt-4o-mini", "billing-bot", "growth", "summarize", 3.0),
    ("anthropic", "claude-sonnet", "helpdesk", "support", "agent", 15.0),
    ("anthropic", "claude-haiku", "helpdesk", "support", "chat", 4.0),
]
DEV = [
    ("anthropic", "claude-sonnet", "notebooks", "data", "agent", 3.0),
    ("anthropic", "claude-sonnet", "infra", "platform", "agent", 2.0),
]
CLOUD = [("Amazon EC2", 200.0, 0.5), ("Amazon S3", 50.0, 1.0)]  # service, USD, weekend factor


def _noise(rng, n=None):
    return 1 + rng.normal(0, 0.03, n)


def _ai_rows(rng) -> list[dict]:
    rows = []
    for tag, combos in (("prod", PROD), ("dev", DEV)):
        for d in DAYS:
            week = 1.0 if d.weekday() < 5 else 0.5
            for provider, model, project, team, feature, usd in combos:
                y = usd * week * _noise(rng)
                if tag == "prod" and d == SPIKE_PROJECT and project == "billing-bot":
                    y *= 4
                if tag == "prod" and d == SPIKE_MODEL and model == "gpt-4o-mini":
                    y *= 5
                if tag == "dev" and d in DEV_RUN and project == "notebooks":
                    y *= 6
                if tag == "prod" and d == PROD_PARTIAL:
                    y *= 0.35  # the logs stop at 09:00
                service = {"openai": "OpenAI API", "anthropic": "Claude API"}[provider]
                rows.append({"charge_date": d, "source_tag": tag, "service_category": "ai",
                             "provider": provider, "service": service, "model": model,
                             "project": project, "team": team, "feature": feature,
                             "charge_category": "Usage", "cost": y, "cost_usd": y,
                             "list_cost_usd": y})  # fmt: skip
    return rows


def _line(d, delivery, category, service, usd, *, end=None) -> dict:
    start = datetime.combine(d, datetime.min.time(), UTC)
    return {"delivery_key": f"focus|123|{delivery['period']}", "delivery_id": delivery["id"],
            "delivery_rank": int(delivery["at"].timestamp() * 1e6), "charge_date": d,
            "charge_period_start": start,
            "charge_period_end": end or start + timedelta(days=1),
            "billing_period_start": delivery["start"], "billing_period_end": delivery["end"],
            "charge_category": category, "x_service_category": "cloud", "x_provider": "aws",
            "service_name": service, "x_model_key": None, "x_project": "acme-prod",
            "x_team": None, "cost_usd": usd, "list_cost_usd": usd}  # fmt: skip


def _billing_lines(rng, *, september_restated: bool) -> list[dict]:
    """Final August; September month-to-date (through the 27th, the 28th partial) or restated;
    October month-to-date through the 11th, the 12th partial."""
    months = {
        "2026-08": (date(2026, 8, 1), date(2026, 9, 1), datetime(2026, 9, 2, 6, tzinfo=UTC), None),
        "2026-09": (date(2026, 9, 1), date(2026, 10, 1), datetime(2026, 10, 2, 6, tzinfo=UTC),
                    None) if september_restated else
                   (date(2026, 9, 1), date(2026, 10, 1), datetime(2026, 9, 28, 14, tzinfo=UTC),
                    date(2026, 9, 28)),
        "2026-10": (date(2026, 10, 1), date(2026, 11, 1), MTD_AT, date(2026, 10, 12)),
    }  # fmt: skip
    lines = []
    for period, (first, end, at, partial) in months.items():
        start_ts, end_ts = (datetime.combine(x, datetime.min.time(), UTC) for x in (first, end))
        delivery = {"period": period, "id": f"{period}@{at:%d%H}", "at": at, "start": start_ts,
                    "end": end_ts}  # fmt: skip
        last = partial or (end - timedelta(days=1))
        for i in range((last - first).days + 1):
            d = first + timedelta(days=i)
            share = 0.55 if d == partial else 1.0
            for service, usd, weekend in CLOUD:
                week = 1.0 if d.weekday() < 5 else weekend
                lines.append(_line(d, delivery, "Usage", service, usd * week * share * _noise(rng)))
            lines.append(_line(d, delivery, "Purchase", "Savings Plans", 100.0 * share))
        lines.append(_line(first, delivery, "Tax", "Amazon EC2", 1500.0, end=end_ts))
        if period == "2026-09" and september_restated:
            lines.append(_line(first, delivery, "Usage", "Amazon EC2", 300.0, end=end_ts))
            lines.append(_line(date(2026, 8, 1), delivery, "Credit", "Amazon S3", -84.37,
                               end=start_ts))  # fmt: skip
            lines.append(_line(first, delivery, "Adjustment", "Amazon S3", 12.5))
    return lines


def _usage_daily(rng) -> list[dict]:
    rows = []
    for tag, providers in (("prod", ("openai", "anthropic")), ("dev", ("anthropic",))):
        for d in DAYS:
            for provider in providers:
                requests = 600 if d.weekday() < 5 else 300
                rate = 0.3 if (tag, provider, d) == ("prod", "anthropic", ERROR_BURST) else 0.01
                tokens = requests * 2000 * _noise(rng)
                rows.append({"usage_date": d, "source_tag": tag, "provider": provider,
                             "requests": requests, "error_requests": round(requests * rate),
                             "unpriced_requests": 0, "estimated_cost_usd": tokens * 2e-6,
                             "total_tokens": tokens, "input_uncached_tokens": tokens * 0.5,
                             "cache_read_tokens": tokens * 0.3 * _noise(rng),
                             "cache_write_tokens": tokens * 0.05})  # fmt: skip
    return rows


def write_warehouse(path, *, september_restated: bool = True) -> None:
    """The marts (and raw billing delivery metadata) Bimo's anomaly detection reads."""
    rng = np.random.default_rng(5)
    ai = pl.DataFrame(_ai_rows(rng))  # noqa: F841 - scanned by name below
    lines = pl.DataFrame(_billing_lines(rng, september_restated=september_restated))  # noqa: F841
    usage = pl.DataFrame(_usage_daily(rng))  # noqa: F841
    newest = [(9, 0), (8, 30), (23, 30)]  # prod's two log formats, then dev's
    requests = pl.DataFrame(  # noqa: F841
        {
            "source_tag": ["prod", "prod", "dev"],
            "source_format": ["litellm", "otel-genai", "cli"],
            "requested_at": [datetime(2026, 10, 15, h, m, tzinfo=UTC) for h, m in newest],
        }
    )
    con = duckdb.connect(str(path))
    try:
        for schema in ("marts", "raw_billing"):
            con.execute(f"create or replace schema {schema}")
        con.execute("create table marts.fct_llm_requests as select * from requests")
        con.execute("create table marts.fct_llm_usage_daily as select * from usage")
        con.execute("create table marts.fct_cost_line_items as select * from lines")
        con.execute(
            "create table raw_billing.line_items as select 'focus' as source_system, "
            "'123' as billing_account_id, * from lines"
        )
        con.execute(
            """
            create table marts.fct_daily_cost as
            select * from ai
            union all by name
            select charge_date, 'billing' as source_tag, x_service_category as service_category,
                   x_provider as provider, service_name as service, x_model_key as model,
                   x_project as project, x_team as team, null as feature, charge_category,
                   sum(cost_usd) as cost, sum(cost_usd) as cost_usd, sum(cost_usd) as list_cost_usd
            from lines group by all
            """
        )
    finally:
        con.close()
