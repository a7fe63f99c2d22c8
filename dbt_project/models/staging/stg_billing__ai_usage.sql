with

coverage as (
    select delivery_key, delivery_id from {{ source('raw_billing', 'api_coverage') }}
),

-- API rows count only while their pull is the latest to cover their day (an empty re-pull of a
-- day clears it); rows of file sources have no coverage row and always count.
source as (
    select loaded.*
    from {{ source('raw_billing', 'ai_usage') }} as loaded
    left join coverage on loaded.delivery_key = coverage.delivery_key
    where coverage.delivery_key is null or loaded.delivery_id = coverage.delivery_id
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
