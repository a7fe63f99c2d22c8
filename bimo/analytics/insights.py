"""Deterministic, explained insights over the marts (`analytics.insights`).

Each insight is a fixed rule with a named threshold (below), evaluated per source tag (tags are
never added together) on the last `WINDOW_DAYS` days through the last complete day, and where it
compares, on the `WINDOW_DAYS` days before. Every row says in `explanation` what was measured,
the threshold and the comparison, and keeps the numbers behind it in `evidence` (JSON). The same
warehouse gives the same rows and the same ids.

Kinds, when each fires, and its impact (USD a month):

- `cost_concentration`: one provider has more than `CONCENTRATION_SHARE` of a tag's spend;
  impact: that provider's spend.
- `high_growth`: a tag's spend, in total or on one provider, is more than `GROWTH_RATIO` above
  the previous period; impact: the increase.
- `feature_spike`: a feature's spend is more than `FEATURE_SPIKE_RATIO` above the previous
  period; impact: the increase.
- `expensive_model`: a model costs more than `COST_RATIO` times per request what another model
  with a similar token profile (`PROFILE_TOLERANCE`) costs in the same feature (else project);
  impact: the saving had its requests been priced at the other model's catalogue prices.
- `idle_seats`: paid SaaS seats idle for at least `IDLE_MIN_DAYS` days; impact: their cost.
- `unpriced_model`: a model has unpriced requests (cost NULL, never $0); impact: none (unknown).

Periods are compared on their daily averages over the days on which the tag has data, so a
short or lagging history is neither growth nor a drop; a period with data on fewer than
`MIN_COVERED_DAYS` days, or a previous period under `MIN_BASE_USD`, is not compared. Spend is
`fct_daily_cost.cost_usd` of Usage and Purchase rows (tax, credits and adjustments follow spend
rather than show where it goes). A month is `DAYS_PER_MONTH` days of the period's daily average.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import polars as pl

from bimo.analytics.insight_rows import SCHEMA, Insight, to_frame, usd
from bimo.analytics.insights_llm import expensive_models, unpriced_models
from bimo.analytics.series import last_complete_day
from bimo.analytics.store import replace_table

WINDOW_DAYS = 30  # "the last 30 days", compared with the 30 days before
DAYS_PER_MONTH = 365.25 / 12
MIN_COVERED_DAYS = 21  # a period is compared only with data on at least this many of its days
MIN_BASE_USD = 10.0  # per 30 days: smaller previous periods, or tag totals, are not judged
CONCENTRATION_SHARE = 0.80  # one provider's share of a tag's spend
GROWTH_RATIO = 0.50  # daily spend > 50 % above the previous period's
FEATURE_SPIKE_RATIO = 1.00  # a feature's daily spend > 100 % above the previous period's
COST_RATIO = 3.0  # cost per request > 3× the other model's
PROFILE_TOLERANCE = 0.50  # mean input and mean output tokens per request within ±50 %
MIN_MODEL_REQUESTS = 50  # each model compared needs this many priced requests in the period
IDLE_MIN_DAYS = 30  # days without activity before a paid seat counts as idle
SEVERITY_SHARES = (0.10, 0.02)  # impact ÷ the tag's monthly spend: high, medium (else low)

__all__ = ["SCHEMA", "compute_insights", "store_insights"]


def compute_insights(
    con: duckdb.DuckDBPyConnection, *, through: date | None = None
) -> pl.DataFrame:
    """Every insight for the period ending `through` (default: the last complete day of the
    request logs, else the newest day of `fct_daily_cost`)."""
    through = through or last_complete_day(con) or _newest_cost_day(con)
    if through is None:
        return to_frame([], {}, SEVERITY_SHARES)
    start = through - timedelta(days=WINDOW_DAYS - 1)
    periods = {
        "current": (start, through),
        "previous": (start - timedelta(days=WINDOW_DAYS), start - timedelta(days=1)),
    }
    spend = _spend(con, periods)
    tags = _compare(spend, None)
    monthly = {t: d * DAYS_PER_MONTH for t, d in tags.select("source_tag", "daily_current")
               .drop_nulls().iter_rows()}  # fmt: skip
    found = [
        *concentration(spend, periods),
        *growth(spend, periods, by=None, kind="high_growth", ratio=GROWTH_RATIO),
        *growth(spend, periods, by="provider", kind="high_growth", ratio=GROWTH_RATIO),
        *growth(spend, periods, by="feature", kind="feature_spike", ratio=FEATURE_SPIKE_RATIO),
        *expensive_models(con, start, through, ratio=COST_RATIO, tolerance=PROFILE_TOLERANCE,
                          min_requests=MIN_MODEL_REQUESTS, days_per_month=DAYS_PER_MONTH),
        *idle_seats(con),
        *unpriced_models(con, start, through, shares=SEVERITY_SHARES),
    ]  # fmt: skip
    return to_frame(found, monthly, SEVERITY_SHARES)


def store_insights(con: duckdb.DuckDBPyConnection, insights: pl.DataFrame) -> int:
    """Replace `analytics.insights` (its `evidence` column typed JSON); returns the row count."""
    rows = replace_table(con, "insights", insights)
    con.execute("alter table analytics.insights alter evidence type json")
    return rows


def _newest_cost_day(con: duckdb.DuckDBPyConnection) -> date | None:
    return con.sql("select max(charge_date) from marts.fct_daily_cost").fetchall()[0][0]


def _spend(con: duckdb.DuckDBPyConnection, periods: dict) -> pl.DataFrame:
    """Daily spend per tag × provider × feature over both periods, labelled by `period`."""
    (start, through), (first, _) = periods["current"], periods["previous"]
    return con.sql(
        """
        select source_tag, charge_date, provider, feature,
               if(charge_date >= $start, 'current', 'previous') as period,
               coalesce(sum(cost_usd), 0)::double as usd
        from marts.fct_daily_cost
        where charge_date between $first and $through
            and charge_category in ('Usage', 'Purchase')
        group by all
        order by all
        """,
        params={"start": start, "first": first, "through": through},
    ).pl()


def _compare(spend: pl.DataFrame, by: str | None) -> pl.DataFrame:
    """Per tag (× `by`): `usd_`, `days_` (days with data for the tag) and `daily_` (usd ÷ days,
    null without data) of the `current` and `previous` periods."""
    keys = ["source_tag"] if by is None else ["source_tag", by]
    periods = ("current", "previous")
    days = spend.group_by("source_tag").agg(
        pl.col("charge_date").filter(pl.col("period") == p).n_unique().alias(f"days_{p}")
        for p in periods
    )
    sums = (
        spend.drop_nulls(keys)
        .group_by(keys)
        .agg(pl.col("usd").filter(pl.col("period") == p).sum().alias(f"usd_{p}") for p in periods)
    )
    return (
        sums.join(days, on="source_tag")
        .with_columns(
            pl.when(pl.col(f"days_{p}") > 0)
            .then(pl.col(f"usd_{p}") / pl.col(f"days_{p}"))
            .alias(f"daily_{p}")
            for p in periods
        )
        .sort(keys)
    )


def concentration(spend: pl.DataFrame, periods: dict) -> list[Insight]:
    """A provider with more than `CONCENTRATION_SHARE` of a tag's current-period spend (tags
    spending under `MIN_BASE_USD` are skipped)."""
    (start, end), out = periods["current"], []
    totals = _compare(spend, None).select("source_tag", total="usd_current")
    for r in _compare(spend, "provider").join(totals, on="source_tag").iter_rows(named=True):
        tag, provider, part, total = r["source_tag"], r["provider"], r["usd_current"], r["total"]
        if total < MIN_BASE_USD or part <= CONCENTRATION_SHARE * total:
            continue
        share = part / total
        out.append(Insight(
            kind="cost_concentration", source_tag=tag, period=(start, end),
            subject_type="provider", subject=provider,
            title=f"{share:.0%} of {tag} spend is on {provider}",
            explanation=(
                f"{provider} accounts for {usd(part)} of the {usd(total)} {tag} spend from {start} "
                f"to {end} ({share:.1%}), above the {CONCENTRATION_SHARE:.0%} threshold: an "
                "outage, a price change or a quota at one provider reaches most of this spend."
            ),
            metric="share_of_tag_spend", value=share, threshold=CONCENTRATION_SHARE,
            impact=r["daily_current"] * DAYS_PER_MONTH,
            severity="medium" if share >= 0.95 else "low",  # a risk, not money spent
            evidence={"provider_usd": part, "tag_usd": total, "other_providers_usd":
                      total - part, "days_with_data": r["days_current"]},
        ))  # fmt: skip
    return out


def growth(
    spend: pl.DataFrame, periods: dict, *, by: str | None, kind: str, ratio: float
) -> list[Insight]:
    """Daily spend per tag (in total, or per `by`: provider, feature) more than `ratio` above
    the previous period's."""
    (start, end), (p_start, p_end) = periods["current"], periods["previous"]
    out = []
    for r in _compare(spend, by).iter_rows(named=True):
        if min(r["days_current"], r["days_previous"]) < MIN_COVERED_DAYS:
            continue
        cur, prev, tag = r["daily_current"], r["daily_previous"], r["source_tag"]
        if prev * WINDOW_DAYS < MIN_BASE_USD or cur <= (1 + ratio) * prev:
            continue
        change, subject = cur / prev - 1, "total" if by is None else r[by]
        what = {None: f"{tag} spend", "provider": f"{tag} spend on {subject}",
                "feature": f"{tag} spend of feature {subject!r}"}[by]  # fmt: skip
        what = what[0].upper() + what[1:]
        out.append(Insight(
            kind=kind, source_tag=tag, period=(start, end), subject_type=by or "total",
            subject=subject, title=f"{what} up {change:.0%}",
            explanation=(
                f"{what} averaged {usd(cur)} a day from {start} to {end}, {change:.0%} above the "
                f"{usd(prev)} a day of {p_start} to {p_end} (threshold: +{ratio:.0%}; previous "
                f"periods under {usd(MIN_BASE_USD)} are not judged): "
                f"{usd((cur - prev) * DAYS_PER_MONTH)} a month more at this rate."
            ),
            metric="growth_vs_previous_period", value=change, threshold=ratio,
            impact=(cur - prev) * DAYS_PER_MONTH,
            evidence={"usd_current": r["usd_current"], "usd_previous": r["usd_previous"],
                      "daily_current": cur, "daily_previous": prev, "days_current":
                      r["days_current"], "days_previous": r["days_previous"],
                      "previous_period": [p_start, p_end]},
        ))  # fmt: skip
    return out


