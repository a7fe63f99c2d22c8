"""dlt assets: gateway and CLI logs from the landing folder into `raw_gateway.*`."""

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import dagster as dg
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, build_dlt_asset_specs
from dagster_dlt.translator import DltResourceTranslatorData

from bimo.settings import Settings, get_settings
from bimo.warehouse import connect_with_retry, writer_lock
from ingestion.formats import FORMATS
from ingestion.load import finish_interrupted, interrupted_message, make_pipeline
from ingestion.readers import JSON_SUFFIXES, WRITE_SLACK, keep_inside, written_since
from ingestion.remote import mirror_landing
from ingestion.source import DATASET, FormatStats, gateway_logs
from orchestration.defs.automation import SOURCE_RETRY
from orchestration.defs.metadata import table_metadata
from orchestration.defs.partitions import daily_partitions

OWNERS = ["team:platform"]
SOURCE_OF_TABLE = {module.TABLE: source for source, module in FORMATS.items()}


class BimoDltTranslator(DagsterDltTranslator):
    """Raw tables are keyed `raw_gateway/<table>`: the same key dbt gives the source."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        spec = super().get_asset_spec(data)
        table = data.resource.name
        return spec.replace_attributes(
            key=dg.AssetKey([DATASET, table]),
            deps=[],
            group_name="ingestion",
            owners=OWNERS,
            kinds={"dlt", "duckdb"},
            description=f"Raw `{SOURCE_OF_TABLE.get(table, table)}` requests loaded by dlt from "
            f"`<landing>/{SOURCE_OF_TABLE.get(table, table)}/` (merged on request_id; malformed "
            "records go to raw_gateway.quarantine with file, line and reason).",
        )


def landing_files(
    settings: Settings,
    warn: Callable[[str], None] | None = None,
    *,
    since: datetime | None = None,
) -> dict[str, list[Path]]:
    """JSON files under `<landing>/<source>/` for each log source; a symlink leading out of
    the landing folder is skipped with a warning, never followed. With `since`, only the files
    that can hold a request from then on (`ingestion.readers.written_since`)."""
    found: dict[str, list[Path]] = {}
    for source in FORMATS:
        folder = settings.landing_dir / source
        if folder.is_dir():
            files = sorted(
                f for f in folder.rglob("*") if f.is_file() and f.name.endswith(JSON_SUFFIXES)
            )
            if since is not None:
                files = written_since(files, since)
            found[source] = keep_inside(files, settings.landing_dir, warn)
    return found


TRANSLATOR = BimoDltTranslator()


@dg.multi_asset(
    specs=build_dlt_asset_specs(
        dlt_source=gateway_logs(),
        dlt_pipeline=make_pipeline(get_settings()),
        dagster_dlt_translator=TRANSLATOR,
    ),
    name="gateway_logs",
    can_subset=True,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="warehouse_writer",
    retry_policy=SOURCE_RETRY,
)
def gateway_log_assets(context: dg.AssetExecutionContext, dlt: DagsterDltResource) -> Iterator:
    """Load the partition window's requests from the landing files that can hold them (every
    file written since the window began; one run per range)."""
    settings = get_settings()
    mirror_landing(settings, *FORMATS, log=context.log.info)
    window = context.partition_time_window
    files = landing_files(settings, context.log.warning, since=window.start)
    context.log.info(
        f"loading {sum(map(len, files.values()))} files from {settings.landing_dir} "
        f"for {window.start:%Y-%m-%d} .. {window.end:%Y-%m-%d} (files last written before "
        f"{window.start - WRITE_SLACK:%Y-%m-%d %H:%M} UTC cannot hold its requests: not read)"
    )
    stats: dict[str, FormatStats] = {}
    with writer_lock(settings):
        pipeline = make_pipeline(settings)
        if interrupted := finish_interrupted(pipeline):  # else dlt would load only those
            context.log.warning(interrupted_message(interrupted))
        results = list(
            dlt.run(
                context=context,
                dlt_source=gateway_logs(
                    files=files, window=(window.start, window.end), stats=stats
                ),
                dlt_pipeline=pipeline,
                dagster_dlt_translator=TRANSLATOR,
            )
        )
        extra = load_metadata(settings, [r.asset_key for r in results], stats, window)
    for result in results:
        yield dg.MaterializeResult(
            asset_key=result.asset_key,
            metadata={**(result.metadata or {}), **extra[result.asset_key]},
            check_results=result.check_results,
            data_version=result.data_version,
            tags=result.tags,
        )


def load_metadata(
    settings: Settings, keys: list[dg.AssetKey], stats: dict[str, FormatStats], window
) -> dict[dg.AssetKey, dict]:
    """Per raw table: what this load parsed, rows in the window, and the table's row count,
    date range and first rows (the caller holds the writer lock)."""
    found: dict[dg.AssetKey, dict] = {}
    con = connect_with_retry(settings.warehouse)
    try:
        for key in keys:
            table = key.path[-1]
            source = SOURCE_OF_TABLE[table]
            column = FORMATS[source].TIME_COLUMN
            relation = f'"{DATASET}"."{table}"'
            in_window = con.execute(
                f'select count(*) from {relation} where "{column}" >= ? and "{column}" < ?',
                [window.start, window.end],
            ).fetchall()[0][0]
            st = stats.get(source, FormatStats())
            found[key] = {
                **table_metadata(con, relation, date_column=column),
                "window": f"{_day(window.start)} .. {_day(window.end)} (end exclusive)",
                "rows_in_window": in_window,
                "files": st.files,
                "records_parsed": st.records,
                "rows_parsed_in_window": st.rows,
                "quarantined": st.quarantined,
                "skipped_not_requests": st.skipped,
            }
    finally:
        con.close()
    return found


def _day(value: datetime) -> str:
    return value.date().isoformat()
