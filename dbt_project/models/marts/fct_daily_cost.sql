-- The shared daily spend mart: one row per day × source tag × every cost dimension.
-- AI rows come from request logs here; cloud and SaaS sources add their own rows.
with

ai_requests as (
    select * from {{ ref('fct_llm_requests') }}
),

ai_daily as (
    select
        request_date as charge_date,
        source_tag,
        'ai' as service_category,
        provider,
        service,
        model,
        project,
        team,
        environment,
        feature,
        api_key_id,
        currency,
        cast(sum(estimated_cost_usd) as decimal(38, 12)) as cost,
        cast(sum(estimated_cost_usd) as decimal(38, 12)) as cost_usd,
        count(*) as requests,
        count(*) filter (where pricing_status = 'unpriced') as unpriced_requests
    from ai_requests
    group by
        request_date,
        source_tag,
        provider,
        service,
        model,
        project,
        team,
        environment,
        feature,
        api_key_id,
        currency
)

select * from ai_daily
