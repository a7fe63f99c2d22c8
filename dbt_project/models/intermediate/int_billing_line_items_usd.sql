-- Billing line items in USD. The export's own rate wins; else the user's fx_rates seed for the
-- currency and month; USD is 1. A row with no rate keeps a NULL USD cost (x_fx_source 'missing').
with

items as (
    select * from {{ ref('stg_billing__line_items') }}
),

rates as (
    select * from {{ ref('fx_rates') }}
),

model_ids as (
    select * from {{ ref('int_model_catalogue_ids') }}
),

converted as (
    select
        items.*,
        coalesce(model_ids.catalogue_model_id, items.model) as x_model_key,
        case
            when items.billing_currency = 'USD' then 1.0
            when items.usd_exchange_rate is not null then items.usd_exchange_rate
            else rates.usd_per_unit
        end as x_usd_rate,
        case
            when items.billing_currency = 'USD' then 'usd'
            when items.usd_exchange_rate is not null then 'export'
            when rates.usd_per_unit is not null then 'rates_table'
            else 'missing'
        end as x_fx_source
    from items
    left join rates
        on items.billing_currency = rates.currency
        and date_trunc('month', items.charge_date) = rates.month
    left join model_ids
        on items.x_provider = model_ids.provider
        and items.model = model_ids.model_ref
)

select * from converted
