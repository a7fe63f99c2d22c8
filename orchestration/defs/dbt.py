"""dbt assets: staging → intermediate → marts, built in one `dbt build` under the writer lock;
dbt tests are asset checks, and each built model reports its rows, date range and first rows.

A partitioned run passes its time window to dbt in BIMO_WINDOWED / BIMO_WINDOW_START /
BIMO_WINDOW_END (not as vars, which would make dbt parse the whole project again every day):
the per-request models (incremental strategy `window`, see `dbt_project/macros/window.sql`)
rebuild only those days, and every other model, all small, rebuilds in full. An unpartitioned
run, or one whose pricing inputs changed since the last full build, rebuilds everything."""

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from importlib import metadata
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from packaging import version

from bimo.dbt_fingerprint import (
    inputs_fingerprint,
    store_fingerprint,
    stored_fingerprint,
    windowed_models,
)
from bimo.dbt_runner import dbt_build_args, fresh_target, window_env
from bimo.settings import Settings, get_settings
from bimo.warehouse import connect_with_retry, publish_snapshot, writer_lock
from ingestion.tables import ensure_raw_tables
from orchestration.defs.dbt_project import DBT_EXECUTABLE, dbt_project, ensure_manifest
from orchestration.defs.metadata import date_columns, table_metadata
from orchestration.defs.publishing import publishes

LAYERS = {"staging": "Staging", "intermediate": "Intermediate", "marts": "Mart"}


class BimoDbtTranslator(DagsterDbtTranslator):
    """Models are keyed `<schema>/<model>`; sources keep `<source>/<table>` (= the dlt keys).
    Every dbt data test is an asset check on the model it tests."""

    def __init__(self) -> None:
        super().__init__(DagsterDbtTranslatorSettings(enable_asset_checks=True))

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
            description=describe(node, manifest, spec.description or ""),
        )


def describe(node: Mapping[str, Any], manifest: Mapping[str, Any], default: str) -> str:
    """The model's dbt description; for an undocumented one, the comment that opens its SQL (or
    its layer) and its parents, instead of dagster-dbt's bare "dbt model <name>"."""
    if node.get("description"):
        return default
    parents = sorted(
        {
            manifest["nodes"].get(p, manifest["sources"].get(p, {})).get("name", p)
            for p in node.get("depends_on", {}).get("nodes", [])
        }
    )
    materialized = node["config"].get("materialized", node["resource_type"])
    text = opening_comment(node.get("raw_code") or "") or (
        f"{LAYERS.get(node['schema'], 'dbt')} {materialized} `{node['name']}`."
    )
    if parents:
        text += f"\n\nBuilt from {', '.join(f'`{p}`' for p in parents)}."
    generic = f"dbt {node['resource_type']} {node['name']}"
    return text + default.removeprefix(generic) if default.startswith(generic) else text


def opening_comment(sql: str) -> str:
    """The `--` comment lines a SQL file starts with, as one paragraph."""
    lines = []
    for line in sql.strip().splitlines():
        if not line.strip().startswith("--"):
            break
        lines.append(line.strip().removeprefix("--").strip())
    return " ".join(lines).strip()


class BimoDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt CLI resource without the two things it does before every dbt
    invocation that Bimo never uses: it runs `dbt --version` in a subprocess to learn the
    version of the executable, and it sets up a dbt adapter in this process (loading dbt's
    macros), used only by its `fetch_row_counts` / `fetch_column_metadata` (Bimo reads each
    model's rows itself once dbt has exited: `with_model_metadata`). About 2 s and 1.8 s of each
    Dagster dbt step, measured at S (docs/benchmarks.md item 8)."""

    @property
    def _cli_version(self) -> version.Version:
        # The executable is this environment's dbt (DBT_EXECUTABLE): its dbt-core's version.
        return version.parse(metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


def dbt_resource() -> DbtCliResource:
    return BimoDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


@dbt_assets(
    manifest=ensure_manifest(),
    dagster_dbt_translator=BimoDbtTranslator(),
    pool="warehouse_writer",
)
def bimo_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator:
    """Build and test the dbt models (a partitioned run rebuilds the per-request models for its
    days only); publish the read copy for the dashboard unless a later step of the run will."""
    settings = get_settings()
    manifest = json.loads(ensure_manifest().read_text())
    fingerprint = inputs_fingerprint(manifest)
    with writer_lock(settings):
        # dbt runs in a subprocess that inherits this environment: give it the resolved path.
        os.environ["BIMO_WAREHOUSE"] = str(settings.warehouse)
        ensure_raw_tables(settings)
        window = partition_window(context)
        if window and stored_fingerprint(settings) != fingerprint:
            context.log.info(
                "no full build recorded, or price overrides, provider aliases, the price "
                "catalogue or model code changed since the last one: rebuilding every day"
            )
            window = None
        elif window:
            context.log.info(f"per-request models: rebuilding {window[0]} .. {window[1]} (excl.)")
        # The warehouse's own target folder (dagster-dbt's default is a new folder per run, 7 MB
        # each, never removed, and no partial parse): its builds queue on the writer lock held.
        # dbt's subprocess starts in `cli` with a copy of this environment, window included.
        os.environ.update(window_env(window))
        invocation = dbt.cli(
            dbt_build_args(window),
            context=context,
            raise_on_error=False,
            target_path=fresh_target(settings),
        )
        # dbt holds the warehouse until it exits: read the built tables after it, then report.
        events = list(invocation.stream())
        events = with_model_metadata(context, settings, events)
        if invocation.is_successful():
            if window is None and windowed_keys(manifest) <= context.selected_asset_keys:
                store_fingerprint(settings, fingerprint)
            if publishes(context):  # else a later step of this run publishes (publishing.py)
                publish_snapshot(settings, locked=True)
    yield from events
    if not invocation.is_successful():
        raise invocation.get_error() or dg.Failure("dbt build failed")


def partition_window(context: dg.AssetExecutionContext) -> tuple[date, date] | None:
    """The run's partition time window as UTC dates (end exclusive): one day, or a range's
    days; None for an unpartitioned run (`bimo_marts`, a manual materialisation)."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    try:
        window = context.partition_time_window
    except dg.DagsterInvariantViolationError:  # partition tags without a time partitioning
        return None
    return window.start.date(), window.end.date()


def windowed_keys(manifest: Mapping[str, Any]) -> set[dg.AssetKey]:
    return {dg.AssetKey([n["schema"], n["name"]]) for n in windowed_models(manifest)}


def with_model_metadata(
    context: dg.AssetExecutionContext, settings: Settings, events: list
) -> list:
    """Add row count, date range and a 5-row preview to each built model's Output (the caller
    holds the writer lock; dbt has exited)."""
    outputs = [e for e in events if isinstance(e, dg.Output)]
    if not outputs:
        return events
    keys = {e.output_name: context.asset_key_for_output(e.output_name) for e in outputs}
    con = connect_with_retry(settings.warehouse)
    try:
        dates = date_columns(con, sorted({k.path[0] for k in keys.values()}))
        extra = {}
        for name, key in keys.items():
            schema, table = key.path
            try:
                extra[name] = table_metadata(
                    con, f'"{schema}"."{table}"', date_column=dates.get((schema, table))
                )
            except Exception as exc:  # metadata must never fail a build
                context.log.warning(f"no metadata for {key.to_user_string()}: {exc}")
    finally:
        con.close()
    return [
        e.with_metadata({**e.metadata, **extra[e.output_name]})
        if isinstance(e, dg.Output) and e.output_name in extra
        else e
        for e in events
    ]
