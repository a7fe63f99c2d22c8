"""When a run publishes the read copy. A publish copies the whole warehouse file (7.6 s for the
5 GB file of 10M requests after a few daily runs), so a run publishes once, at its end: the
`read_copy` asset depends on every sink of the asset graph and runs after the rest of the run,
and an asset step leaves its publish to a child of it in the same run (the chain ends at
`read_copy`, or at an asset with no child in the run, which publishes itself).

A failure must not strand the writes of the steps that left their publish to a later one: once a
step of the run has failed, every step that succeeds after it publishes, and a failing analytics
step publishes what the run wrote before it. (A failed dbt build publishes nothing: its marts may
be half rebuilt; the next successful run publishes.) Materialise `read_copy` alone to publish now.
"""

from collections.abc import Callable, Sequence
from time import perf_counter

import dagster as dg

from bimo.settings import get_settings
from bimo.warehouse import publish_snapshot

READ_COPY = dg.AssetKey("read_copy")


def _child_in_run(context: dg.AssetExecutionContext) -> bool:
    """A child of this step's assets (outside the step) is also materialised by this run."""
    selected = context.run.asset_selection
    layer = context.job_def.asset_layer
    if selected is None:
        selected = layer.executable_asset_keys
    graph = layer.asset_graph
    own = context.selected_asset_keys
    children = {c for key in own for c in graph.get(key).child_keys} - own
    return bool(children & set(selected))


def _run_has(context: dg.AssetExecutionContext, event: dg.DagsterEventType) -> bool:
    records = context.instance.get_records_for_run(context.run_id, of_type=event, limit=1)
    return bool(records.records)


def publish_rule(context: dg.AssetExecutionContext) -> Callable[[bool], bool]:
    """For `write_connection(publish=...)`: whether to publish after the write, given whether it
    failed. On success: when no child is in the run, or a step of the run already failed (the
    steps it skips never publish). On failure: when an earlier step of the run succeeded (its
    write may be waiting for this step's publish)."""

    def decide(failed: bool) -> bool:
        if failed:
            return _run_has(context, dg.DagsterEventType.STEP_SUCCESS)
        return not _child_in_run(context) or _run_has(context, dg.DagsterEventType.STEP_FAILURE)

    return decide


def publishes(context: dg.AssetExecutionContext) -> bool:
    """Whether a step that succeeded publishes now (`publish_rule` on success)."""
    return publish_rule(context)(False)


def sink_keys(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetKey]:
    """The assets that no other asset depends on."""
    keys = {k for a in assets for k in a.keys}
    parents = {d for a in assets for deps in a.asset_deps.values() for d in deps}
    return sorted(keys - parents)


def read_copy_asset(assets: Sequence[dg.AssetsDefinition]) -> dg.AssetsDefinition:
    """The `read_copy` asset, after every sink of `assets`."""

    @dg.asset(
        key=READ_COPY,
        deps=sink_keys(assets),
        group_name="warehouse",
        owners=["team:finops"],
        kinds={"duckdb"},
        pool="warehouse_writer",
    )
    def read_copy(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        """The warehouse as the dashboard, `bimo sql` and every other reader see it: a copy of
        the warehouse file, replaced atomically at the end of each run (readers never wait for
        the writer and never see a half-written run). Materialise it alone to publish now."""
        settings = get_settings()
        started = perf_counter()
        path = publish_snapshot(settings)
        if path is None:
            raise dg.Failure(f"nothing to publish: no warehouse at {settings.warehouse}")
        seconds = perf_counter() - started
        size_mb = path.stat().st_size / 2**20
        context.log.info(f"published {path} ({size_mb:,.0f} MB) in {seconds:.1f} s")
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(path)),
                "size_mb": round(size_mb, 1),
                "publish_seconds": round(seconds, 2),
            }
        )

    return read_copy
