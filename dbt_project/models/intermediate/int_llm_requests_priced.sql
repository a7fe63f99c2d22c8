-- Estimated cost per request: normalised tokens × the price in force on the request's date,
-- at the tier its total input reaches. No price → NULL cost and pricing_status 'unpriced'.
{{
    config(
        materialized='incremental',
        incremental_strategy='window',
        unique_key='request_date',
        on_schema_change='fail',
        full_refresh=window_full_refresh(),
    )
}}

with

requests as (
    select * from {{ ref('int_llm_requests_unioned') }}
    {% if is_incremental() -%}
    where {{ in_window('request_date') }}
    {%- endif %}
),

prices as (
    select * from {{ ref('int_llm_prices') }}
),

candidates as (
    select
        requests.request_key,
        prices.*,
        row_number() over (
            partition by requests.request_key
            order by prices.priority, prices.tier_start_tokens desc
        ) as price_rank
    from requests
    inner join prices
        on requests.provider = prices.provider
        and requests.pricing_model = prices.model_ref
        and requests.request_date >= prices.valid_from
        and (prices.valid_to is null or requests.request_date < prices.valid_to)
        and requests.input_total_tokens >= prices.tier_start_tokens
),

chosen as (
    select * from candidates where price_rank = 1
),

priced as (
    select
        requests.*,
        case
            when requests.gateway_cache_hit then 'gateway_cache_hit'
            when chosen.request_key is null then 'unpriced'
            else 'priced'
        end as pricing_status,
        case
            when requests.gateway_cache_hit then 'gateway cache hit: provider not called'
            else chosen.price_source
        end as price_source,
        chosen.catalogue_model_id,
        case
            when requests.gateway_cache_hit then cast(0 as decimal(38, 15))
            when chosen.request_key is null then null
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
    left join chosen on requests.request_key = chosen.request_key
)

select * from priced
