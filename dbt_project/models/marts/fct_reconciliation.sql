-- prod estimates (gateway logs × catalogue prices) vs billing actuals (cost APIs, cloud AI lines),
-- per provider × model × day, per provider × day (model NULL = all models), and per month.
-- The variance (billing − prod) is split into parts that add up to it exactly:
--   unlogged        tokens the provider billed beyond those logged, at the logged average price
--                   (all of the billed usage when nothing at all was logged for that key)
--   token_category  list value of the billed tokens minus the estimate, minus the unlogged part
--   price           billed usage minus the list value of the billed tokens (discounts, rate cards)
--   credits_tax_fees  credits, tax, purchases and adjustments (non-Usage rows)
--   fx              the currency-conversion part of non-USD rows
--   unexplained     what is left; only non-zero where no usage API data gives billed tokens.
-- Only providers with billing data, and only days inside each provider's billed range.
with

requests as (
    select * from {{ ref('fct_llm_requests') }} where source_tag = 'prod'
),

items as (
    select * from {{ ref('fct_cost_line_items') }} where x_service_category = 'ai'
),

usage as (
    select * from {{ ref('stg_billing__ai_usage') }}
),

model_ids as (
    select * from {{ ref('int_model_catalogue_ids') }}
),

list_prices as (
    select * from {{ ref('int_llm_prices') }} where priority = 1 and tier_start_tokens = 0
),

billed_range as (
    select x_provider as billed_provider, min(charge_date) as first_day, max(charge_date) as last_day
    from items
    group by x_provider
),

prod_daily as (
    select
        request_date as day,
        provider,
        coalesce(catalogue_model_id, model) as model,
        sum(estimated_cost_usd) as prod_usd,
        count(*) as prod_requests,
        sum(total_tokens) as logged_tokens
    from requests
    group by 1, 2, 3
),

billing_daily as (
    select
        charge_date as day,
        x_provider as provider,
        x_model_key as model,
        sum(cost_usd) filter (where charge_category = 'Usage') as usage_usd,
        sum(cost_usd) filter (where charge_category <> 'Usage') as other_usd,
        sum(cost_usd - billed_cost) filter (
            where charge_category = 'Usage' and billing_currency <> 'USD'
        ) as fx_usage_usd,
        sum(cost_usd - billed_cost) filter (
            where charge_category <> 'Usage' and billing_currency <> 'USD'
        ) as fx_other_usd,
        count(*) as billing_line_items
    from items
    group by 1, 2, 3
),

usage_daily as (
    select
        usage.usage_date as day,
        usage.provider,
        coalesce(model_ids.catalogue_model_id, usage.model) as model,
        sum(
            usage.input_uncached_tokens + usage.cache_read_tokens
            + usage.cache_write_tokens + usage.output_tokens
        ) as billed_tokens,
        sum(
            (
                usage.input_uncached_tokens * prices.input_per_mtok
                + usage.cache_read_tokens * prices.cache_read_per_mtok
                + usage.cache_write_tokens * prices.cache_write_per_mtok
                + usage.output_tokens * prices.output_per_mtok
            ) * cast(0.000001 as decimal(7, 6))
        ) as billed_tokens_list_usd
    from usage
    left join model_ids
        on usage.provider = model_ids.provider and usage.model = model_ids.model_ref
    left join list_prices as prices
        on usage.provider = prices.provider
        and usage.model = prices.model_ref
        and usage.usage_date >= prices.valid_from
        and (prices.valid_to is null or usage.usage_date < prices.valid_to)
    group by 1, 2, 3
),

keys as (
    select day, provider, model from prod_daily
    union
    select day, provider, model from billing_daily
    union
    select day, provider, model from usage_daily
),

