"""AI usage queries: `marts.fct_llm_usage_daily` (requests, tokens by type, cost, errors,
unpriced requests), `marts.fct_llm_latency_daily` (latency percentiles, read from its
histograms within ±2.5 %) and `marts.fct_llm_errors_daily` (error types)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from app import data

if TYPE_CHECKING:
    from app.filters import Filters

COLUMNS = {
    "tag": "source_tag",
    "provider": "provider",
    "project": "project",
    "team": "team",
    "env": "environment",
}
"""Each filter's column in both AI marts (they hold AI rows only: no service category)."""
TOKEN_TYPES: dict[str, str] = {
    "input_uncached_tokens": "input (uncached)",
    "cache_read_tokens": "cache read",
    "cache_write_tokens": "cache write",
    "output_tokens": "output",
    "reasoning_tokens": "reasoning",
}
"""The token columns, which add up to `total_tokens`, and their labels."""
_PRICED_TOKENS = "sum(total_tokens) filter (where estimated_cost_usd is not null)"


def has_usage() -> bool:
    """Whether any AI usage is loaded."""
    return data.has_rows("marts", "fct_llm_usage_daily")


def summary(f: Filters) -> pl.DataFrame:
    """Per source tag: requests, failed requests, tokens, estimated and reported cost, cost
    per 1k priced tokens and unpriced requests."""
    where, params = f.clause(COLUMNS, date_column="usage_date")
    return data.query(
        f"""
        select source_tag,
            sum(requests) as requests,
            sum(error_requests) as error_requests,
            sum(error_requests) / nullif(sum(requests), 0) as error_rate,
            sum(total_tokens) as total_tokens,
            sum(estimated_cost_usd) as estimated_cost_usd,
            sum(reported_cost_usd) as reported_cost_usd,
            1000 * sum(estimated_cost_usd)::double / nullif({_PRICED_TOKENS}, 0)
                as cost_per_1k_tokens,
            sum(unpriced_requests) as unpriced_requests,
            sum(gateway_cache_hits) as gateway_cache_hits,
        from marts.fct_llm_usage_daily
        where {where}
        group by all
        order by source_tag
        """,
        params,
    )


def daily(f: Filters) -> pl.DataFrame:
    """Per day and source tag: requests, error rate, every token type and estimated cost."""
    where, params = f.clause(COLUMNS, date_column="usage_date")
    tokens = ", ".join(f"sum({c}) as {c}" for c in TOKEN_TYPES)
    return data.query(
        f"""
        select usage_date, source_tag,
            sum(requests) as requests,
            sum(error_requests) as error_requests,
            sum(error_requests) / nullif(sum(requests), 0) as error_rate,
            {tokens},
            sum(estimated_cost_usd)::double as estimated_cost_usd,
        from marts.fct_llm_usage_daily
        where {where}
        group by all
        order by usage_date, source_tag
        """,
        params,
    )


def models(f: Filters) -> pl.DataFrame:
    """Per source tag, provider and model: requests, error rate, tokens by type, estimated
    cost, cost per 1k priced tokens, unpriced requests and latency percentiles (from the
    latency histograms, over the same filters)."""
    where, params = f.clause(COLUMNS, date_column="usage_date")
    tokens = ", ".join(f"sum({c}) as {c}" for c in TOKEN_TYPES)
    latency, more = "", []
    columns = "null as latency_p50_ms, null as latency_p95_ms"
    if data.table_exists("marts", "fct_llm_latency_daily"):
        keys, more = "source_tag, provider, model", params
        latency = f"left join ({_percentiles(keys, where)}) as lat using ({keys})"
        columns = "lat.latency_p50_ms, lat.latency_p95_ms"
    return data.query(
        f"""
        with usage as (
            select source_tag, provider, model,
                sum(requests) as requests,
                sum(error_requests) / nullif(sum(requests), 0) as error_rate,
                sum(total_tokens) as total_tokens,
                {tokens},
                sum(estimated_cost_usd) as estimated_cost_usd,
                1000 * sum(estimated_cost_usd)::double / nullif({_PRICED_TOKENS}, 0)
                    as cost_per_1k_tokens,
                sum(unpriced_requests) as unpriced_requests,
            from marts.fct_llm_usage_daily
            where {where}
            group by all
        )
        select usage.*, {columns}
        from usage {latency}
        order by source_tag, estimated_cost_usd desc nulls last, requests desc
        """,
        [*params, *more],
    )


def latency_daily(f: Filters) -> pl.DataFrame:
    """Median and 95th-percentile request latency (ms) per day and source tag."""
    if not data.table_exists("marts", "fct_llm_latency_daily"):
        return pl.DataFrame()
    where, params = f.clause(COLUMNS, date_column="usage_date")
    keys = "usage_date, source_tag"
    return data.query(
        f"""
        select usage_date as request_date, source_tag,
            latency_p50_ms as p50_ms, latency_p95_ms as p95_ms,
        from ({_percentiles(keys, where)})
        order by request_date, source_tag
        """,
        params,
    )


def _percentiles(keys: str, where: str) -> str:
    """SQL: the p50 and p95 latency (ms) per `keys` from the latency histograms matching
    `where`: the middle of the first bucket at which the running share of requests reaches
    the percentile."""
    return f"""
        select {keys},
            min(latency_ms) filter (where running >= 0.5 * total) as latency_p50_ms,
            min(latency_ms) filter (where running >= 0.95 * total) as latency_p95_ms,
        from (
            select {keys}, latency_ms,
                sum(sum(requests)) over (partition by {keys} order by latency_bucket) as running,
                sum(sum(requests)) over (partition by {keys}) as total,
            from marts.fct_llm_latency_daily
            where {where}
            group by {keys}, latency_bucket, latency_ms
        )
        group by all
    """


def error_types(f: Filters) -> pl.DataFrame:
    """Failed requests per source tag, provider, error type and HTTP status, most first."""
    if not data.table_exists("marts", "fct_llm_errors_daily"):
        return pl.DataFrame()
    where, params = f.clause(COLUMNS, date_column="usage_date")
    return data.query(
        f"""
        select source_tag, provider, coalesce(error_type, '(not given)') as error_type,
            http_status, sum(requests) as requests,
        from marts.fct_llm_errors_daily
        where {where}
        group by all
        order by source_tag, requests desc
        """,
        params,
    )


def unpriced(f: Filters) -> pl.DataFrame:
    """Models with requests no price covers (cost NULL, not $0) per source tag."""
    where, params = f.clause(COLUMNS, date_column="usage_date")
    return data.query(
        f"""
        select source_tag, provider, model,
            sum(unpriced_requests) as unpriced_requests, sum(requests) as requests,
            min(usage_date) filter (where unpriced_requests > 0) as first_day,
            max(usage_date) filter (where unpriced_requests > 0) as last_day,
        from marts.fct_llm_usage_daily
        where {where}
        group by all
        having sum(unpriced_requests) > 0
        order by source_tag, unpriced_requests desc
        """,
        params,
    )
