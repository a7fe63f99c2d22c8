"""Daily AI signals for anomaly detection, per source tag in total and per provider, from
`marts.fct_llm_usage_daily`:

* `cost_per_1k_tokens` — estimated cost per 1,000 tokens of priced requests (a price change or a
  shift to dearer models); its `weight` is the day's priced tokens / 1,000, so a change × weight
  is its dollar impact;
* `error_rate` — failed requests / requests;
* `unpriced_share` — requests no price covers / requests (their cost is unknown, not $0);
* `cache_hit_ratio` — input tokens read from the provider's prompt cache / all input tokens (a
  broken cache prefix makes the same traffic dearer).

A day with fewer than `min_requests` requests is unknown (null, never scored): its ratio is
noise. The error rate and the unpriced share carry their day's requests as `volume`, so a
low-traffic day is judged against its binomial noise. Days after the tag's last complete day are
dropped (`bimo.analytics.coverage`).
"""

from __future__ import annotations

import duckdb
import polars as pl

from bimo.analytics.coverage import Coverage
from bimo.analytics.series import long_shape, on_grid

SIGNALS = ("cost_per_1k_tokens", "error_rate", "unpriced_share", "cache_hit_ratio")
_SUMS = ("requests", "errors", "unpriced", "cost", "priced_tokens", "cache_read", "input_tokens")


def signal_series(
    con: duckdb.DuckDBPyConnection, coverage: Coverage, *, min_requests: int = 50
) -> pl.DataFrame:
    """Every signal at levels total and provider, in `LONG_COLUMNS`."""
    daily = con.sql(
        """
        select source_tag, usage_date as ds, provider,
               sum(requests)::double as requests,
               sum(error_requests)::double as errors,
               sum(unpriced_requests)::double as unpriced,
               sum(estimated_cost_usd)::double as cost,
               (sum(total_tokens) filter (where estimated_cost_usd is not null))::double
                   as priced_tokens,
               sum(cache_read_tokens)::double as cache_read,
               sum(input_uncached_tokens + cache_read_tokens + cache_write_tokens)::double
                   as input_tokens
        from marts.fct_llm_usage_daily group by all
        """
    ).pl()
    daily = daily.join(coverage.frame(), on="source_tag").filter(pl.col("ds") <= pl.col("through"))
    levels = {
        "total": daily.group_by("source_tag", "ds").agg(pl.col(_SUMS).sum()),
        "provider": daily.filter(pl.col("provider").is_not_null()),
    }
    enough = pl.col("requests") >= min_requests
    metrics = {
        "cost_per_1k_tokens": 1000 * pl.col("cost") / pl.col("priced_tokens"),
        "error_rate": pl.col("errors") / pl.col("requests"),
        "unpriced_share": pl.col("unpriced") / pl.col("requests"),
        "cache_hit_ratio": pl.col("cache_read") / pl.col("input_tokens"),
    }
    parts = []
    for level, frame in levels.items():
        key = pl.col("provider") if level == "provider" else pl.lit("total")
        for metric, value in metrics.items():
            weight = pl.col("priced_tokens") / 1000 if metric == "cost_per_1k_tokens" else None
            shares = metric in ("error_rate", "unpriced_share")
            parts.append(
                frame.select(
                    "source_tag",
                    "ds",
                    *(["provider"] if level == "provider" else []),
                    metric=pl.lit(metric),
                    series_level=pl.lit(level),
                    series_key=key,
                    y=pl.when(enough).then(value).fill_nan(None),
                    weight=pl.lit(None, pl.Float64) if weight is None else weight,
                    volume=pl.col("requests") if shares else pl.lit(None, pl.Float64),
                )
            )
    series = on_grid(pl.concat(parts, how="diagonal_relaxed"), coverage, fill=None)
    seen = series.filter(pl.col("y").is_not_null())["unique_id"].unique()
    return long_shape(series.filter(pl.col("unique_id").is_in(seen)))
