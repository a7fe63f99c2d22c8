"""Idempotency: loading the same data again, or backfilling the same range again, changes nothing.

The baseline is the demo loaded once with `bimo load` and built with the `bimo_marts` job. Each
source kind re-loaded leaves every raw row as it was; everything re-loaded and rebuilt with
`bimo build` and the analytics step, and the same range backfilled twice through the Dagster jobs
(`bimo backfill --source all`), leave every mart and analytics table byte-identical."""

from __future__ import annotations

import pytest

from tests.reliability import checksums, support

pytestmark = [pytest.mark.slow, pytest.mark.heavy]


def test_every_time_column_of_the_marts_is_classified(baseline):
    # A new run-stamped column would break every checksum below, a new data one would be
    # silently left out: each needs a decision in checksums.RUN_TIMESTAMPS or DATA_TIMESTAMPS.
    assert checksums.unclassified_time_columns(baseline / "warehouse.duckdb") == []


@pytest.mark.parametrize("kind", support.SOURCE_KINDS)
def test_reloading_a_source_kind_changes_no_raw_row(kind, baseline, landing, tmp_path):
    settings = support.clone(baseline, tmp_path)
    before = checksums.raw_checksums(settings.warehouse)
    support.load_kind(settings, landing, kind)
    assert checksums.raw_checksums(settings.warehouse) == before


def test_reload_and_rebuild_leaves_every_mart_and_analytics_table(baseline, landing, tmp_path):
    expected = checksums.mart_checksums(baseline / "warehouse.duckdb")
    assert {"marts.fct_daily_cost", "analytics.cost_anomalies"} <= set(expected)
    settings = support.clone(baseline, tmp_path)
    support.load_all(settings, landing)
    support.cli(settings, "build")
    support.run_analytics(settings)
    assert checksums.mart_checksums(settings.warehouse) == expected
    assert checksums.mart_checksums(settings.snapshot) == expected  # what readers see


def test_backfilling_the_same_range_twice_leaves_every_table(baseline, landing, tmp_path):
    expected = checksums.mart_checksums(baseline / "warehouse.duckdb")
    settings = support.clone(baseline, tmp_path)
    for _ in range(2):
        support.backfill(settings, landing)
        assert checksums.mart_checksums(settings.warehouse) == expected
    assert checksums.mart_checksums(settings.snapshot) == expected
