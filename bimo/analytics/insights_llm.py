"""Insight rules on single requests (`marts.fct_llm_requests`): a model that costs several times
what a model with a similar token profile costs in the same feature, and models with no price.

Thresholds are `bimo.analytics.insights`' constants, passed in.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from bimo.analytics.insight_rows import Insight, count, usd

# Priced, successful requests of the period, scoped to their feature (else their project).
_REQUESTS = """
    select
        request_key, source_tag, provider, model, catalogue_model_id,
        coalesce(response_model, model) as pricing_model,
        if(feature is null, 'project', 'feature') as scope_type,
        coalesce(feature, project) as scope,
        coalesce(input_uncached_tokens, 0) as input_uncached_tokens,
        coalesce(cache_read_tokens, 0) as cache_read_tokens,
        coalesce(cache_write_tokens, 0) as cache_write_tokens,
        coalesce(output_tokens, 0) as output_tokens,
        coalesce(reasoning_tokens, 0) as reasoning_tokens,
        coalesce(input_total_tokens, 0) as input_total_tokens,
        estimated_cost_usd as cost
    from marts.fct_llm_requests
    where request_date between $start and $through and pricing_status = 'priced'
        and not coalesce(is_error, false) and coalesce(feature, project) is not null
"""

# Exact (decimal) sums and ties broken by name: the same requests always give the same numbers.
# Aggregated in two steps (per name pair, then per model) rather than with window counts over
# every request: the same figures without sorting the period's requests.
_KEYS = "source_tag, scope_type, scope, provider, model"
_SAME_KEYS = " and ".join(f"a.{k} is not distinct from b.{k}" for k in _KEYS.split(", "))
_MODEL_STATS = f"""
    with requests as ({_REQUESTS}),
    names as (
        select
            {_KEYS}, pricing_model, catalogue_model_id,
            count(*) as n,
            sum(input_total_tokens) as input_tokens,
            sum(output_tokens + reasoning_tokens) as output_tokens,
            sum(cost) as cost
        from requests
        group by all
    ),
    stats as (
        select
            {_KEYS},
            sum(n) as requests,
            sum(input_tokens)::double / sum(n) as mean_input,
            sum(output_tokens)::double / sum(n) as mean_output,
            sum(cost)::double as cost,
            sum(cost)::double / sum(n) as cost_per_request
        from names
        group by all
        having sum(n) >= $min_requests
    ),
    pricing_models as (
        select {_KEYS}, first(pricing_model order by n desc, pricing_model) as pricing_model
        from (select {_KEYS}, pricing_model, sum(n) as n from names group by all)
        group by all
    ),
    catalogue_ids as (
        select
            {_KEYS},
            first(catalogue_model_id order by n desc, catalogue_model_id) as catalogue_model_id
        from (select {_KEYS}, catalogue_model_id, sum(n) as n from names group by all)
        group by all
    )
    select a.*, b.pricing_model, c.catalogue_model_id
    from stats as a
    inner join pricing_models as b on {_SAME_KEYS}
    inner join catalogue_ids as c on {_SAME_KEYS.replace("b.", "c.")}
