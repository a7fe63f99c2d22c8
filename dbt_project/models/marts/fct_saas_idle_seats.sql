-- Idle seats to cut: every seat that bills on its tool's latest snapshot day but has had no
-- activity in the last `saas_active_days` days (default 30), with what it costs per month and
-- since when it has been idle: its last activity, else (never used) the day the seat was created,
-- else the first snapshot that listed it.
with

seats as (
    select * from {{ ref('stg_saas__seats') }}
),

prices as (
    select * from {{ ref('int_saas_seat_prices') }}
),

latest as (
    select tool, org, max(as_of_date) as as_of_date from seats group by 1, 2
),

first_seen as (
    select tool, org, seat_key, min(as_of_date) as first_seen_date from seats group by 1, 2, 3
),

current_seats as (
    select seats.*
    from seats
    inner join latest
        on seats.tool = latest.tool and seats.org = latest.org
        and seats.as_of_date = latest.as_of_date
),

idle as (
    select current_seats.*
    from current_seats
    where is_paid
        and not active_by_definition
        and (
            last_active_at is null
            or last_active_at < cast(as_of_date as timestamptz) - to_days({{ var('saas_active_days', 30) }})
        )
)

select
    idle.as_of_date,
    idle.tool,
    idle.org,
    idle.seat_key,
    idle.user_name,
    idle.team,
    idle.plan,
    idle.is_assigned,
    idle.last_active_at,
    coalesce(
        cast(idle.last_active_at as date),
        cast(idle.seat_created_at as date),
        first_seen.first_seen_date
    ) as idle_since,
    cast(idle.as_of_date - coalesce(
        cast(idle.last_active_at as date),
        cast(idle.seat_created_at as date),
        first_seen.first_seen_date
    ) as bigint) as days_idle,
    idle.pending_cancellation_date,
    cast(prices.monthly_seat_price_usd as decimal(18, 6)) as monthly_cost_usd,
    prices.price_source
from idle
left join first_seen
    on idle.tool = first_seen.tool and idle.org = first_seen.org
    and idle.seat_key = first_seen.seat_key
left join prices
    on idle.tool = prices.tool and idle.plan = prices.plan
    and cast(date_trunc('month', idle.as_of_date) as date) = prices.month
