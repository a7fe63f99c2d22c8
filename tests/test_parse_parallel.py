"""Parsing in worker processes: the same rows, quarantine rows and counts as in-process, in file
order; a worker's error reaches the caller; DuckDB keeps to the configured memory limit."""

import gc
import os
from dataclasses import asdict
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pytest

from bimo.settings import get_settings
from bimo.warehouse import connect_with_retry
from ingestion import parse
from ingestion.formats import FORMATS
from ingestion.load import load_files, make_pipeline
from ingestion.parse import FormatStats, parse_files, parse_workers, shared_pool
from ingestion.parse_pool import SharedPool, WorkerError, run_in_order
from tests.conftest import source_files


def _parse(source, files, workers, monkeypatch, window=None):
    monkeypatch.setenv("BIMO_PARSE_WORKERS", str(workers))
    stats = FormatStats()
    out = list(parse_files(source, files, stats=stats, window=window, batch_rows=700))
    tables, bad = out[:-1], out[-1]
    rows = pa.concat_tables(tables).drop_columns(["_loaded_at"])
    return rows, [{k: v for k, v in b.items() if k != "quarantined_at"} for b in bad], stats


@pytest.mark.parametrize("source", list(FORMATS))
def test_workers_parse_exactly_what_one_process_parses(tmp_path, demo_dir, monkeypatch, source):
    monkeypatch.setattr(parse, "PARALLEL_MIN_BYTES", 0)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('not json\n{"x": 1}\n[1]\n')
    files = source_files(demo_dir)[source]
    files = [*files[:2], broken, *files[2:]]
    serial = _parse(source, files, 1, monkeypatch)
    parallel = _parse(source, files, 2, monkeypatch)
    assert serial[0].num_rows > 0 and serial[1], "the demo's files hold rows and bad records"
    assert parallel[0].equals(serial[0])  # same rows, same order
    assert parallel[1] == serial[1]
    assert asdict(parallel[2]) == asdict(serial[2])


def test_workers_keep_the_window_and_batch_small_files_together(demo_dir, monkeypatch):
    monkeypatch.setattr(parse, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setenv("BIMO_PARSE_WORKERS", "2")
    files = source_files(demo_dir)["bimo-gateway"]
    window = (datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 10, 22, tzinfo=UTC))
    stats = FormatStats()
    out = list(parse_files("bimo-gateway", files, stats=stats, window=window, batch_rows=10**6))
    tables = [t for t in out[:-1] if t.num_rows]
    assert len(tables) == 1  # every file's rows joined into one batch below batch_rows
    times = tables[0].column("started_at").to_pylist()
    assert stats.rows == len(times) > 0 and stats.out_of_window > 0
    assert all(window[0] <= t < window[1] for t in times)
    serial = _parse("bimo-gateway", files, 1, monkeypatch, window=window)
    assert tables[0].drop_columns(["_loaded_at"]).equals(serial[0])


def test_a_parallel_load_lands_the_same_warehouse(tmp_path, demo_dir, monkeypatch):
    monkeypatch.setattr(parse, "PARALLEL_MIN_BYTES", 0)
    files = {s: f for s, f in source_files(demo_dir).items() if s in FORMATS}
    counts = {}
    for workers in (1, 2):
        monkeypatch.setenv("BIMO_PARSE_WORKERS", str(workers))
        settings = get_settings(tmp_path / f"w{workers}.duckdb")
        summary = load_files(files, settings=settings)
        con = duckdb.connect(str(settings.warehouse), read_only=True)
        try:
            counts[workers] = {
                t: con.sql(
                    f"select count(*), count(distinct request_id), sum(_source_line) "
                    f"from raw_gateway.{t}"
                ).fetchall()[0]
                for t in (m.TABLE for m in FORMATS.values())
            } | {"quarantine": con.sql("select count(*) from raw_gateway.quarantine").fetchall()}
        finally:
            con.close()
        assert summary.rows_loaded == sum(
            c[0] for k, c in counts[workers].items() if k != "quarantine"
        )
    assert counts[1] == counts[2]