"""

# The same requests at the candidate's prices in force on the last day (its tier by their input).
# A request's price row is the first, by priority and then the highest tier start, of the rows
# whose tier starts at or below its input tokens. Requests between two of the candidate's tier
# starts have the same rows to choose from, so the requests are summed per pair and tier band
# first (an ASOF join puts each in its band) and priced once per band: the tokens times the
# prices, summed, are the same decimals as the requests priced one by one, without ranking the
# prices of every request of the period.
_REPRICED = f"""
    with requests as ({_REQUESTS}),
    prices as (
        select * from intermediate.int_llm_prices
        where valid_from <= $through and (valid_to is null or $through < valid_to)
    ),
    bands as (
        select distinct pairs.pair, prices.tier_start_tokens as band
        from insight_pairs as pairs
        inner join prices
            on prices.provider = pairs.provider_cand
            and prices.model_ref = pairs.pricing_model_cand
    ),
    pair_requests as (
        select pairs.pair, requests.*
        from insight_pairs as pairs
        inner join requests
            on requests.source_tag = pairs.source_tag and requests.scope_type = pairs.scope_type
            and requests.scope = pairs.scope and requests.provider = pairs.provider
            and requests.model = pairs.model
    ),
    banded as (
        select
            pair_requests.pair,
            bands.band,
            count(*) as requests,
            sum(pair_requests.cost) as cost,
            sum(input_uncached_tokens)::decimal(38, 0) as input_uncached_tokens,
            sum(cache_read_tokens)::decimal(38, 0) as cache_read_tokens,
            sum(cache_write_tokens)::decimal(38, 0) as cache_write_tokens,
            sum(output_tokens)::decimal(38, 0) as output_tokens,
            sum(reasoning_tokens)::decimal(38, 0) as reasoning_tokens
        from pair_requests
        asof inner join bands
            on pair_requests.pair = bands.pair and pair_requests.input_total_tokens >= bands.band
        group by all
    ),
    repriced as (
        select
            banded.pair,
            banded.requests,
            banded.cost,
            banded.input_uncached_tokens * prices.input_per_mtok
            + banded.cache_read_tokens * prices.cache_read_per_mtok
            + banded.cache_write_tokens * prices.cache_write_per_mtok
            + banded.output_tokens * prices.output_per_mtok
            + banded.reasoning_tokens * prices.reasoning_per_mtok as candidate_cost_per_mtok,
            prices.price_source,
            row_number() over (
                partition by banded.pair, banded.band
                order by prices.priority, prices.tier_start_tokens desc
            ) as price_rank
        from banded
        inner join insight_pairs as pairs on pairs.pair = banded.pair
        inner join prices
            on prices.provider = pairs.provider_cand
            and prices.model_ref = pairs.pricing_model_cand
            and banded.band >= prices.tier_start_tokens
    )
    select
        pair,
        sum(requests) as repriced_requests,
        sum(cost)::double as cost,
        sum(candidate_cost_per_mtok)::double / 1e6 as candidate_cost,
        string_agg(distinct price_source, ', ' order by price_source) as price_source
    from repriced where price_rank = 1 group by pair
