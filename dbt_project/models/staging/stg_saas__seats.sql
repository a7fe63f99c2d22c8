-- Every paid-or-assignable seat of every SaaS tool, one row per seat × as-of day, in one shape:
--   GitHub Copilot  every listed seat bills (a pending cancellation bills until its date); it is
--                   assigned when it has an assignee (NULL = deleted user, the seat remains);
--                   last activity = last_activity_at.
--   Slack           a user bills when billing_active (Slack's fair billing policy bills only
--                   users active in the last 14 days), so a billed Slack seat is an active one.
--   Zoom            a licensed user (type 2) bills; last activity = last_login_time.
with

copilot as (
    select
        as_of_date,
        'github-copilot' as tool,
        org,
        coalesce(assignee_login, 'seat:' || coalesce(cast(assignee_id as varchar), cast(_source_line as varchar))) as seat_key,
        assignee_login as user_name,
        assigning_team as team,
        coalesce(plan_type, 'default') as plan,
        true as is_paid,
        assignee_login is not null as is_assigned,
        last_activity_at as last_active_at,
        false as active_by_definition,
        created_at as seat_created_at,
        pending_cancellation_date
    from {{ source('raw_saas', 'copilot_seats') }}
),

slack as (
    select
        as_of_date,
        'slack' as tool,
        org,
        user_id as seat_key,
        user_id as user_name,
        cast(null as varchar) as team,
        'default' as plan,
        coalesce(billing_active, false) as is_paid,
        true as is_assigned,
        cast(null as timestamptz) as last_active_at,
        coalesce(billing_active, false) as active_by_definition,
        cast(null as timestamptz) as seat_created_at,
        cast(null as date) as pending_cancellation_date
    from {{ source('raw_saas', 'slack_billable') }}
),

zoom as (
    select
        as_of_date,
        'zoom' as tool,
        org,
        user_id as seat_key,
        email as user_name,
        dept as team,
        'default' as plan,
        coalesce(licensed, false) as is_paid,
        coalesce(licensed, false) and coalesce(status, 'active') = 'active' as is_assigned,
        last_login_time as last_active_at,
        false as active_by_definition,
        created_at as seat_created_at,
        cast(null as date) as pending_cancellation_date
    from {{ source('raw_saas', 'zoom_users') }}
)

select * from copilot
union all
select * from slack
union all
select * from zoom
