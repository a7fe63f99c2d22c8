-- The shared daily spend mart: one row per day × source tag × every cost dimension.
-- AI rows from request logs (`dev`, `prod`: estimates) and billing rows (`billing`: cloud and AI
-- invoices and cost APIs). Never sum across source tags: they describe overlapping spend.
with

ai_requests as (
    select * from {{ ref('fct_llm_requests') }}
),

billing_items as (
    select * from {{ ref('fct_cost_line_items') }}
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
        'Usage' as charge_category,
        currency,
        cast(sum(estimated_cost_usd) as decimal(38, 12)) as cost,
        cast(sum(estimated_cost_usd) as decimal(38, 12)) as cost_usd,
        cast(sum(estimated_cost_usd) as decimal(38, 12)) as effective_cost_usd,
        cast(sum(estimated_cost_usd) as decimal(38, 12)) as list_cost_usd,
        count(*) as requests,
        count(*) filter (where pricing_status = 'unpriced') as unpriced_requests
    from ai_requests
    group by
        request_date, source_tag, provider, service, model, project, team, environment, feature,
        api_key_id, currency
),

billing_daily as (
    select
        charge_date,
        source_tag,
        x_service_category as service_category,
        x_provider as provider,
        service_name as service,
        x_model_key as model,
        x_project as project,
        x_team as team,
        x_environment as environment,
        cast(null as varchar) as feature,
        cast(null as varchar) as api_key_id,
        charge_category,
        billing_currency as currency,
        cast(sum(billed_cost) as decimal(38, 12)) as cost,
        -- NULL when the currency has no rate: never summed unconverted.
        cast(sum(cost_usd) as decimal(38, 12)) as cost_usd,
        cast(sum(effective_cost_usd) as decimal(38, 12)) as effective_cost_usd,
        cast(sum(list_cost_usd) as decimal(38, 12)) as list_cost_usd,
        cast(null as bigint) as requests,
        cast(0 as bigint) as unpriced_requests
    from billing_items
    group by
        charge_date, source_tag, x_service_category, x_provider, service_name, x_model_key,
        x_project, x_team, x_environment, charge_category, billing_currency
),

unioned as (
    select * from ai_daily
    union all
    select * from billing_daily
)

select * from unioned
