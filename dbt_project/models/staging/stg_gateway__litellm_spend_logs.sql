with

source as (
    select * from {{ source('raw_gateway', 'litellm_spend_logs') }}
),

renamed as (
    select
        'litellm' as source_format,
        'prod' as source_tag,
        request_id,
        start_time as requested_at,
        -- LiteLLM may prefix the model with its provider route ("openai/gpt-4o").
        coalesce(custom_llm_provider, nullif(split_part(model, '/', 1), model)) as provider_raw,
        case
            when custom_llm_provider is not null and starts_with(model, custom_llm_provider || '/')
                then substr(model, length(custom_llm_provider) + 2)
            when custom_llm_provider is null and contains(model, '/')
                then substr(model, strpos(model, '/') + 1)
            else model
        end as model,
        cast(null as varchar) as response_model,
        case
            when call_type like '%embedding%' then 'embeddings'
            when call_type like '%image%' then 'image_generation'
            when call_type like '%transcription%' then 'transcription'
            else 'chat'
        end as operation,
        coalesce(status = 'failure', false) as is_error,
        cast(null as varchar) as error_type,
        cast(null as bigint) as http_status,
        coalesce(
            request_duration_ms,
            cast(epoch_ms(end_time) - epoch_ms(start_time) as bigint)
        ) as duration_ms,
        cast(epoch_ms(completion_start_time) - epoch_ms(start_time) as bigint) as ttft_ms,
        coalesce(cache_hit, false) as gateway_cache_hit,
        {{ uncached_input('prompt_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens') }} as input_uncached_tokens,
        coalesce(cache_read_input_tokens, 0) as cache_read_tokens,
        coalesce(cache_creation_input_tokens, 0) as cache_write_tokens,
        {{ visible_output('completion_tokens', 'reasoning_tokens') }} as output_tokens,
        coalesce(reasoning_tokens, 0) as reasoning_tokens,
        coalesce(team_alias, team_id) as team,
        project,
        environment,
        feature,
        api_key as api_key_id,
        coalesce(user_id, end_user) as user_id,
        spend as reported_cost_usd
    from source
)

select * from renamed