def test_a_file_error_in_a_worker_is_raised_to_the_caller(tmp_path, monkeypatch):
    monkeypatch.setattr(parse, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setenv("BIMO_PARSE_WORKERS", "2")
    good = tmp_path / "a.jsonl"
    good.write_text('{"request_id": "r1"}\n')
    odd = tmp_path / "b.jsonl"
    odd.mkdir()  # listed, but cannot be read: the worker's IsADirectoryError comes back
    with pytest.raises(IsADirectoryError, match=r"b\.jsonl"):
        list(parse_files("bimo-gateway", [good, odd]))


def test_results_come_back_in_task_order_beyond_the_workers_lookahead():
    tasks = [(i, 2) for i in range(40)]  # builtins.pow: importable in the workers
    assert list(run_in_order(pow, tasks, 3)) == [i * i for i in range(40)]


def test_a_worker_that_dies_is_an_error_not_a_hang():
    with pytest.raises(WorkerError, match="exited with code 3"):
        list(run_in_order(os._exit, [(3,), (3,)], 2))


def test_parse_workers_setting(monkeypatch):
    monkeypatch.setenv("BIMO_PARSE_WORKERS", "3")
    assert parse_workers() == 3
    monkeypatch.delenv("BIMO_PARSE_WORKERS")
    assert 1 <= parse_workers() <= parse.MAX_WORKERS
    monkeypatch.setenv("BIMO_PARSE_WORKERS", "two")
    with pytest.raises(ValueError, match="BIMO_PARSE_WORKERS"):
        parse_workers()


def test_duckdb_keeps_to_the_memory_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("BIMO_DUCKDB_MEMORY_LIMIT", "1GB")
    settings = get_settings(tmp_path / "w.duckdb")
    load_files({}, settings=settings)
    with make_pipeline(settings).sql_client() as client:
        assert client.execute_sql("select current_setting('memory_limit')") == [("953.6 MiB",)]
    con = connect_with_retry(settings.warehouse)
    try:
        assert con.sql("select current_setting('memory_limit')").fetchall() == [("953.6 MiB",)]
    finally:
        con.close()
    monkeypatch.setenv("BIMO_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(ValueError, match="BIMO_DUCKDB_MEMORY_LIMIT='lots'"):
        connect_with_retry(settings.warehouse)


def test_a_pipeline_folder_created_meanwhile_by_another_process_is_opened(tmp_path, monkeypatch):
    import dlt

    from ingestion import load

    real, calls = dlt.pipeline, []

    def racing(**kwargs):  # another process creates the folder between dlt's check and makedirs
        calls.append(kwargs["pipeline_name"])
        if len(calls) == 1:
            (tmp_path / ".dlt_pipelines" / kwargs["pipeline_name"]).mkdir(parents=True)
            raise FileExistsError(17, "File exists", kwargs["pipeline_name"])
        return real(**kwargs)

    monkeypatch.setattr(load.dlt, "pipeline", racing)
    pipeline = load.make_pipeline(get_settings(tmp_path / "w.duckdb"))
    assert pipeline.pipeline_name == load.PIPELINE_NAME and len(calls) == 2


def test_parsing_pauses_the_cycle_collector_and_restores_it(demo_dir, monkeypatch):
    gateway = FORMATS["bimo-gateway"]
    real, real_fast, seen = gateway.parse, gateway.fast_row, []

    def parse_and_look(rec):
        seen.append(gc.isenabled())
        yield from real(rec)

    def fast_and_look(line):
        seen.append(gc.isenabled())
        return real_fast(line)

    monkeypatch.setattr(gateway, "parse", parse_and_look)
    monkeypatch.setattr(gateway, "fast_row", fast_and_look)
    path = source_files(demo_dir)["bimo-gateway"][0]
    args = (None, datetime.now(UTC), 1000)
    tables, _, stats = parse._parse_file_task("bimo-gateway", path, *args)
    assert stats.rows == sum(t.num_rows for t in tables) > 0
    assert seen and not any(seen)  # paused while parsing
    assert gc.isenabled()  # and on again after
    gc.disable()
    try:  # a caller that had it off keeps it off, even when the file fails
        with pytest.raises(FileNotFoundError):
            parse._parse_file_task("bimo-gateway", path.with_name("missing.jsonl"), *args)
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(FileNotFoundError):
        parse._parse_file_task("bimo-gateway", path.with_name("missing.jsonl"), *args)
    assert gc.isenabled()
    # In-process, batch by batch: paused while a batch fills, on while the caller has it.
    seen.clear()
    files = source_files(demo_dir)["bimo-gateway"][:2]
    tables = parse_files("bimo-gateway", files, batch_rows=200, group_rows=200)
    handed = [gc.isenabled() for _ in tables]
    assert len(handed) > 3 and all(handed) and seen and not any(seen)


@pytest.mark.parametrize("source", list(FORMATS))
def test_batches_are_what_arrow_makes_of_the_row_dicts(demo_dir, monkeypatch, source):
    module, schema = FORMATS[source], parse.arrow_schema(FORMATS[source])
    real, dropped = module.parse, schema.names[2]

    def parse_without_a_key(rec):  # a key a row lacks is null; a key the schema lacks, left out
        for out in real(rec):
            if isinstance(out, dict):
                del out[dropped]
                out["not_a_column"] = 1
            yield out

    monkeypatch.setenv("BIMO_PARSE_FAST", "0")  # every line through `parse`
    monkeypatch.setattr(module, "parse", parse_without_a_key)
    files = source_files(demo_dir)[source][:2]
    now = datetime.now(UTC)
    rows = [
        row
        for f in files
        for row in parse.file_rows(
            source, f, stats=FormatStats(), bad=[], window=None, loaded_at=now
        )
    ]
    dicts = [dict(zip(schema.names, row, strict=True)) for row in rows]
    assert dicts and all(d[dropped] is None for d in dicts)
    batch = len(rows) // 3 + 1
    tables = list(parse._tables(iter(rows), schema, batch_rows=batch))
    assert [t.num_rows for t in tables] == [batch, batch, len(rows) - 2 * batch]
    assert pa.concat_tables(tables).equals(pa.Table.from_pylist(dicts, schema=schema))


def test_formats_parsed_side_by_side_are_what_each_parses_alone(tmp_path, demo_dir, monkeypatch):
    """A load of several formats' few files shares the workers between the formats, which dlt
    reads in turns: each format's rows, quarantine rows and counts are what it parses alone, and
    the workers stop when every format is read."""
    monkeypatch.setattr(parse, "PARALLEL_MIN_BYTES", 0)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('not json\n{"x": 1}\n[1]\n')
    files = {s: f[:2] for s, f in source_files(demo_dir).items() if s in FORMATS}
    files["bimo-gateway"].insert(1, broken)
    alone = {s: _parse(s, f, 1, monkeypatch) for s, f in files.items()}
    assert shared_pool(files) is None  # one worker: nothing to share

    monkeypatch.setenv("BIMO_PARSE_WORKERS", "2")
    pool = shared_pool(files)
    assert pool is not None
    stats = {s: FormatStats() for s in files}
    readers = {
        s: parse_files(s, f, stats=stats[s], batch_rows=700, pool=pool) for s, f in files.items()
    }
    out: dict[str, list] = {s: [] for s in files}
    while readers:  # one item from each in turn, as dlt's round robin reads its resources
        for source, reader in list(readers.items()):
            item = next(reader, None)
            if item is None:
                del readers[source]
            else:
                out[source].append(item)
    for source, items in out.items():
        rows = pa.concat_tables(items[:-1]).drop_columns(["_loaded_at"])
        bad = [{k: v for k, v in b.items() if k != "quarantined_at"} for b in items[-1]]
        assert rows.equals(alone[source][0]), source  # same rows, same order
        assert bad == alone[source][1], source
        assert asdict(stats[source]) == asdict(alone[source][2]), source
    assert alone["bimo-gateway"][2].quarantined == 3
    assert all(proc.poll() is not None for proc in pool._procs)


def test_a_shared_pool_gives_each_consumer_its_own_results_in_order():
    pool = SharedPool(pow, 2)  # builtins.pow: importable in the workers
    pool.add("squares", [(i, 2) for i in range(9)], ahead=1)
    pool.add("cubes", [(i, 3) for i in range(6)], ahead=3)
    squares, cubes = pool.results("squares"), pool.results("cubes")
    got = [next(cubes), next(cubes)]  # read ahead of the other consumer's results
    got += list(squares)
    got += list(cubes)
    assert got == [0, 1, *(i * i for i in range(9)), *(i**3 for i in range(2, 6))]
    assert all(proc.poll() is not None for proc in pool._procs)  # both read: workers stopped


def test_a_shared_pool_raises_a_task_error_and_a_dead_worker():
    pool = SharedPool(pow, 2)
    pool.add("fine", [(2, 2), (3, 2)], ahead=2)
    pool.add("bad", [(0, -1)], ahead=1)  # 0 ** -1: ZeroDivisionError in the worker
    with pytest.raises(ZeroDivisionError):
        list(pool.results("bad"))
    assert list(pool.results("fine")) == [4, 9]
    dying = SharedPool(os._exit, 2)
    dying.add("a", [(3,)], ahead=1)
    dying.add("b", [(3,)], ahead=1)
    with pytest.raises(WorkerError, match="exited with code 3"):
        list(dying.results("b"))
    dying.close()
