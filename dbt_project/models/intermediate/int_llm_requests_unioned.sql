-- A view: the windowed mart `fct_llm_requests` reads it with its window's filter, so a windowed
-- run computes only its days and a full build computes every request once, in the mart. As a
-- table it held one more copy of every request (0.67 GiB of 2.7 GiB at 10M requests), which
-- every build wrote and every publish copied. Its key's `unique` test is on the mart.
{{ config(materialized='view') }}

with

bimo_gateway as (
    select * from {{ ref('stg_gateway__bimo_requests') }}
),

litellm as (
    select * from {{ ref('stg_gateway__litellm_spend_logs') }}
),

otel as (
    select * from {{ ref('stg_gateway__otel_spans') }}
),

cli as (
    select * from {{ ref('stg_gateway__cli_usage') }}
),

aliases as (
    select * from {{ ref('provider_aliases') }}
),

unioned as (
    select * from bimo_gateway
    union all
    select * from litellm
    union all
    select * from otel
    union all
    select * from cli
),

final as (
    select
        unioned.source_format || ':' || unioned.request_id as request_key,
        unioned.request_id,
        unioned.source_format,
        unioned.source_tag,
        unioned.requested_at,
        {{ utc_date('unioned.requested_at') }} as request_date,
        coalesce(aliases.provider, lower(unioned.provider_raw), 'unknown') as provider,
        unioned.provider_raw,
        coalesce(aliases.prices_provider_id, lower(unioned.provider_raw)) as prices_provider_id,
        coalesce(aliases.service, coalesce(lower(unioned.provider_raw), 'unknown') || ' API') as service,
        coalesce(unioned.model, 'unknown') as model,
        unioned.response_model,
        coalesce(unioned.response_model, unioned.model) as pricing_model,
        unioned.operation,
        unioned.is_error,
        unioned.error_type,
        unioned.http_status,
        unioned.duration_ms,
        unioned.ttft_ms,
        unioned.gateway_cache_hit,
        unioned.input_uncached_tokens,
        unioned.cache_read_tokens,
        unioned.cache_write_tokens,
        unioned.output_tokens,
        unioned.reasoning_tokens,
        unioned.input_uncached_tokens + unioned.cache_read_tokens + unioned.cache_write_tokens
            as input_total_tokens,
        unioned.input_uncached_tokens + unioned.cache_read_tokens + unioned.cache_write_tokens
            + unioned.output_tokens + unioned.reasoning_tokens as total_tokens,
        unioned.team,
        unioned.project,
        unioned.environment,
        unioned.feature,
        unioned.api_key_id,
        unioned.user_id,
        unioned.reported_cost_usd
    from unioned
    left join aliases on lower(unioned.provider_raw) = aliases.alias
)

select * from final
