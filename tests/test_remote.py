"""Folders and object-store URLs through dlt's `filesystem` source: mirroring, mtimes,
incremental re-runs, globs, errors, path safety, and `bimo load` / Dagster reading a URL."""

import csv
import gzip
import io
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import fsspec
import pytest

from bimo.settings import get_settings
from ingestion import remote
from ingestion.remote import RemoteError, fetch, mirror_landing, safe_path, split_url

BIMO = str(Path(sys.executable).parent / "bimo")
FOCUS = Path(__file__).parent / "billing" / "data" / "focus" / "focus_1_3.csv"
T0 = datetime(2025, 2, 3, 4, 5, 6, 123456, tzinfo=UTC)


def put(path: Path, data: bytes, when: datetime) -> Path:
    """Write a 'remote' file with a chosen modification time (to the microsecond)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    ns = (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000
    os.utime(path, ns=(ns, ns))
    return path


def micros(path: Path) -> int:
    return path.stat().st_mtime_ns // 1000


@pytest.fixture
def bucket(tmp_path) -> Path:
    """A 'remote' folder: two CSVs (one nested), a gzip JSONL and a manifest."""
    root = tmp_path / "bucket"
    put(root / "a.csv", b"x,y\n1,2\n", T0)
    put(root / "sub" / "b.csv", b"x,y\n3,4\n5,6\n", T0 + timedelta(hours=1))
    put(root / "sub" / "c.jsonl.gz", gzip.compress(b'{"k": 1}\n'), T0 + timedelta(hours=2))
    put(root / "sub" / "r-Manifest.json", b"{}", T0)
    return root


def test_folder_url_is_mirrored_with_remote_mtimes(tmp_path, bucket):
    cache = tmp_path / "cache"
    result = fetch(bucket.as_uri(), cache_root=cache)
    assert result.root == cache / "file" / str(bucket).lstrip("/")
    assert result.folder and (result.downloaded, result.reused) == (4, 0)
    assert sorted(f.relative_to(result.root).as_posix() for f in result.files) == [
        "a.csv", "sub/b.csv", "sub/c.jsonl.gz", "sub/r-Manifest.json",
    ]  # fmt: skip
    for local in result.files:
        original = bucket / local.relative_to(result.root)
        assert local.read_bytes() == original.read_bytes()  # gzip stays compressed
        assert micros(local) == micros(original)
    assert micros(result.root / "sub" / "b.csv") == T0.timestamp() * 1e6 + 3600e6
    assert "4 files (4 downloaded, 0 reused)" in str(result)


def test_rerun_reuses_unchanged_files_and_refetches_changed_ones(tmp_path, bucket):
    cache = tmp_path / "cache"
    first = fetch(bucket.as_uri(), cache_root=cache)
    # Same size and mtime but other bytes in the mirror: a re-run that downloaded would fix it.
    marker = first.root / "a.csv"
    put(marker, b"X" * marker.stat().st_size, T0)
    again = fetch(bucket.as_uri(), cache_root=cache)
    assert (again.downloaded, again.reused) == (0, 4)
    assert marker.read_bytes().startswith(b"XXX")
    put(bucket / "sub" / "b.csv", b"x,y\n7,8\n", T0 + timedelta(days=1))
    (bucket / "sub" / "r-Manifest.json").unlink()
    changed = fetch(bucket.as_uri(), cache_root=cache)
    assert (changed.downloaded, changed.reused) == (1, 2)
    assert (changed.root / "sub" / "b.csv").read_bytes() == b"x,y\n7,8\n"
    assert micros(changed.root / "sub" / "b.csv") == micros(bucket / "sub" / "b.csv")
    assert not (changed.root / "sub" / "r-Manifest.json").exists()  # gone remotely, pruned


def test_globs_select_files_and_bring_manifests_along(tmp_path, bucket):
    cache = tmp_path / "cache"
    assert split_url("s3://bkt/exports/**/*.csv.gz") == remote.Location(
        "s3://bkt/exports", "**/*.csv.gz", is_glob=True
    )
    result = fetch(f"{bucket.as_uri()}/**/*.csv", cache_root=cache)
    assert not result.folder
    assert sorted(f.name for f in result.files) == ["a.csv", "b.csv"]
    nested = fetch(f"{bucket.as_uri()}/sub/*.csv", cache_root=cache, extra_globs=["*.json"])
    assert [f.name for f in nested.files] == ["b.csv"]
    assert (nested.root / "r-Manifest.json").is_file()  # mirrored beside, not returned
    single = fetch((bucket / "sub" / "b.csv").as_uri(), cache_root=cache)
    assert [f.name for f in single.files] == ["b.csv"] and not single.folder


def test_memory_filesystem_urls(tmp_path):
    fs = fsspec.filesystem("memory")
    root = f"/bimo-test-{uuid.uuid4().hex}"
    fs.pipe(f"{root}/exports/a.csv", b"1,2\n")
    fs.pipe(f"{root}/exports/deep/b.csv", b"3,4\n")
    fs.pipe(f"{root}/exports/deep/skip.txt", b"no")
    try:
        url = f"memory://{root}/exports/**/*.csv"
        first = fetch(url, cache_root=tmp_path)
        assert sorted(f.name for f in first.files) == ["a.csv", "b.csv"]
        created = fs.info(f"{root}/exports/a.csv")["created"]  # memory:// has no mtime
        assert micros(first.root / "a.csv") == round(created.timestamp() * 1e6)
        assert fetch(url, cache_root=tmp_path).reused == 2
        fs.pipe(f"{root}/exports/a.csv", b"9,9,9\n")
        again = fetch(url, cache_root=tmp_path)
        assert (again.downloaded, again.reused) == (1, 1)
        assert (again.root / "a.csv").read_bytes() == b"9,9,9\n"
    finally:
        fs.rm(root, recursive=True)


def test_unknown_or_missing_urls_are_clear_errors(tmp_path):
    with pytest.raises(RemoteError, match=r"no files at file://.*/nowhere \(it does not exist"):
        fetch((tmp_path / "nowhere").as_uri(), cache_root=tmp_path)
    with pytest.raises(RemoteError, match=r"cannot list nope://bucket/x: Protocol not known"):
        fetch("nope://bucket/x", cache_root=tmp_path)
    # Credentials in a URL never reach the message (port 1 refuses at once, offline).
    with pytest.raises(RemoteError) as err:
        fetch("ftp://bimo:hunter2-secret@127.0.0.1:1/x?sig=sas-token-xyz", cache_root=tmp_path)
    message = str(err.value)
    assert message.startswith("cannot list ftp://bimo:***@127.0.0.1:1/x?***")
    assert "hunter2" not in message and "sas-token" not in message
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_paths_never_leave_the_cache(tmp_path, monkeypatch, bucket):
    root = tmp_path / "cache"
    for bad in ("../evil", "a/../../evil", "/etc/passwd", "", "."):
        with pytest.raises(RemoteError, match="outside the mirror folder"):
            safe_path(root, bad)
    (root / "link").parent.mkdir(parents=True)
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(RemoteError, match="outside the mirror folder"):
        safe_path(root, "link/evil")
    with pytest.raises(RemoteError, match=r"'\.\.' is not allowed"):
        split_url(f"{bucket.as_uri()}/../*")
    # A listing that names a path above its folder is refused before anything is written.
    listed = remote.list_files(split_url(bucket.as_uri()))
    listed[0]["relative_path"] = "../../escaped.csv"
    monkeypatch.setattr(remote, "list_files", lambda _loc: listed)
    with pytest.raises(RemoteError, match="outside the mirror folder"):
        fetch(bucket.as_uri(), cache_root=root)
    assert not list(tmp_path.rglob("escaped.csv"))


def test_landing_url_is_mirrored_into_the_landing_folder(tmp_path, monkeypatch):
    source = tmp_path / "remote-landing"
    put(source / "billing" / "focus" / "f.csv", FOCUS.read_bytes(), T0)
    put(source / "bimo-gateway" / "g.jsonl", b"{}\n", T0)
    landing = tmp_path / "landing"
    put(landing / "billing" / "focus" / "local.csv", FOCUS.read_bytes(), T0)
    monkeypatch.setenv("BIMO_LANDING_DIR", str(landing))
    monkeypatch.delenv("BIMO_LANDING_URL", raising=False)
    assert mirror_landing(get_settings(tmp_path / "w.duckdb"), "billing") is None
    monkeypatch.setenv("BIMO_LANDING_URL", source.as_uri())
    settings = get_settings(tmp_path / "w.duckdb")
    logged = []
    result = mirror_landing(settings, "billing", log=logged.append)
    assert result.files == [landing / "billing" / "focus" / "f.csv"]
    assert micros(landing / "billing" / "focus" / "f.csv") == micros(source / "billing/focus/f.csv")
    assert (landing / "billing" / "focus" / "local.csv").exists()  # local files are kept
    assert not (landing / "bimo-gateway").exists()
    assert logged == [
        f"mirrored {source.as_uri()}: 1 files (1 downloaded, 0 reused) into {landing}"
    ]


# --- `bimo load` and Dagster reading a URL ---------------------------------------------------


def bimo(*args, env: dict, code: int = 0) -> str:
    """Run `bimo`; its output with rich's line wrapping undone."""
    proc = subprocess.run([BIMO, *args], capture_output=True, text=True, env={**os.environ, **env})
    assert proc.returncode == code, proc.stdout + proc.stderr
    return " ".join(proc.stdout.split())


