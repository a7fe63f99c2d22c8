-- GitHub Copilot's own seat breakdown per organisation and snapshot day (what GitHub counts
-- this billing cycle), beside the seat-level snapshot in stg_saas__seats.
select
    as_of_date,
    org,
    seats_total,
    seats_added_this_cycle,
    seats_pending_invitation,
    seats_pending_cancellation,
    seats_active_this_cycle,
    seats_inactive_this_cycle,
    seat_management_setting,
    plan_type
from {{ source('raw_saas', 'copilot_billing') }}
