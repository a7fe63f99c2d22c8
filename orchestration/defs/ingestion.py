"""dlt assets: gateway and CLI logs from the landing folder into `raw_gateway.*`."""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from bimo.settings import Settings, get_settings
from bimo.warehouse import writer_lock
from ingestion.formats import FORMATS
from ingestion.load import make_pipeline
from ingestion.readers import JSON_SUFFIXES
from ingestion.remote import mirror_landing
from ingestion.source import DATASET, gateway_logs
from orchestration.defs.partitions import daily_partitions

OWNERS = ["team:platform"]


class BimoDltTranslator(DagsterDltTranslator):
    """Raw tables are keyed `raw_gateway/<table>`: the same key dbt gives the source."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        spec = super().get_asset_spec(data)
        return spec.replace_attributes(
            key=dg.AssetKey([DATASET, data.resource.name]),
            deps=[],
            group_name="ingestion",
            owners=OWNERS,
            kinds={"dlt", "duckdb"},
            description=f"Raw `{data.resource.name}` rows loaded by dlt from the landing folder "
            "(merged on request_id; malformed records go to raw_gateway.quarantine).",
        )


def landing_files(settings: Settings) -> dict[str, list[Path]]:
    """JSON files under `<landing>/<source>/` for each log source."""
    found: dict[str, list[Path]] = {}
    for source in FORMATS:
        folder = settings.landing_dir / source
        if folder.is_dir():
            found[source] = sorted(
                f for f in folder.rglob("*") if f.is_file() and f.name.endswith(JSON_SUFFIXES)
            )
    return found


@dlt_assets(
    dlt_source=gateway_logs(),
    dlt_pipeline=make_pipeline(get_settings()),
    name="gateway_logs",
    dagster_dlt_translator=BimoDltTranslator(),
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="warehouse_writer",
)
def gateway_log_assets(context: dg.AssetExecutionContext, dlt: DagsterDltResource) -> Iterator:
    """Load the partition window's requests from every landing file (one run per range)."""
    settings = get_settings()
    mirror_landing(settings, *FORMATS, log=context.log.info)
    window = context.partition_time_window
    files = landing_files(settings)
    context.log.info(
        f"loading {sum(map(len, files.values()))} files from {settings.landing_dir} "
        f"for {window.start:%Y-%m-%d} .. {window.end:%Y-%m-%d}"
    )
    with writer_lock(settings):
        yield from dlt.run(
            context=context,
            dlt_source=gateway_logs(files=files, window=(window.start, window.end)),
            dlt_pipeline=make_pipeline(settings),
        )