daily as (
    select
        keys.day,
        keys.provider,
        keys.model,
        coalesce(prod_daily.prod_usd, 0) as prod_usd,
        coalesce(billing_daily.usage_usd, 0) as usage_usd,
        coalesce(billing_daily.other_usd, 0) as other_usd,
        coalesce(billing_daily.fx_usage_usd, 0) as fx_usage_usd,
        coalesce(billing_daily.fx_other_usd, 0) as fx_other_usd,
        usage_daily.billed_tokens is not null and usage_daily.billed_tokens_list_usd is not null
            as has_usage,
        coalesce(usage_daily.billed_tokens, 0) as billed_tokens,
        coalesce(usage_daily.billed_tokens_list_usd, 0) as list_usd,
        coalesce(prod_daily.logged_tokens, 0) as logged_tokens,
        coalesce(prod_daily.prod_requests, 0) as prod_requests,
        coalesce(billing_daily.billing_line_items, 0) as billing_line_items
    from keys
    inner join billed_range
        on keys.provider = billed_range.billed_provider
        and keys.day between billed_range.first_day and billed_range.last_day
    left join prod_daily
        on keys.day = prod_daily.day and keys.provider = prod_daily.provider
        and keys.model is not distinct from prod_daily.model
    left join billing_daily
        on keys.day = billing_daily.day and keys.provider = billing_daily.provider
        and keys.model is not distinct from billing_daily.model
    left join usage_daily
        on keys.day = usage_daily.day and keys.provider = usage_daily.provider
        and keys.model is not distinct from usage_daily.model
),

parts as (
    select
        day,
        provider,
        model,
        prod_usd,
        usage_usd + other_usd as billing_usd,
        case
            -- nothing logged at all: the whole billed usage is traffic missing from the logs
            when prod_usd = 0 and logged_tokens = 0 then usage_usd - fx_usage_usd
            when not has_usage then 0
            when logged_tokens > 0 then (billed_tokens - logged_tokens) * prod_usd / logged_tokens
            else list_usd
        end as unlogged_usd,
        list_usd,
        has_usage,
        logged_tokens,
        usage_usd - fx_usage_usd as usage_nominal_usd,
        other_usd - fx_other_usd as credits_tax_fees_usd,
        fx_usage_usd + fx_other_usd as fx_usd,
        prod_requests,
        billing_line_items
    from daily
),

model_day as (
    select
        'day' as period_grain,
        day as period_start,
        provider,
        coalesce(model, '(no model)') as model,
        prod_usd,
        billing_usd,
        unlogged_usd,
        case
            when has_usage and not (prod_usd = 0 and logged_tokens = 0)
                then list_usd - prod_usd - unlogged_usd
            else 0
        end as token_category_usd,
        case
            when has_usage and not (prod_usd = 0 and logged_tokens = 0)
                then usage_nominal_usd - list_usd
            else 0
        end as price_usd,
        credits_tax_fees_usd,
        fx_usd,
        prod_requests,
        billing_line_items
    from parts
),

rolled as (
    select * from model_day
    union all
    select
        'day', period_start, provider, null, sum(prod_usd), sum(billing_usd), sum(unlogged_usd),
        sum(token_category_usd), sum(price_usd), sum(credits_tax_fees_usd), sum(fx_usd),
        sum(prod_requests), sum(billing_line_items)
    from model_day
    group by period_start, provider
),

with_months as (
    select * from rolled
    union all
    select
        'month', date_trunc('month', period_start), provider, model, sum(prod_usd),
        sum(billing_usd), sum(unlogged_usd), sum(token_category_usd), sum(price_usd),
        sum(credits_tax_fees_usd), sum(fx_usd), sum(prod_requests), sum(billing_line_items)
    from rolled
    group by date_trunc('month', period_start), provider, model
),

final as (
    select
        period_grain,
        cast(period_start as date) as period_start,
        provider,
        model,
        cast(prod_usd as decimal(38, 12)) as prod_estimate_usd,
        cast(billing_usd as decimal(38, 12)) as billing_usd,
        cast(billing_usd - prod_usd as decimal(38, 12)) as variance_usd,
        cast((billing_usd - prod_usd) / nullif(billing_usd, 0) as double) as variance_pct,
        cast(unlogged_usd as decimal(38, 12)) as gap_unlogged_usd,
        cast(price_usd as decimal(38, 12)) as gap_price_usd,
        cast(token_category_usd as decimal(38, 12)) as gap_token_category_usd,
        cast(credits_tax_fees_usd as decimal(38, 12)) as gap_credits_tax_fees_usd,
        cast(fx_usd as decimal(38, 12)) as gap_fx_usd,
        cast(
            (billing_usd - prod_usd) - unlogged_usd - token_category_usd - price_usd
            - credits_tax_fees_usd - fx_usd
            as decimal(38, 12)
        ) as gap_unexplained_usd,
        cast(prod_requests as bigint) as prod_requests,
        cast(billing_line_items as bigint) as billing_line_items
    from with_months
)

select * from final
