"""Which landing files the Dagster gateway assets read for a partition window."""

import os
from datetime import UTC, date, datetime, timedelta

from bimo.settings import get_settings
from orchestration.defs.ingestion import landing_files


def _touch(path, when: datetime) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"request_id": "x"}\n')
    os.utime(path, (when.timestamp(), when.timestamp()))


def test_files_last_written_before_the_window_are_not_read(tmp_path, monkeypatch):
    monkeypatch.setenv("BIMO_LANDING_DIR", str(tmp_path / "landing"))
    settings = get_settings(tmp_path / "warehouse.duckdb")
    start = datetime(2026, 10, 20, tzinfo=UTC)
    folder = settings.landing_dir / "bimo-gateway"
    _touch(folder / "old.jsonl", start - timedelta(days=3))
    _touch(folder / "skew.jsonl", start - timedelta(hours=20))  # within the clock-skew day
    _touch(folder / "late-file-for-an-old-day.jsonl", start + timedelta(days=9))
    everything = landing_files(settings)["bimo-gateway"]
    window = landing_files(settings, since=start)["bimo-gateway"]
    assert [p.name for p in everything] == [
        "late-file-for-an-old-day.jsonl",
        "old.jsonl",
        "skew.jsonl",
    ]
    assert [p.name for p in window] == ["late-file-for-an-old-day.jsonl", "skew.jsonl"]


def test_demo_log_files_are_last_written_when_their_day_closes(tmp_path):
    from bimo.demo import generate

    generate(tmp_path, days=2, requests_per_day=20, seed=3, end=date(2026, 10, 31))
    for source in ("bimo-gateway", "litellm", "otel-genai", "cli-log"):
        for path in (tmp_path / source).iterdir():
            day = date.fromisoformat(path.name.split(".")[0][-10:])
            written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            assert written == datetime(day.year, day.month, day.day, 0, 10, tzinfo=UTC) + (
                timedelta(days=1)
            ), path
