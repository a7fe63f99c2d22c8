-- Billing line items in USD. The export's own rate wins; else the user's fx_rates seed for the
-- currency and month; USD is 1. A row with no rate keeps a NULL USD cost (x_fx_source 'missing').
-- One charge, never two: when an AWS account's billing period arrives both as a FOCUS export and
-- as a CUR, the ledger keeps the FOCUS rows.
with

all_items as (
    select * from {{ ref('stg_billing__line_items') }}
),

focus_periods as (
    select distinct billing_account_id, billing_period_start
    from all_items
    where source_system = 'focus' and x_provider in ('aws', 'aws_bedrock')
),

items as (
    select all_items.*
    from all_items
    left join focus_periods
        on all_items.billing_account_id = focus_periods.billing_account_id
        and all_items.billing_period_start = focus_periods.billing_period_start
    where not (all_items.source_system = 'aws-cur' and focus_periods.billing_account_id is not null)
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
