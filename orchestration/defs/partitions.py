"""The daily partitions every time-based asset shares (start date from `BIMO_START_DATE`)."""

import dagster as dg

from bimo.settings import get_settings

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=get_settings().start_date.isoformat(), timezone="UTC", end_offset=1
)