def focus_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def focus_deliveries(folder: Path) -> list[dict]:
    """A month-to-date delivery and, written later but named first, its restatement."""
    base = list(csv.DictReader(FOCUS.open(encoding="utf-8")))
    restated = [
        {**base[0], "BilledCost": "10.5"},
        {**base[1], "BilledCost": "2"},
        {**base[0], "BilledCost": "0.25", "ChargeDescription": "late usage"},
    ]
    put(folder / "2025-01" / "b-month-to-date.csv", focus_csv(base), T0)
    put(folder / "2025-01" / "a-restated.csv", focus_csv(restated), T0 + timedelta(days=9))
    return restated


def line_items(warehouse: Path) -> tuple[int, Decimal]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.sql("select count(*), sum(billed_cost) from raw_billing.line_items").fetchall()[
            0
        ]
    finally:
        con.close()


@pytest.mark.slow
def test_bimo_load_focus_from_a_url(tmp_path):
    restated = focus_deliveries(tmp_path / "bucket" / "focus")
    env = {"BIMO_LANDING_DIR": str(tmp_path / "landing")}
    wh = tmp_path / "w.duckdb"
    url = f"{(tmp_path / 'bucket').as_uri()}/focus/**/*.csv"
    out = bimo("load", "focus", url, "--warehouse", str(wh), "--no-build", env=env)
    assert "2 files (2 downloaded, 0 reused)" in out and "3 rows loaded" in out
    # The later delivery wins on its remote mtime, kept by the mirror.
    assert line_items(wh) == (len(restated), Decimal("12.75"))
    mirrored = tmp_path / "landing" / ".remote" / "file" / str(tmp_path).lstrip("/") / "bucket"
    assert micros(mirrored / "focus" / "2025-01" / "a-restated.csv") == micros(
        tmp_path / "bucket" / "focus" / "2025-01" / "a-restated.csv"
    )
    again = bimo("load", "focus", url, "--warehouse", str(wh), "--no-build", env=env)
    assert "2 files (0 downloaded, 2 reused)" in again
    assert line_items(wh) == (len(restated), Decimal("12.75"))
    missing = (tmp_path / "missing").as_uri()
    err = bimo("load", "focus", missing, "--warehouse", str(wh), env=env, code=2)
    assert f"error: no files at {missing}" in err and "Traceback" not in err


