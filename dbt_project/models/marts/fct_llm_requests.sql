{{
    config(
        materialized='incremental',
        incremental_strategy='window',
        unique_key='request_date',
        on_schema_change='fail',
        full_refresh=window_full_refresh(),
    )
}}

-- depends_on: {{ ref('int_llm_requests_unioned') }}, {{ ref('int_llm_prices') }}

with

-- A windowed run prices its window's requests only: `priced_requests` (the view's SQL) reads them
-- on their timestamp, which DuckDB prunes the raw tables by (request_date is computed from it).
priced as (
    {% if is_incremental() -%}
    {{ priced_requests(request_in_window()) }}
    {%- else -%}
    select * from {{ ref('int_llm_requests_priced') }}
    {%- endif %}
),

final as (
    select
        request_key,
        request_id,
        source_format,
        source_tag,
        requested_at,
        request_date,
        provider,
        provider_raw,
        service,
        model,
        response_model,
        operation,
        is_error,
        error_type,
        http_status,
        duration_ms,
        ttft_ms,
        gateway_cache_hit,
        input_uncached_tokens,
        cache_read_tokens,
        cache_write_tokens,
        output_tokens,
        reasoning_tokens,
        input_total_tokens,
        total_tokens,
        team,
        project,
        environment,
        feature,
        api_key_id,
        user_id,
        pricing_status,
        price_source,
        catalogue_model_id,
        'USD' as currency,
        estimated_cost_usd,
        reported_cost_usd
    from priced
)

select * from final