def idle_seats(con: duckdb.DuckDBPyConnection) -> list[Insight]:
    """Paid SaaS seats without activity for at least `IDLE_MIN_DAYS` days, per tool, from the
    latest seat snapshot (`fct_saas_idle_seats`); prod tag, like seat costs in the marts."""
    tools = con.sql(
        """
        select tool, count(*) as seats, count(monthly_cost_usd) as priced_seats,
               coalesce(sum(monthly_cost_usd), 0)::double as monthly_usd,
               min(idle_since) as idle_since, max(as_of_date) as as_of_date,
               count(*) filter (where last_active_at is null) as never_active,
               list(distinct org order by org) filter (where org is not null) as orgs,
               list(distinct plan order by plan) filter (where plan is not null) as plans
        from marts.fct_saas_idle_seats
        where days_idle >= $min_days
        group by tool order by tool
        """,
        params={"min_days": IDLE_MIN_DAYS},
    ).pl()
    out = []
    for r in tools.iter_rows(named=True):
        n, cost, tool = r["seats"], r["monthly_usd"], r["tool"]
        seats, unpriced = f"{n} paid {tool} seat{'s' * (n != 1)}", n - r["priced_seats"]
        out.append(Insight(
            kind="idle_seats", source_tag="prod", period=(r["idle_since"], r["as_of_date"]),
            subject_type="tool", subject=tool,
            title=f"{n} idle {tool} seat{'s' * (n != 1)}: {usd(cost)} a month",
            explanation=(
                f"{seats} had no activity for at least {IDLE_MIN_DAYS} days (the threshold) on "
                f"{r['as_of_date']}, the oldest since {r['idle_since']}; together they cost "
                f"{usd(cost)} a month"
                + (f" ({unpriced} at no known price)" if unpriced else "")
                + ": remove or reassign them."
            ),
            metric="idle_seats", value=n, threshold=1, impact=cost,
            evidence={"seats": n, "priced_seats": r["priced_seats"], "never_active":
                      r["never_active"], "orgs": r["orgs"], "plans": r["plans"]},
        ))  # fmt: skip
    return out