@pytest.mark.slow
def test_bimo_load_gateway_logs_from_a_folder_url(tmp_path):
    records = [
        {
            "schema": "bimo.gateway.v1",
            "request_id": f"req-{i}",
            "timestamp": f"2026-10-{1 + i % 28:02d}T12:00:00Z",
            "provider": "openai",
            "model": "gpt-4o",
            "usage": {"input_tokens": 10 + i, "output_tokens": 5},
        }
        for i in range(40)
    ]
    lines = [json.dumps(r).encode() + b"\n" for r in records]
    bucket = tmp_path / "bucket"
    put(bucket / "2026-10-01.jsonl", b"".join(lines[:25]), T0)
    put(bucket / "deep" / "2026-10-02.jsonl.gz", gzip.compress(b"".join(lines[25:])), T0)
    put(bucket / "README.txt", b"not a log", T0)  # a folder reads JSON files only
    wh = tmp_path / "w.duckdb"
    env = {"BIMO_LANDING_DIR": str(tmp_path / "landing")}
    out = bimo(
        "load", "bimo-gateway", bucket.as_uri(), "--warehouse", str(wh), "--no-build", env=env
    )
    assert "3 files (3 downloaded, 0 reused)" in out
    assert "40 records in 2 files" in out and "40 rows loaded" in out and "0 quarantined" in out
    con = duckdb.connect(str(wh), read_only=True)
    try:
        n, tokens = con.sql(
            "select count(*), sum(input_tokens) from raw_gateway.bimo_gateway_requests"
        ).fetchall()[0]
    finally:
        con.close()
    assert n == len(records) and tokens == sum(10 + i for i in range(40))


@pytest.mark.slow
def test_dagster_billing_asset_reads_the_landing_url(tmp_path, monkeypatch):
    import dagster as dg

    from orchestration.defs.billing import billing_assets

    restated = focus_deliveries(tmp_path / "bucket" / "billing" / "focus")
    monkeypatch.setenv("BIMO_WAREHOUSE", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("BIMO_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("BIMO_LANDING_URL", (tmp_path / "bucket").as_uri())
    for key in ("OPENAI_ADMIN_KEY", "ANTHROPIC_ADMIN_KEY"):
        monkeypatch.delenv(key, raising=False)
    result = dg.materialize([billing_assets], partition_key="2025-01-01", raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert (tmp_path / "landing" / "billing" / "focus" / "2025-01" / "a-restated.csv").is_file()
    assert line_items(tmp_path / "w.duckdb") == (len(restated), Decimal("12.75"))
