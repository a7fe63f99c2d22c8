"""Partitions shared by time-based assets (start date from `BIMO_START_DATE`): daily for logs,
monthly for billing periods; and the spec every raw-table asset shares."""

import dagster as dg

from bimo.settings import get_settings

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=get_settings().start_date.isoformat(), timezone="UTC", end_offset=1
)

monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date=get_settings().start_date.replace(day=1).isoformat(), timezone="UTC", end_offset=1
)


def raw_table_specs(dataset: str, descriptions: dict[str, str]) -> list[dg.AssetSpec]:
    """One ingestion asset spec per raw table (`<dataset>/<table>`, the key dbt gives it)."""
    return [
        dg.AssetSpec(
            key=[dataset, table],
            group_name="ingestion",
            owners=["team:platform"],
            kinds={"dlt", "duckdb"},
            description=description,
        )
        for table, description in descriptions.items()
    ]
