-- The monthly price of one paid seat per tool, plan and month, in USD. An invoice for the tool and
-- month gives its own price (Σ amount in USD ÷ Σ seats) and wins; else the saas_seat_prices seed
-- (the plan's row, else the tool's `default` row). price_source says which one applied.
with

seat_months as (
    select distinct tool, plan, cast(date_trunc('month', as_of_date) as date) as month
    from {{ ref('stg_saas__seats') }}
),

invoices as (
    select * from {{ ref('stg_saas__invoices') }}
),

rates as (
    select * from {{ ref('fx_rates') }}
),

invoice_prices as (
    select
        invoices.tool,
        invoices.period_start as month,
        -- NULL when some invoice of the month has no USD rate: never priced unconverted
        case
            when count(*) filter (where invoices.currency <> 'USD' and rates.usd_per_unit is null) > 0
                then null
            else sum(
                case
                    when invoices.currency = 'USD' then invoices.amount
                    else cast(invoices.amount * rates.usd_per_unit as decimal(38, 18))
                end
            ) / nullif(sum(invoices.seats), 0)
        end as monthly_seat_price_usd
    from invoices
    left join rates
        on invoices.currency = rates.currency and invoices.period_start = rates.month
    group by 1, 2
),

list_prices as (
    select * from {{ ref('saas_seat_prices') }}
)

select
    seat_months.tool,
    seat_months.plan,
    seat_months.month,
    cast(coalesce(
        invoice_prices.monthly_seat_price_usd,
        plan_price.monthly_seat_price_usd,
        default_price.monthly_seat_price_usd
    ) as decimal(18, 6)) as monthly_seat_price_usd,
    case
        when invoice_prices.monthly_seat_price_usd is not null then 'invoice'
        when plan_price.monthly_seat_price_usd is not null then 'list_price'
        when default_price.monthly_seat_price_usd is not null then 'list_price_default_plan'
        else 'missing'
    end as price_source
from seat_months
left join invoice_prices
    on seat_months.tool = invoice_prices.tool and seat_months.month = invoice_prices.month
left join list_prices as plan_price
    on seat_months.tool = plan_price.tool and seat_months.plan = plan_price.plan
left join list_prices as default_price
    on seat_months.tool = default_price.tool and default_price.plan = 'default'
