with

source as (
    select * from {{ source('raw_gateway', 'cli_log_usage') }}
),

renamed as (
    select
        'cli-log' as source_format,
        'dev' as source_tag,
        request_id,
        occurred_at as requested_at,
        provider as provider_raw,
        model,
        cast(null as varchar) as response_model,
        'chat' as operation,
        coalesce(is_error, false) as is_error,
        cast(null as varchar) as error_type,
        cast(null as bigint) as http_status,
        duration_ms,
        cast(null as bigint) as ttft_ms,
        false as gateway_cache_hit,
        -- Anthropic semantics: input_tokens already exclude cache reads and writes.
        coalesce(input_tokens, 0) as input_uncached_tokens,
        coalesce(cache_read_input_tokens, 0) as cache_read_tokens,
        coalesce(cache_creation_input_tokens, 0) as cache_write_tokens,
        {{ visible_output('output_tokens', 'reasoning_tokens') }} as output_tokens,
        coalesce(reasoning_tokens, 0) as reasoning_tokens,
        team,
        project,
        'dev' as environment,
        coalesce(feature, tool) as feature,
        cast(null as varchar) as api_key_id,
        developer as user_id,
        cost_usd as reported_cost_usd
    from source
)

select * from renamed
