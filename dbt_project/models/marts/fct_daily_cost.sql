-- The shared daily spend mart: one row per day × source tag × every cost dimension.
-- AI rows from request logs (`dev`, `prod`: estimates), billing rows (`billing`: cloud and AI
-- invoices and cost APIs) and SaaS rows (service_category `saas`: `prod` = paid seats in the seat
-- snapshots × seat price, per day; `billing` = SaaS invoices spread evenly over the days of their
-- month, and GitHub billing usage net amounts). Never sum across source tags: they describe
-- overlapping spend.
with

-- the requests summed per day and dimension (fct_llm_cost_daily), not every request again
ai_requests as (
    select * from {{ ref('fct_llm_cost_daily') }}
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
        cast(sum(requests) as bigint) as requests,
        cast(sum(unpriced_requests) as bigint) as unpriced_requests
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

saas_seats as (
    select * from {{ ref('fct_saas_seats_daily') }}
),

saas_invoices as (
    select * from {{ ref('stg_saas__invoices') }}
),

github_usage as (
    select * from {{ ref('stg_saas__github_billing_usage') }}
),

rates as (
    select * from {{ ref('fx_rates') }}
),

saas_seat_daily as (
    select
        date as charge_date,
        'prod' as source_tag,
        'saas' as service_category,
        split_part(tool, '-', 1) as provider,
        tool as service,
        cast(null as varchar) as model,
        cast(null as varchar) as project,
        team,
        cast(null as varchar) as environment,
        cast(null as varchar) as feature,
        cast(null as varchar) as api_key_id,
        'Purchase' as charge_category,
        'USD' as currency,
        cast(sum(paid_seat_cost_usd) as decimal(38, 12)) as cost,
        cast(sum(paid_seat_cost_usd) as decimal(38, 12)) as cost_usd,
        cast(sum(paid_seat_cost_usd) as decimal(38, 12)) as effective_cost_usd,
        cast(sum(paid_seat_cost_usd) as decimal(38, 12)) as list_cost_usd,
        cast(null as bigint) as requests,
        cast(0 as bigint) as unpriced_requests
    from saas_seats
    group by date, tool, team
),

invoice_days as (
    select
        saas_invoices.*,
        cast(unnest(generate_series(
            cast(period_start as timestamp),
            cast(period_end as timestamp) - interval 1 day,
            interval 1 day
        )) as date) as charge_date,
        datediff('day', period_start, period_end) as period_days
    from saas_invoices
),

saas_invoice_daily as (
    select
        invoice_days.charge_date,
        'billing' as source_tag,
        'saas' as service_category,
        split_part(invoice_days.tool, '-', 1) as provider,
        invoice_days.tool as service,
        cast(null as varchar) as model,
        cast(null as varchar) as project,
        invoice_days.team,
        cast(null as varchar) as environment,
        cast(null as varchar) as feature,
        cast(null as varchar) as api_key_id,
        'Purchase' as charge_category,
        invoice_days.currency,
        cast(sum(invoice_days.amount / invoice_days.period_days) as decimal(38, 12)) as cost,
        -- NULL when the currency has no rate in fx_rates: never summed unconverted
        cast(sum(
            case
                when invoice_days.currency = 'USD' then invoice_days.amount
                else invoice_days.amount * rates.usd_per_unit
            end / invoice_days.period_days
        ) as decimal(38, 12)) as cost_usd,
        cast(null as decimal(38, 12)) as effective_cost_usd,
        cast(null as decimal(38, 12)) as list_cost_usd,
        cast(null as bigint) as requests,
        cast(0 as bigint) as unpriced_requests
    from invoice_days
    left join rates
        on invoice_days.currency = rates.currency and invoice_days.period_start = rates.month
    group by 1, 4, 5, 8, 13
),

-- A month of Copilot invoiced on its own is not counted again from GitHub's usage report.
github_usage_daily as (
    select
        github_usage.usage_date as charge_date,
        'billing' as source_tag,
        'saas' as service_category,
        'github' as provider,
        'github-' || lower(replace(trim(github_usage.product), ' ', '-')) as service,
        cast(null as varchar) as model,
        cast(null as varchar) as project,
        cast(null as varchar) as team,
        cast(null as varchar) as environment,
        cast(null as varchar) as feature,
        cast(null as varchar) as api_key_id,
        'Usage' as charge_category,
        'USD' as currency,
        cast(sum(github_usage.net_amount) as decimal(38, 12)) as cost,
        cast(sum(github_usage.net_amount) as decimal(38, 12)) as cost_usd,
        cast(sum(github_usage.net_amount) as decimal(38, 12)) as effective_cost_usd,
        cast(sum(github_usage.gross_amount) as decimal(38, 12)) as list_cost_usd,
        cast(null as bigint) as requests,
        cast(0 as bigint) as unpriced_requests
    from github_usage
    where not exists (
        select 1 from saas_invoices
        where saas_invoices.tool = 'github-' || lower(trim(github_usage.product))
            and github_usage.usage_date >= saas_invoices.period_start
            and github_usage.usage_date < saas_invoices.period_end
    )
    group by 1, 5
),

unioned as (
    select * from ai_daily
    union all
    select * from billing_daily
    union all
    select * from saas_seat_daily
    union all
    select * from saas_invoice_daily
    union all
    select * from github_usage_daily
)

select * from unioned
