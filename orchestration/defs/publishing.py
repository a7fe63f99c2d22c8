"""When an analytics asset publishes the read copy. A publish copies the whole warehouse (about
3 s at 10M requests), and a daily run writes seven analytics tables one after another: an asset
leaves the publish to a child asset that the same run also materialises, which runs after it
and publishes both writes. A child that fails publishes nothing, so its parents' writes wait for
the next run's publish, as the child's own would."""

import dagster as dg


def publishes(context: dg.AssetExecutionContext) -> bool:
    """False when this run also materialises a child of this step's assets."""
    selected = context.run.asset_selection
    layer = context.job_def.asset_layer
    if selected is None:
        selected = layer.executable_asset_keys
    graph = layer.asset_graph
    children = {c for key in context.selected_asset_keys for c in graph.get(key).child_keys}
    return not children & set(selected)
