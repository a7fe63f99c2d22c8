"""Security: file sources stay inside their roots (`BIMO_FILE_ROOTS` and the landing folder).
Paths that escape by dotdot, absolute path, symlinked file or folder or glob are refused for
gateway logs and billing exports, `bimo load` refuses the whole load when one path escapes, and
the Dagster landing readers skip symlinks that point out of the landing folder."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb
import pytest

from bimo.settings import get_settings
from tests.reliability.security_support import (
    gateway_logs,
)


@pytest.fixture
def roots(tmp_path, monkeypatch):
    """A root with logs, a folder outside it with a canary log, and escaping symlinks."""
    inside, outside = tmp_path / "root", tmp_path / "outside"
    (inside / "logs").mkdir(parents=True)
    outside.mkdir()
    record = gateway_logs("p", "r")["bimo-gateway"][0]
    import json

    (inside / "logs" / "ok.jsonl").write_text(json.dumps(record) + "\n")
    (outside / "stolen.jsonl").write_text(json.dumps(record | {"request_id": "stolen"}) + "\n")
    (inside / "links").mkdir()
    (inside / "links" / "file.jsonl").symlink_to(outside / "stolen.jsonl")
    (inside / "dirlink").symlink_to(outside, target_is_directory=True)
    (inside / "logs" / "good-link.jsonl").symlink_to(inside / "logs" / "ok.jsonl")
    monkeypatch.setenv("BIMO_FILE_ROOTS", str(inside))
    monkeypatch.setenv("BIMO_WAREHOUSE", str(tmp_path / "wh" / "w.duckdb"))
    return inside, outside


ESCAPES = {
    "dotdot": "{root}/logs/../../outside/stolen.jsonl",
    "absolute": "{outside}/stolen.jsonl",
    "symlinked file": "{root}/links/file.jsonl",
    "symlinked folder": "{root}/dirlink",
    "file in a symlinked folder": "{root}/dirlink/stolen.jsonl",
    "folder holding an escaping symlink": "{root}/links",
    "glob with dotdot": "{root}/../outside/*.jsonl",
    "glob through a symlinked folder": "{root}/**/*.jsonl",
    "relative dotdot": "../../outside/stolen.jsonl",
}


@pytest.mark.parametrize("path", list(ESCAPES.values()), ids=list(ESCAPES))
def test_a_path_outside_the_roots_is_refused(roots, path, monkeypatch):
    from ingestion.readers import OutsideRootsError, expand_paths

    inside, outside = roots
    monkeypatch.chdir(inside / "logs")
    raw = path.format(root=inside, outside=outside)
    with pytest.raises(OutsideRootsError, match=r"refusing .*outside the file roots") as err:
        expand_paths([raw], roots=get_settings().file_roots)
    assert str(inside) in str(err.value) and "BIMO_FILE_ROOTS" in str(err.value)


@pytest.mark.parametrize(
    "path",
    ["{root}/logs/ok.jsonl", "{root}/logs", "{root}/logs/*.jsonl", "{root}/logs/good-link.jsonl"],
)
def test_a_path_inside_the_roots_is_read(roots, path):
    from ingestion.readers import expand_paths

    inside, _ = roots
    found = expand_paths([path.format(root=inside)], roots=get_settings().file_roots)
    assert found == [inside / "logs" / "ok.jsonl"]


def test_billing_paths_are_held_to_the_same_roots(roots):
    from ingestion.billing.files import expand_billing_paths
    from ingestion.readers import OutsideRootsError

    inside, outside = roots
    (outside / "focus.csv").write_text("x\n")
    (inside / "links" / "focus.csv").symlink_to(outside / "focus.csv")
    for raw in (outside / "focus.csv", inside / "links", f"{inside}/../outside/*.csv"):
        with pytest.raises(OutsideRootsError):
            expand_billing_paths([raw], roots=get_settings().file_roots)


def test_default_roots_are_the_landing_folder_and_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("BIMO_FILE_ROOTS", raising=False)
    monkeypatch.chdir(tmp_path)
    s = get_settings(tmp_path / "wh" / "w.duckdb")
    assert s.file_roots == (tmp_path / "wh" / "landing", tmp_path.resolve())
    monkeypatch.setenv("BIMO_FILE_ROOTS", os.pathsep.join(["/srv/exports", "", "/data"]))
    s = get_settings(tmp_path / "wh" / "w.duckdb")  # the landing folder is always a root
    assert s.file_roots == (tmp_path / "wh" / "landing", Path("/srv/exports"), Path("/data"))


def test_bimo_load_refuses_the_whole_load_when_one_path_escapes(roots, capsys):
    from bimo.cli import main

    inside, outside = roots
    wh = get_settings().warehouse
    code = main(["load", "bimo-gateway", str(inside / "logs"), str(inside / "dirlink"),
                 "--no-build"])  # fmt: skip
    out = " ".join(capsys.readouterr().out.split())
    assert code == 2 and f"refusing {inside / 'dirlink'}" in out and str(outside) in out
    assert not wh.exists()  # nothing loaded, not even the file that was inside
    assert main(["load", "bimo-gateway", str(inside / "logs"), "--no-build"]) == 0
    con = duckdb.connect(str(wh), read_only=True)
    try:
        ids = con.sql("select request_id from raw_gateway.bimo_gateway_requests").fetchall()
    finally:
        con.close()
    assert ids == [("gw-0",)]


def test_dagster_landing_readers_skip_symlinks_out_of_landing(tmp_path, monkeypatch):
    from orchestration.defs.billing import export_files
    from orchestration.defs.ingestion import landing_files
    from orchestration.defs.saas import saved_files

    landing, outside = tmp_path / "wh" / "landing", tmp_path / "outside"
    outside.mkdir()
    (outside / "stolen.jsonl").write_text("{}\n")
    (outside / "focus.csv").write_text("x\n")
    targets = {
        "bimo-gateway": "stolen.jsonl",
        "saas/slack-billable": "stolen.jsonl",
        "billing/focus": "focus.csv",
    }
    for folder, name in targets.items():
        (landing / folder).mkdir(parents=True)
        (landing / folder / f"ok-2026-10-01.{name.split('.')[1]}").write_text("{}\n")
        (landing / folder / f"link-2026-10-01.{name.split('.')[1]}").symlink_to(outside / name)
    (landing / "bimo-gateway" / "dir").symlink_to(outside, target_is_directory=True)
    settings = get_settings(tmp_path / "wh" / "w.duckdb")
    warned: list[str] = []
    found = {
        "gateway": landing_files(settings, warned.append)["bimo-gateway"],
        "saas": saved_files(settings, date(2026, 10, 1), date(2026, 10, 2), warned.append)[
            "slack-billable"
        ],
        "billing": export_files(settings, warned.append)["focus"],
    }
    for files in found.values():
        assert [f.name.split("-")[0] for f in files] == ["ok"], files
    assert len(warned) >= 3 and all("outside" in w and str(outside) in w for w in warned)