"""


def expensive_models(
    con: duckdb.DuckDBPyConnection, start: date, through: date, *, ratio: float,
    tolerance: float, min_requests: int, days_per_month: float,
) -> list[Insight]:  # fmt: skip
    """Per tag and feature (else project): a model whose cost per request is more than `ratio`
    times another's whose mean input and mean output tokens per request are each within
    ±`tolerance` of its own (both ways); the candidate that saves most at its catalogue prices
    names the saving."""
    params = {"start": start, "through": through}
    stats = con.sql(_MODEL_STATS, params={**params, "min_requests": min_requests}).pl()
    keys = ["source_tag", "scope_type", "scope"]
    # Each within ±tolerance of the other: the larger at most (1 + tolerance) × the smaller.
    near = lambda c: (  # noqa: E731
        (pl.col(f"{c}_cand") - pl.col(c)).abs() <= tolerance * pl.min_horizontal(c, f"{c}_cand")
    )
    pairs = (
        stats.join(stats, on=keys, suffix="_cand")
        .filter(
            (pl.col("model") != pl.col("model_cand"))
            | (pl.col("provider") != pl.col("provider_cand")),
            pl.col("cost_per_request_cand") > 0,
            pl.col("cost_per_request") > ratio * pl.col("cost_per_request_cand"),
            near("mean_input"),
            near("mean_output"),
        )
        .with_row_index("pair")
    )
    if pairs.is_empty():
        return []
    con.register("insight_pairs", pairs.select("pair", *keys, "provider", "model",
                                               "provider_cand", "pricing_model_cand"))  # fmt: skip
    try:
        repriced = con.sql(_REPRICED, params=params).pl()
    finally:
        con.unregister("insight_pairs")
    days = dict(con.sql("select source_tag, count(distinct request_date) from "
                        "marts.fct_llm_requests where request_date between $start and $through "
                        "group by 1", params=params).fetchall())  # fmt: skip
    best = (
        pairs.join(repriced.rename({"cost": "repriced_cost"}), on="pair")
        .with_columns(saving=pl.col("repriced_cost") - pl.col("candidate_cost"))
        .filter(pl.col("saving") > 0)
        .sort("saving", "model_cand", descending=[True, False])
        .unique([*keys, "provider", "model"], keep="first", maintain_order=True)
    )
    out = []
    for r in best.iter_rows(named=True):
        x = r["cost_per_request"] / r["cost_per_request_cand"]
        times = f"{x:.2f}×" if x < 10 else f"{x:.1f}×"
        monthly = r["saving"] / max(days.get(r["source_tag"], 1), 1) * days_per_month
        model, cand = f"{r['provider']}/{r['model']}", f"{r['provider_cand']}/{r['model_cand']}"
        scope = f"{r['scope_type']} {r['scope']!r}"
        out.append(Insight(
            kind="expensive_model", source_tag=r["source_tag"], period=(start, through),
            subject_type="model", subject=model, scope=f"{r['scope_type']}={r['scope']}",
            title=f"{r['model']} costs {times} {r['model_cand']} per request in {scope}",
            explanation=(
                f"In {scope} ({r['source_tag']}, {start} to {through}), {model} cost "
                f"{usd(r['cost_per_request'])} per request over {count(r['requests'])} requests, "
                f"{times} the {usd(r['cost_per_request_cand'])} of {cand} (threshold: "
                f"{ratio:g}×), with a similar token profile: {count(r['mean_input'])} vs "
                f"{count(r['mean_input_cand'])} input and {count(r['mean_output'])} vs "
                f"{count(r['mean_output_cand'])} output tokens per request (within "
                f"±{tolerance:.0%}). The same tokens at {r['model_cand']}'s prices "
                f"({r['price_source']}) would have cost {usd(r['candidate_cost'])} instead of "
                f"{usd(r['repriced_cost'])}: about {usd(monthly)} a month less."
            ),
            metric="cost_per_request_ratio", value=x, threshold=ratio, impact=monthly,
            evidence={
                "scope": {r["scope_type"]: r["scope"]}, "requests": r["requests"],
                "cost_usd": r["repriced_cost"], "cost_at_candidate_prices_usd":
                r["candidate_cost"], "saving_usd": r["saving"], "days_with_requests":
                days.get(r["source_tag"]), "price_source": r["price_source"],
                "model": _profile(r, ""), "candidate": _profile(r, "_cand"),
            },
        ))  # fmt: skip
    return out


def _profile(r: dict, suffix: str) -> dict:
    names = ("provider", "model", "catalogue_model_id", "pricing_model", "requests",
             "mean_input", "mean_output", "cost_per_request")  # fmt: skip
    return {n: r[n + suffix] for n in names}


def unpriced_models(
    con: duckdb.DuckDBPyConnection, start: date, through: date, *, shares: tuple[float, float]
) -> list[Insight]:
    """Every model with unpriced requests in the period: how many, and that their cost is
    unknown (NULL), never $0. Severity: their share of the tag's requests against `shares`."""
    rows = con.sql(
        """
        with requests as (
            select *, count(*) over (partition by source_tag) as tag_requests
            from marts.fct_llm_requests where request_date between $start and $through
        )
        select source_tag, provider, model, any_value(tag_requests) as tag_requests,
               count(*) as requests, min(request_date) as first_day, max(request_date) as last_day,
               coalesce(sum(input_total_tokens), 0)::bigint as input_tokens,
               (coalesce(sum(output_tokens), 0) + coalesce(sum(reasoning_tokens), 0))::bigint
                   as output_tokens,
               sum(reported_cost_usd) as reported_cost_usd,
               count(reported_cost_usd) as reported_requests,
               list(distinct feature order by feature) filter (where feature is not null)
                   as features
        from requests where pricing_status = 'unpriced'
        group by source_tag, provider, model order by all
        """,
        params={"start": start, "through": through},
    ).pl()
    out = []
    for r in rows.iter_rows(named=True):
        n, tag, share = r["requests"], r["source_tag"], r["requests"] / r["tag_requests"]
        reported = r["reported_cost_usd"]
        out.append(Insight(
            kind="unpriced_model", source_tag=tag, period=(start, through),
            subject_type="model", subject=f"{r['provider']}/{r['model']}",
            title=f"{count(n)} {tag} requests to {r['model']} have no price",
            explanation=(
                f"{count(n)} {tag} requests to {r['model']} ({r['provider']}) from "
                f"{r['first_day']} to {r['last_day']} ({share:.1%} of the tag's requests; "
                "threshold: any) match no price in the catalogue or in "
                "dbt_project/seeds/price_overrides.csv: their cost is NULL (unknown), not $0, "
                f"so {tag} totals leave them out"
                + (f" (their logs report {usd(reported)})" if reported else "")
                + ". Add the model's prices to price_overrides.csv."
            ),
            metric="unpriced_requests", value=float(n), threshold=0.0, impact=None,
            severity="high" if share >= shares[0] else "medium" if share >= shares[1] else "low",
            evidence={
                "requests": n, "share_of_tag_requests": share, "input_tokens":
                r["input_tokens"], "output_tokens": r["output_tokens"],
                "reported_cost_usd": reported, "reported_requests": r["reported_requests"],
                "features": r["features"], "cost_usd": None,
            },
        ))  # fmt: skip
    return out
