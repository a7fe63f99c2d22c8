{{
    config(
        materialized='incremental',
        incremental_strategy='window',
        unique_key='usage_date',
        on_schema_change='fail',
        full_refresh=window_full_refresh(),
    )
}}

with

requests as (
    select * from {{ ref('fct_llm_requests') }}
    {% if is_incremental() -%}
    where {{ in_window('request_date') }}
    {%- endif %}
),

daily as (
    select
        request_date as usage_date,
        provider,
        model,
        project,
        team,
        environment,
        feature,
        api_key_id,
        source_tag,
        count(*) as requests,
        count(*) filter (where is_error) as error_requests,
        cast(sum(input_uncached_tokens) as bigint) as input_uncached_tokens,
        cast(sum(cache_read_tokens) as bigint) as cache_read_tokens,
        cast(sum(cache_write_tokens) as bigint) as cache_write_tokens,
        cast(sum(output_tokens) as bigint) as output_tokens,
        cast(sum(reasoning_tokens) as bigint) as reasoning_tokens,
        cast(sum(total_tokens) as bigint) as total_tokens,
        percentile_cont(0.5) within group (order by duration_ms) as latency_p50_ms,
        percentile_cont(0.95) within group (order by duration_ms) as latency_p95_ms,
        -- NULL when every request of the group is unpriced: never a silent $0.
        sum(estimated_cost_usd) as estimated_cost_usd,
        -- Exact decimal sums: a double sum depends on aggregation order, so reruns would differ.
        cast(sum(cast(reported_cost_usd as decimal(38, 18))) as decimal(38, 18)) as reported_cost_usd,
        count(*) filter (where pricing_status = 'unpriced') as unpriced_requests,
        count(*) filter (where gateway_cache_hit) as gateway_cache_hits
    from requests
    group by
        request_date,
        provider,
        model,
        project,
        team,
        environment,
        feature,
        api_key_id,
        source_tag
)

select * from daily
