with

source as (
    select * from {{ source('raw_billing', 'ai_usage') }}
),

renamed as (
    select
        source_system,
        provider,
        account_id,
        usage_date,
        project_id,
        api_key_id,
        model,
        service_tier,
        coalesce(input_uncached_tokens, 0) as input_uncached_tokens,
        coalesce(cache_read_tokens, 0) as cache_read_tokens,
        coalesce(cache_write_tokens, 0) as cache_write_tokens,
        coalesce(output_tokens, 0) as output_tokens,
        requests
    from source
)

select * from renamed
