{#- The body of `int_llm_requests_priced` (its header says how a price is chosen), for the
    view and for `fct_llm_requests`, which prices only its window's requests with it:
    `requests_filter`, a condition on `int_llm_requests_unioned`'s columns, applies where the
    requests are read, before their days are collected. A filter on the mart's result instead
    reaches only the rows: DuckDB then collects the days of every request ever logged. -#}
{% macro priced_requests(requests_filter=none) %}
with

-- Read twice (its days, then its rows): not materialized, so each read scans only the columns it
-- needs instead of buffering every request (which spilled to disk at 10M requests).
requests as not materialized (
    select * from {{ ref('int_llm_requests_unioned') }}
    {%- if requests_filter %}
    where {{ requests_filter }}
    {%- endif %}
),

prices as (
    select * from {{ ref('int_llm_prices') }}
),

-- The days each provider × pricing model was requested on (NULL keys can match no price).
request_days as (
    select distinct provider, pricing_model, request_date
    from requests
    where provider is not null and pricing_model is not null and request_date is not null
),

-- Every price in force on such a day.
day_prices as (
    select
        request_days.provider,
        request_days.pricing_model,
        request_days.request_date,
        prices.tier_start_tokens,
        prices.priority,
        prices.valid_from,
        prices.valid_to,
        prices.input_per_mtok,
        prices.cache_read_per_mtok,
        prices.cache_write_per_mtok,
        prices.output_per_mtok,
        prices.reasoning_per_mtok,
        prices.price_source,
        prices.catalogue_model_id
    from request_days
    inner join prices
        on request_days.provider = prices.provider
        and request_days.pricing_model = prices.model_ref
        and request_days.request_date >= prices.valid_from
        and (prices.valid_to is null or request_days.request_date < prices.valid_to)
    where prices.tier_start_tokens is not null
),

-- The day's input tiers: from each distinct tier start up to the next one (exclusive).
tiers as (
    select
        provider,
        pricing_model,
        request_date,
        tier_start_tokens as tier_from_tokens,
        lead(tier_start_tokens) over (
            partition by provider, pricing_model, request_date
            order by tier_start_tokens
        ) as tier_to_tokens
    from (
        select distinct provider, pricing_model, request_date, tier_start_tokens
        from day_prices
    )
),

-- Per tier, the best of the prices whose tier it reaches: override before catalogue, then the
-- highest tier start. Any remaining tie is broken on the price's own columns, so that one price
-- is chosen per tier and day, the same on every run.
candidates as (
    select
        tiers.provider,
        tiers.pricing_model,
        tiers.request_date,
        tiers.tier_from_tokens,
        tiers.tier_to_tokens,
        day_prices.input_per_mtok,
        day_prices.cache_read_per_mtok,
        day_prices.cache_write_per_mtok,
        day_prices.output_per_mtok,
        day_prices.reasoning_per_mtok,
        day_prices.price_source,
        day_prices.catalogue_model_id,
        row_number() over (
            partition by tiers.provider, tiers.pricing_model, tiers.request_date, tiers.tier_from_tokens
            order by
                day_prices.priority,
                day_prices.tier_start_tokens desc,
                day_prices.valid_from desc,
                day_prices.valid_to,
                day_prices.price_source,
                day_prices.catalogue_model_id,
                day_prices.input_per_mtok,
                day_prices.cache_read_per_mtok,
                day_prices.cache_write_per_mtok,
                day_prices.output_per_mtok,
                day_prices.reasoning_per_mtok
        ) as price_rank
    from tiers
    inner join day_prices
        on tiers.provider = day_prices.provider
        and tiers.pricing_model = day_prices.pricing_model
        and tiers.request_date = day_prices.request_date
        and day_prices.tier_start_tokens <= tiers.tier_from_tokens
),

chosen as (
    select * from candidates where price_rank = 1
),

priced as (
    select
        requests.*,
        case
            when requests.gateway_cache_hit then 'gateway_cache_hit'
            when chosen.tier_from_tokens is null then 'unpriced'
            else 'priced'
        end as pricing_status,
        case
            when requests.gateway_cache_hit then 'gateway cache hit: provider not called'
            else chosen.price_source
        end as price_source,
        chosen.catalogue_model_id,
        case
            when requests.gateway_cache_hit then cast(0 as decimal(38, 15))
            when chosen.tier_from_tokens is null then null
            else cast(
                (
                    cast(requests.input_uncached_tokens as decimal(38, 0)) * chosen.input_per_mtok
                    + cast(requests.cache_read_tokens as decimal(38, 0)) * chosen.cache_read_per_mtok
                    + cast(requests.cache_write_tokens as decimal(38, 0)) * chosen.cache_write_per_mtok
                    + cast(requests.output_tokens as decimal(38, 0)) * chosen.output_per_mtok
                    + cast(requests.reasoning_tokens as decimal(38, 0)) * chosen.reasoning_per_mtok
                ) * cast(0.000001 as decimal(7, 6))
                as decimal(38, 15)
            )
        end as estimated_cost_usd
    from requests
    -- at most one tier matches: tiers of a day do not overlap
    left join chosen
        on requests.provider = chosen.provider
        and requests.pricing_model = chosen.pricing_model
        and requests.request_date = chosen.request_date
        and requests.input_total_tokens >= chosen.tier_from_tokens
        and (chosen.tier_to_tokens is null or requests.input_total_tokens < chosen.tier_to_tokens)
)

select * from priced
{% endmacro %}
