"""A load's tables hold DuckDB's row group size (`ingestion.parse.GROUP_ROWS`), so dlt writes
each as one Parquet row group and DuckDB copies it into the staging table whole
(docs/benchmarks.md, item 25)."""

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dlt.common.data_writers.buffered import BufferedDataWriter
from hypothesis import given, settings
from hypothesis import strategies as st

from bimo.settings import get_settings
from ingestion import parse
from ingestion.load import load_files
from ingestion.parse import parse_files, row_groups
from tests.conftest import query, source_files


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(0, 40), max_size=12), rows=st.integers(1, 25))
def test_row_groups_are_the_rows_in_order_exactly_rows_to_a_table(sizes, rows):
    start, tables = 0, []
    for n in sizes:
        tables.append(pa.table({"i": pa.array(range(start, start + n), pa.int64())}))
        start += n
    out = list(row_groups(iter(tables), rows))
    assert [t.num_rows for t in out[:-1]] == [rows] * (len(out) - 1)
    assert (0 < out[-1].num_rows <= rows) if out else start == 0
    assert [v for t in out for v in t["i"].to_pylist()] == list(range(start))


def _rows_tables(out: list) -> list[pa.Table]:
    return [t for t in out if isinstance(t, pa.Table) and t.num_rows]


@pytest.mark.parametrize("parallel", [False, True])
def test_a_format_is_yielded_group_rows_to_a_table_whatever_its_parse_batches(
    demo_dir, monkeypatch, parallel
):
    """In-process and in workers: tables of `group_rows` rows (the last fewer), the same rows
    in the same order as one table of them all."""
    if parallel:
        monkeypatch.setattr(parse, "PARALLEL_MIN_BYTES", 0)
    files = source_files(demo_dir)["bimo-gateway"][:6]
    grouped = _rows_tables(list(parse_files("bimo-gateway", files, batch_rows=70, group_rows=300)))
    whole = _rows_tables(list(parse_files("bimo-gateway", files, group_rows=10**7)))
    sizes = [t.num_rows for t in grouped]
    assert len(whole) == 1 and len(grouped) > 2
    assert sizes[:-1] == [300] * (len(sizes) - 1) and 0 < sizes[-1] <= 300
    keep = [c for c in whole[0].column_names if c != "_loaded_at"]  # each call stamps its own
    assert pa.concat_tables(grouped).select(keep).equals(whole[0].select(keep))


def test_a_group_is_more_rows_than_dlt_buffers_before_it_writes():
    """dlt's writer buffers items until it holds `buffer_max_items` rows and writes them as one
    Parquet write: a table of at least that many is written alone, as one row group."""
    config = BufferedDataWriter.BufferedDataWriterConfiguration()
    assert config.buffer_max_items <= parse.GROUP_ROWS


@pytest.mark.parametrize("parallel", [False, True])
def test_dlt_writes_each_table_as_one_parquet_row_group(tmp_path, demo_dir, monkeypatch, parallel):
    """What the staging copy reads: the load package's Parquet file of a log table has row
    groups of `GROUP_ROWS` rows (the last fewer), and every row reaches the table. Scaled down:
    250-row groups, and dlt's buffer at 100 rows, below a group as its default is below
    `GROUP_ROWS`."""
    monkeypatch.setattr(parse, "GROUP_ROWS", 250)
    monkeypatch.setenv("DATA_WRITER__BUFFER_MAX_ITEMS", "100")
    if parallel:
        monkeypatch.setattr(parse, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setenv("LOAD__DELETE_COMPLETED_JOBS", "false")  # keep the files to read them
    files = source_files(demo_dir)["bimo-gateway"][:6]
    settings_ = get_settings(tmp_path / "w.duckdb")
    rows = load_files({"bimo-gateway": files}, settings=settings_).stats["bimo-gateway"].rows
    parquet = [
        f
        for f in Path(settings_.warehouse.parent).rglob("*.parquet")
        if "completed_jobs" in f.parts and f.name.startswith("bimo_gateway_requests.")
    ]
    assert len(parquet) == 1
    meta = pq.ParquetFile(parquet[0]).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    groups = [n for n in sizes if n]  # then empty ones (the batch every load yields last)
    assert sizes[: len(groups)] == groups and not any(sizes[len(groups) :])
    assert len(groups) > 2 and groups[:-1] == [250] * (len(groups) - 1) and groups[-1] <= 250
    assert sum(groups) == rows
    stored = query(settings_, "select count(*) from raw_gateway.bimo_gateway_requests")
    assert stored == [(rows,)]


def test_group_rows_is_duckdbs_row_group_size(tmp_path):
    """The size the staging copy takes whole: a table of two groups' rows fills two of DuckDB's
    row groups, one more row a third."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        for rows, groups in ((2 * parse.GROUP_ROWS, 2), (2 * parse.GROUP_ROWS + 1, 3)):
            con.execute(f"create or replace table t as select range as i from range({rows})")
            con.execute("checkpoint")
            found = con.execute(
                "select count(distinct row_group_id) from pragma_storage_info('t')"
            ).fetchall()
            assert found == [(groups,)]
    finally:
        con.close()
