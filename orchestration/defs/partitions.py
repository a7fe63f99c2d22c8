"""Partitions shared by time-based assets (start date from `BIMO_START_DATE`): daily for logs,
monthly for billing periods."""

import dagster as dg

from bimo.settings import get_settings

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=get_settings().start_date.isoformat(), timezone="UTC", end_offset=1
)

monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date=get_settings().start_date.replace(day=1).isoformat(), timezone="UTC", end_offset=1
)
