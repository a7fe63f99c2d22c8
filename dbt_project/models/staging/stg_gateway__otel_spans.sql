with

source as (
    select * from {{ source('raw_gateway', 'otel_genai_spans') }}
),

renamed as (
    select
        'otel-genai' as source_format,
        'prod' as source_tag,
        request_id,
        start_time as requested_at,
        provider_name as provider_raw,
        coalesce(request_model, response_model) as model,
        response_model,
        coalesce(operation_name, 'chat') as operation,
        is_error,
        error_type,
        cast(null as bigint) as http_status,
        cast(epoch_ms(end_time) - epoch_ms(start_time) as bigint) as duration_ms,
        ttft_ms,
        false as gateway_cache_hit,
        {{ uncached_input('input_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens') }} as input_uncached_tokens,
        coalesce(cache_read_input_tokens, 0) as cache_read_tokens,
        coalesce(cache_creation_input_tokens, 0) as cache_write_tokens,
        {{ visible_output('output_tokens', 'reasoning_output_tokens') }} as output_tokens,
        coalesce(reasoning_output_tokens, 0) as reasoning_tokens,
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
