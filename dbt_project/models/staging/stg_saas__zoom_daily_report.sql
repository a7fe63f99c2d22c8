-- Zoom's daily usage report: meetings, participants and meeting minutes per day.
select
    report_date,
    org,
    new_users,
    meetings,
    participants,
    meeting_minutes
from {{ source('raw_saas', 'zoom_daily_report') }}
