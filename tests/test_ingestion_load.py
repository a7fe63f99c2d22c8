"""dlt loads of each format into a temporary DuckDB: rows, quarantine, dedupe, windows."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from bimo.settings import get_settings
from ingestion.formats import FORMATS
from ingestion.load import load_files
from tests.conftest import source_files


def labelled_malformed(demo_dir, source):
    labels = json.loads((demo_dir / "labels.json").read_text())
    return {(m["file"], m["line"]) for m in labels["malformed"] if m["file"].startswith(source)}


@pytest.mark.parametrize("source", list(FORMATS))
def test_each_format_loads_and_quarantines_exactly_the_malformed(tmp_path, demo_dir, source):
    settings = get_settings(tmp_path / "w.duckdb")
    files = {source: source_files(demo_dir)[source]}
    first = load_files(files, settings=settings)
    stats = first.stats[source]
    labels = json.loads((demo_dir / "labels.json").read_text())
    assert first.added[source] == stats.rows == labels["counts"][source] > 0
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        table = FORMATS[source].TABLE
        n, distinct = con.sql(
            f"select count(*), count(distinct request_id) from raw_gateway.{table}"
        ).fetchall()[0]
        assert n == distinct == stats.rows
        quarantined = {
            (str(Path(f).relative_to(demo_dir)), line)
            for f, line in con.sql(
                "select file, line from raw_gateway.quarantine where source = ?", params=[source]
            ).fetchall()
        }
        reasons = con.sql("select reason from raw_gateway.quarantine").fetchall()
    finally:
        con.close()
    assert quarantined == labelled_malformed(demo_dir, source)
    assert all(r[0] for r in reasons)
    again = load_files(files, settings=settings)
    assert again.added[source] == 0
    assert again.duplicates(source) == stats.rows


def test_window_keeps_only_requests_in_range(tmp_path, demo_dir):
    settings = get_settings(tmp_path / "w.duckdb")
    window = (datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 10, 22, tzinfo=UTC))
    summary = load_files(
        {"bimo-gateway": source_files(demo_dir)["bimo-gateway"]}, settings=settings, window=window
    )
    st = summary.stats["bimo-gateway"]
    assert st.rows > 0 and st.out_of_window > st.rows
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    lo, hi = con.sql(
        "select min(started_at), max(started_at) from raw_gateway.bimo_gateway_requests"
    ).fetchall()[0]
    con.close()
    assert window[0] <= lo and hi < window[1]


PROBE = """
import sys
import dlt
from bimo.settings import get_settings

settings = get_settings(sys.argv[2])
if sys.argv[1] == "dagster":  # the definitions every Dagster process loads make a source
    import orchestration.definitions
elif sys.argv[1] == "bimo":
    from ingestion.load import make_pipeline

    make_pipeline(settings, dataset="probe").run([{"a": 1}], table_name="t")
else:  # dlt as it comes, no Bimo ingestion module imported (importing one sets dlt up)
    pipeline = dlt.pipeline(
        pipeline_name="plain", destination=dlt.destinations.duckdb(str(settings.warehouse)),
        dataset_name="probe", pipelines_dir=str(settings.dlt_dir),
    )
    pipeline.run([{"a": 1}], table_name="t")
print("streamlit imported:", "streamlit" in sys.modules)
"""


def test_a_load_does_not_import_streamlit_to_look_for_secrets(tmp_path):
    """Without a secrets.toml dlt looks in Streamlit's secrets, importing streamlit (0.3–0.5 s
    of every load process); Bimo's pipelines, and the Dagster definitions (which call a dlt
    source to list its assets), leave that to Streamlit apps (a fresh process each, in a folder
    without `.dlt`)."""

    def imported(kind: str) -> bool:
        proc = subprocess.run(
            [sys.executable, "-c", PROBE, kind, str(tmp_path / f"{kind}.duckdb")],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "RUNTIME__DLTHUB_TELEMETRY": "false",
                "BIMO_WAREHOUSE": str(tmp_path / f"{kind}.duckdb"),
            },
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        return "streamlit imported: True" in proc.stdout

    if not imported("plain"):
        pytest.skip("dlt found a secrets.toml on this machine and does not look in Streamlit")
    assert not imported("bimo")
    assert not imported("dagster")
