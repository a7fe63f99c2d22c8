"""dbt assets: staging → intermediate → marts, built in one `dbt build` under the writer lock."""

import os
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from bimo.settings import get_settings
from bimo.warehouse import publish_snapshot, writer_lock
from ingestion.tables import ensure_raw_tables
from orchestration.defs.dbt_project import DBT_EXECUTABLE, dbt_project, ensure_manifest


class BimoDbtTranslator(DagsterDbtTranslator):
    """Models are keyed `<schema>/<model>`; sources keep `<source>/<table>` (= the dlt keys)."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["nodes"].get(unique_id)
        if node is None:  # a source: key stays [source_name, table]
            return spec
        kinds = {"dbt", "duckdb"} | ({"python"} if node.get("language") == "python" else set())
        return spec.replace_attributes(
            key=dg.AssetKey([node["schema"], node["name"]]),
            group_name="warehouse",
            owners=["team:data"],
            kinds=kinds,
        )


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


@dbt_assets(
    manifest=ensure_manifest(),
    dagster_dbt_translator=BimoDbtTranslator(),
    pool="warehouse_writer",
)
def bimo_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator:
    """Build and test the dbt models, then publish the read copy for the dashboard."""
    settings = get_settings()
    with writer_lock(settings):
        # dbt runs in a subprocess that inherits this environment: give it the resolved path.
        os.environ["BIMO_WAREHOUSE"] = str(settings.warehouse)
        ensure_raw_tables(settings)
        yield from dbt.cli(["build"], context=context).stream()
        publish_snapshot(settings, locked=True)
