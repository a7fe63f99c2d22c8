"""Daily spend series for anomaly detection: per source tag, in total and by provider, service,
model, project, team and feature.

* Usage rows of `marts.fct_daily_cost` only, in AI, cloud and SaaS alike: tax lines (dated to
  day 1 of their period), credits, refunds, adjustments and purchases are not traffic. SaaS
  seats are Purchase rows (`prod`: paid seats × price, `billing`: an invoice spread evenly over
  its month), so they are left out: a seat count or an invoice changes in steps at period
  boundaries, which says nothing about a day. SaaS usage (GitHub billing usage) is in.
* Spend is the billed cost (`cost_usd`): commitment-covered cloud usage is billed $0 and the
  commitment fee is a Purchase, so it is the money that moves with usage. SaaS usage is the one
  exception: it is billed net of a monthly included allowance (GitHub Actions minutes) that
  resets on day 1, so its net cost drops at every period start by design; it is measured at its
  gross (list) amount.
* A billing Usage line whose charge period spans several days (a monthly meter, a correction
  dated to its period) is spread evenly over those days rather than landing on its first one.
* Days after the tag's last complete day are dropped; days a feed left incomplete, and days with
  a row that has no USD rate, are unknown (null, never scored); a day without rows is $0.
* A series whose spend is below `min_share` of its reference over its own days is negligible and
  skipped; so is a series whose values equal a coarser one's (a provider with a single service).
  The reference is the tag's spend in the series' service category when the series lies in one
  (provider, service, model), else the tag's total: AI spend is not judged against cloud spend.
"""

from __future__ import annotations

import duckdb
import polars as pl

from bimo.analytics.coverage import Coverage
from bimo.analytics.series import DIMENSIONS, long_shape, on_grid

# Each spend level and the dimensions that name its series (the key joins them with "/").
SPEND_LEVELS: dict[str, tuple[str, ...]] = {
    "total": (),
    "provider": ("provider",),
    "service": ("provider", "service"),
    "model": ("provider", "model"),
    "project": ("project",),
    "team": ("team",),
    "feature": ("feature",),
}
CATEGORY_LEVELS = ("provider", "service", "model")


def spend_rows(con: duckdb.DuckDBPyConnection, coverage: Coverage) -> pl.DataFrame:
    """Usage spend per tag, day, service category and every dimension, through each tag's last
    complete day: `source_tag, ds, service_category, provider … feature, y, unknown` (the same
    rows feed the series and the top drivers)."""
    dims = ", ".join(DIMENSIONS)
    rows = con.sql(
        f"""
        select source_tag, charge_date as ds, service_category, {dims},
               sum(if(service_category = 'saas', coalesce(list_cost_usd, cost_usd), cost_usd))
                   ::double as y,
               bool_or(cost_usd is null and coalesce(cost, 0) <> 0) as unknown
        from marts.fct_daily_cost where charge_category = 'Usage' group by all
        """
    ).pl()
    keys = ["source_tag", "ds", "service_category", *DIMENSIONS]
    return (
        pl.concat([rows, _spread_multi_day_lines(con)], how="diagonal_relaxed")
        .join(coverage.frame(), on="source_tag")
        .filter(pl.col("ds") <= pl.col("through"))
        .group_by(keys)
        .agg(pl.col("y").sum(), pl.col("unknown").any())
        .sort(keys, nulls_last=True)
    )


