"""Which days of each source tag are complete, so that a partial day is never scored.

Every tag is fed by *feeds*, and a tag's last complete day is the earliest last complete day of
its current feeds (a feed more than `max_feed_lag_days` behind the newest one has stopped, and
its stop is data):

* request logs (`dev`, `prod`): one feed per log format; its newest day counts once the newest
  request is at or after 23:00 UTC, else the day before;
* billing exports (FOCUS, CUR, Azure, GCP, OCI): one feed per source and billing account; each
  stored delivery (the latest of its billing period) covers the days of its period up to the end
  of its last Usage row *and* up to the moment it was delivered (`delivery_rank`, minus
  `settle`): a month-to-date file written at 14:00 holds a partial day, one that ends a day
  early holds no row for that day;
* billing APIs (OpenAI / Anthropic costs, `raw_billing.api_coverage`) and GitHub billing usage:
  one delivery per day, complete when it was pulled after the day ended.

A day inside a feed's span that no delivery covers completely (a month-to-date cut that was never
restated, a day no pull covered) is a *hole*: the tag's series are unknown that day, never zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb
import polars as pl

from bimo.warehouse import table_exists

MAX_FEED_LAG_DAYS = 7


@dataclass(frozen=True)
class Coverage:
    """Per source tag: the last complete day, and the earlier days some feed left incomplete."""

    through: dict[str, date] = field(default_factory=dict)
    holes: dict[str, frozenset[date]] = field(default_factory=dict)

    def frame(self) -> pl.DataFrame:
        """`source_tag, through` as a frame (for joins)."""
        return pl.DataFrame(
            {"source_tag": list(self.through), "through": list(self.through.values())},
            schema={"source_tag": pl.String, "through": pl.Date},
        )


def log_feeds(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """`source_tag, feed, last_day` per log format (request logs hold no holes)."""
    if not table_exists(con, "marts", "fct_llm_requests"):
        return pl.DataFrame(schema={"source_tag": pl.String, "feed": pl.String, "day": pl.Date})
    rows = con.sql(
        "select source_tag, 'log:' || source_format as feed, "
        "timezone('UTC', max(requested_at)) as newest "
        "from marts.fct_llm_requests group by all"
    ).pl()
    return rows.select(
        "source_tag",
        "feed",
        day=pl.when(pl.col("newest").dt.hour() >= 23)
        .then(pl.col("newest").dt.date())
        .otherwise(pl.col("newest").dt.date() - pl.duration(days=1)),
    )


def billing_feed_days(con: duckdb.DuckDBPyConnection, settle: timedelta) -> pl.DataFrame:
    """`source_tag, feed, day` for every day a stored billing delivery covers completely."""
    settle_us = int(settle / timedelta(microseconds=1))
    parts = []
    billed = table_exists(con, "raw_billing", "line_items")
    if billed and table_exists(con, "marts", "fct_cost_line_items"):
        api_sources = (
            "select distinct source_system from raw_billing.api_coverage"
            if table_exists(con, "raw_billing", "api_coverage")
            else "select null::varchar as source_system where false"
        )
        parts.append(
            f"""
            with stored as (
                select distinct delivery_key, delivery_id from marts.fct_cost_line_items
            ),
            deliveries as (
                select
                    li.source_system || '|' || coalesce(li.billing_account_id, '') as feed,
                    li.delivery_key,
                    cast(timezone('UTC', coalesce(min(li.billing_period_start),
                        min(li.charge_period_start))) as date) as first_day,
                    least(
                        max(timezone('UTC', li.billing_period_end)),
                        max(timezone('UTC', li.charge_period_end))
                            filter (where li.charge_category = 'Usage'),
                        make_timestamp(max(li.delivery_rank) - {settle_us})
                    ) as complete_until
                from raw_billing.line_items as li
                semi join stored using (delivery_key, delivery_id)
                where li.source_system not in ({api_sources}) and li.delivery_rank is not null
                group by all
            )
            select 'billing' as source_tag, feed,
                   cast(unnest(generate_series(first_day,
                        cast(date_trunc('day', complete_until) as date) - 1, interval 1 day))
                        as date) as day
            from deliveries
            where complete_until is not null
                and cast(date_trunc('day', complete_until) as date) > first_day
            """
        )
    day_keyed = [
        ("raw_billing", "api_coverage", "usage_date"),
        ("raw_saas", "github_billing_usage", "usage_date"),
    ]
    for schema, table, day in day_keyed:
        if table_exists(con, schema, table):
            parts.append(
                f"""
                select 'billing' as source_tag,
                       regexp_replace(delivery_key, '\\|[^|]*$', '') as feed, {day} as day
                from {schema}.{table}
                where {day} is not null
                group by all
                having {day} + interval 1 day <= make_timestamp(max(delivery_rank) - {settle_us})
                """
            )
    if not parts:
        return pl.DataFrame(schema={"source_tag": pl.String, "feed": pl.String, "day": pl.Date})
    return con.sql(" union all ".join(parts)).pl().unique()


def tag_coverage(
    con: duckdb.DuckDBPyConnection,
    *,
    settle: timedelta = timedelta(0),
    max_feed_lag_days: int = MAX_FEED_LAG_DAYS,
) -> Coverage:
    """Each tag's last complete day and its holes (see the module docstring)."""
    logs = log_feeds(con)
    billing = billing_feed_days(con, settle)
    spans = pl.concat(
        [
            logs.select("source_tag", "feed", first="day", last="day", n=pl.lit(None, pl.UInt32)),
            billing.group_by("source_tag", "feed").agg(
                first=pl.col("day").min(), last=pl.col("day").max(), n=pl.len()
            ),
        ],
        how="vertical_relaxed",
    )
    through: dict[str, date] = {}
    holes: dict[str, frozenset[date]] = {}
    for (tag,), feeds in spans.group_by(["source_tag"]):
        newest = feeds["last"].max()
        current = feeds.filter(pl.col("last") >= newest - timedelta(days=max_feed_lag_days))
        through[tag] = current["last"].min()
        span_days = (pl.col("last") - pl.col("first")).dt.total_days() + 1
        gappy = feeds.filter(pl.col("n").is_not_null() & (pl.col("n") < span_days))
        missing: set[date] = set()
        for feed in gappy["feed"]:
            days = set(billing.filter(pl.col("feed") == feed)["day"].to_list())
            first, last = min(days), max(days)
            span = {first + timedelta(days=i) for i in range((last - first).days + 1)}
            missing |= {d for d in span - days if d <= through[tag]}
        holes[tag] = frozenset(missing)
    for tag, newest in _unfed_tags(con, set(through)).items():
        through[tag] = newest - timedelta(days=1)  # no feed to tell: presume the newest partial
    return Coverage(through=dict(sorted(through.items())), holes=holes)


def _unfed_tags(con: duckdb.DuckDBPyConnection, fed: set[str]) -> dict[str, date]:
    if not table_exists(con, "marts", "fct_daily_cost"):
        return {}
    rows = con.sql(
        "select source_tag, max(charge_date) from marts.fct_daily_cost "
        "where charge_category = 'Usage' group by 1"
    ).fetchall()
    return {tag: newest for tag, newest in rows if tag not in fed}
