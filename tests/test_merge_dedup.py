"""The merge's dedup (`ingestion.destination`): one row per key of a load, the first staged one,
for single and composite keys, and the same keys dlt's own SQL keeps."""

import json

import duckdb
import pytest

from bimo.settings import get_settings
from ingestion.destination import _Client, _Merge
from ingestion.load import load_files, make_pipeline
from tests.conftest import query


def _record(request_id: str, model: str) -> str:
    return json.dumps(
        {
            "schema": "bimo.gateway.v1",
            "request_id": request_id,
            "timestamp": "2026-10-20T10:00:00Z",
            "provider": "openai",
            "model": model,
            "usage": {"input_tokens": 10, "output_tokens": 5},
        }
    )


def test_a_load_keeps_one_row_per_request_id_the_first_staged(tmp_path):
    """Ids repeated inside a file and across two files of one load: one row each; inside the
    file, its first copy. A bad line listed twice (the same file twice) is quarantined once:
    the quarantine's key is (source, file, line)."""
    a = tmp_path / "a.jsonl"
    a.write_text(
        "\n".join([_record("r1", "first"), _record("r2", "m"), _record("r1", "second"), "{bad"])
        + "\n"
    )
    b = tmp_path / "b.jsonl"
    b.write_text("\n".join([_record("r2", "m"), _record("r3", "m")]) + "\n")
    settings = get_settings(tmp_path / "w.duckdb")
    summary = load_files({"bimo-gateway": [a, b, a]}, settings=settings)
    rows = query(
        settings,
        "select request_id, model, count(*) over (partition by request_id) "
        "from raw_gateway.bimo_gateway_requests order by request_id",
    )
    assert rows == [("r1", "first", 1), ("r2", "m", 1), ("r3", "m", 1)]
    assert summary.added["bimo-gateway"] == 3
    assert summary.duplicates("bimo-gateway") == 8 - 3  # 8 rows parsed (a twice, b once)
    quarantined = query(
        settings, "select file, line, count(*) from raw_gateway.quarantine group by all"
    )
    assert quarantined == [(str(a), 4, 1)]


def test_every_bimo_pipeline_merges_with_the_cheaper_dedup_under_dlts_own_type(tmp_path):
    pipeline = make_pipeline(get_settings(tmp_path / "w.duckdb"))
    assert pipeline.destination.destination_type == "dlt.destinations.duckdb"
    assert pipeline.destination.destination_name == "duckdb"
    assert pipeline.destination.client_class is _Client


@pytest.mark.parametrize("keys", [["k"], ["k", "j"]])
@pytest.mark.parametrize("condition", [None, "v % 3 <> 0"])
def test_the_dedup_keeps_the_keys_dlts_window_keeps_and_the_first_row_of_each(keys, condition):
    con = duckdb.connect()
    con.execute(
        "create table t as select (i * 7919) % 50 as k, (i * 31) % 3 as j, i as v "
        "from range(2000) r(i)"
    )
    columns = ['"k"', '"j"', '"v"']
    ours = _Merge.gen_select_from_dedup_sql("t", keys, columns, condition=condition)
    dlts = super(_Merge, _Merge).gen_select_from_dedup_sql("t", keys, columns, condition=condition)
    assert "ROW_NUMBER" not in ours and "ROW_NUMBER" in dlts
    mine = con.sql(ours).fetchall()
    theirs = con.sql(dlts).fetchall()
    by_key = lambda rows: sorted(tuple(r[i] for i in (0, 1)[: len(keys)]) for r in rows)  # noqa: E731
    assert by_key(mine) == sorted(set(by_key(mine)))  # one row per key
    if condition is None:  # dlt keeps an arbitrary row of each key: compare the keys only
        distinct = con.sql(f"select count(distinct ({', '.join(keys)})) from t").fetchall()[0][0]
        assert by_key(mine) == by_key(theirs) and len(mine) == len(theirs) == distinct
    # the first row of each key (the smallest v: v follows the insertion order), filtered
    first = con.sql(
        f"select {', '.join(keys)}, min(v) as v from t group by all "
        f"having {condition.replace('v', 'min(v)') if condition else 'true'}"
    ).fetchall()
    assert sorted(r[-1] for r in mine) == sorted(r[-1] for r in first)