def _spread_multi_day_lines(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Billing Usage lines spanning several days: taken off their first day, spread evenly."""
    lines = con.sql(
        """
        select 'billing' as source_tag, charge_date as first_day,
               cast(timezone('UTC', charge_period_end - interval 1 microsecond) as date)
                   as last_day,
               x_service_category as service_category, x_provider as provider,
               service_name as service, x_model_key as model, x_project as project,
               x_team as team, null::varchar as feature,
               if(x_service_category = 'saas', coalesce(list_cost_usd, cost_usd), cost_usd)
                   ::double as amount
        from marts.fct_cost_line_items
        where charge_category = 'Usage' and cost_usd is not null
            and charge_period_end > charge_period_start + interval 1 day
        """
    ).pl()
    spread = lines.with_columns(
        ds=pl.date_ranges("first_day", "last_day", interval="1d")
    ).with_columns(y=pl.col("amount") / pl.col("ds").list.len())
    lump = lines.select(
        pl.exclude("first_day", "last_day", "amount"), ds="first_day", y=-pl.col("amount")
    )
    return pl.concat(
        [lump, spread.explode("ds").drop("first_day", "last_day", "amount")],
        how="diagonal_relaxed",
    ).with_columns(unknown=pl.lit(False))


def spend_series(
    rows: pl.DataFrame, coverage: Coverage, *, min_share: float = 0.01
) -> pl.DataFrame:
    """`cost_usd` series at every spend level, in `LONG_COLUMNS` (see the module docstring)."""
    parts = []
    for level, dims in SPEND_LEVELS.items():
        frame = rows.filter(*[pl.col(d).is_not_null() for d in dims]) if dims else rows
        key = pl.concat_str(list(dims), separator="/") if dims else pl.lit("total")
        categories = pl.col("service_category").unique().drop_nulls()
        parts.append(
            frame.group_by("source_tag", "ds", *dims)
            .agg(pl.col("y").sum(), pl.col("unknown").any(), categories.alias("categories"))
            .with_columns(metric=pl.lit("cost_usd"), series_level=pl.lit(level), series_key=key)
        )
    frame = pl.concat(parts, how="diagonal_relaxed")
    category = _series_category(frame)
    series = on_grid(frame.drop("categories"), coverage, fill=0.0)
    series = series.join(category, on="unique_id", how="left").with_columns(weight=pl.lit(1.0))
    series = _with_reference(series, rows)
    keep = series.group_by("unique_id").agg(
        share=pl.col("y").sum() / pl.col("reference_y").sum(),
        reference_usd=pl.col("reference_y").median(),
    )
    keep = keep.filter(
        pl.col("unique_id").str.ends_with("|total|total")
        | (pl.col("share") >= min_share)
        | pl.col("share").is_nan()
    )
    series = series.join(keep.select("unique_id", "reference_usd"), on="unique_id")
    return long_shape(_dedupe(series))


def _series_category(frame: pl.DataFrame) -> pl.DataFrame:
    """The service category of each provider/service/model series that lies in exactly one."""
    uid = pl.concat_str(["source_tag", "metric", "series_level", "series_key"], separator="|")
    return (
        frame.filter(pl.col("series_level").is_in(CATEGORY_LEVELS))
        .explode("categories")
        .group_by(unique_id=uid)
        .agg(pl.col("categories").drop_nulls().unique().alias("cats"))
        .filter(pl.col("cats").list.len() == 1)
        .select("unique_id", category=pl.col("cats").list.first())
    )


def _with_reference(series: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """`reference_y`: the day's spend of the tag (or of the tag's category, see above)."""
    by_category = rows.group_by("source_tag", "service_category", "ds").agg(
        category_y=pl.col("y").sum()
    )
    total = series.filter(pl.col("series_level") == "total").select(
        "source_tag", "ds", total_y=pl.col("y")
    )
    return (
        series.join(total, on=["source_tag", "ds"], how="left")
        .join(
            by_category,
            left_on=["source_tag", "category", "ds"],
            right_on=["source_tag", "service_category", "ds"],
            how="left",
        )
        .with_columns(
            reference_y=pl.when(pl.col("category").is_not_null())
            .then(pl.col("category_y").fill_null(0.0))
            .otherwise(pl.col("total_y"))
        )
        .drop("total_y", "category_y", "category")
    )


def _dedupe(series: pl.DataFrame) -> pl.DataFrame:
    """Drop a series whose days and values equal a coarser level's in the same tag."""
    rank = {level: i for i, level in enumerate(SPEND_LEVELS)}
    values = pl.concat_str(
        pl.col("ds").cast(pl.String), pl.col("y").round(6).cast(pl.String).fill_null("-")
    )
    kept = (
        series.sort("ds")
        .group_by("unique_id", "source_tag", "series_level")
        .agg(signature=values.str.join(","))
        .with_columns(rank=pl.col("series_level").replace_strict(rank, default=99))
        .sort("rank", "unique_id")
        .unique(["source_tag", "signature"], keep="first")
    )
    return series.filter(pl.col("unique_id").is_in(kept["unique_id"]))
