with

source as (
    select * from {{ source('raw_gateway', 'bimo_gateway_requests') }}
),

renamed as (
    select
        'bimo-gateway' as source_format,
        'prod' as source_tag,
        request_id,
        started_at as requested_at,
        provider as provider_raw,
        model,
        response_model,
        coalesce(operation, 'chat') as operation,
        status = 'error' as is_error,
        error_type,
        http_status,
        duration_ms,
        ttft_ms,
        coalesce(gateway_cache_hit, false) as gateway_cache_hit,
        {{ uncached_input('input_tokens', 'cache_read_input_tokens', 'cache_write_input_tokens') }} as input_uncached_tokens,
        coalesce(cache_read_input_tokens, 0) as cache_read_tokens,
        coalesce(cache_write_input_tokens, 0) as cache_write_tokens,
        {{ visible_output('output_tokens', 'reasoning_tokens') }} as output_tokens,
        coalesce(reasoning_tokens, 0) as reasoning_tokens,
        team,
        project,
        environment,
        feature,
        api_key_id,
        user_id,
        cast(null as double) as reported_cost_usd
    from source
)

select * from renamed
