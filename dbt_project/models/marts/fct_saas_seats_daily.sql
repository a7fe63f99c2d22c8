-- SaaS seat utilisation: one row per as-of day × tool × team (NULL team: not known), from the
-- seat snapshots. A seat is active when the tool says so (Slack bills only active users) or its
-- last activity is within the last `saas_active_days` days (dbt var, default 30). Costs are per
-- day — a seat's monthly price ÷ the days of that month — so summing a month gives its cost;
-- idle_seat_cost_month_usd is the monthly run-rate of the idle seats. Days without a snapshot
-- have no row: seat history is what was pulled, never interpolated.
with

seats as (
    select * from {{ ref('stg_saas__seats') }}
),

prices as (
    select * from {{ ref('int_saas_seat_prices') }}
),

flagged as (
    select
        seats.*,
        seats.active_by_definition
            or seats.last_active_at >= cast(seats.as_of_date as timestamptz)
                - to_days({{ var('saas_active_days', 30) }}) as is_active,
        prices.monthly_seat_price_usd,
        prices.price_source,
        day(last_day(seats.as_of_date)) as days_in_month
    from seats
    left join prices
        on seats.tool = prices.tool
        and seats.plan = prices.plan
        and cast(date_trunc('month', seats.as_of_date) as date) = prices.month
)

select
    as_of_date as date,
    tool,
    team,
    cast(count(*) filter (where is_paid) as bigint) as seats_paid,
    cast(count(*) filter (where is_paid and is_assigned) as bigint) as seats_assigned,
    cast(count(*) filter (where is_paid and coalesce(is_active, false)) as bigint) as seats_active,
    cast({{ var('saas_active_days', 30) }} as integer) as active_window_days,
    cast(
        count(*) filter (where is_paid and coalesce(is_active, false))
        / nullif(count(*) filter (where is_paid), 0) as double
    ) as utilisation,
    cast(count(*) filter (where is_paid and not coalesce(is_active, false)) as bigint) as idle_seats,
    cast(
        sum(monthly_seat_price_usd / days_in_month) filter (where is_paid) as decimal(38, 12)
    ) as paid_seat_cost_usd,
    cast(
        sum(monthly_seat_price_usd / days_in_month)
            filter (where is_paid and not coalesce(is_active, false)) as decimal(38, 12)
    ) as idle_seat_cost_usd,
    cast(
        sum(monthly_seat_price_usd) filter (where is_paid and not coalesce(is_active, false))
        as decimal(38, 12)
    ) as idle_seat_cost_month_usd,
    string_agg(distinct price_source, ',' order by price_source) as price_source
from flagged
group by as_of_date, tool, team
