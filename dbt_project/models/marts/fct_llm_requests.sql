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

priced as (
    select * from {{ ref('int_llm_requests_priced') }}
    {% if is_incremental() -%}
    where {{ in_window('request_date') }}
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
