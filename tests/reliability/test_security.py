"""Security: no content or secret reaches the warehouse, dlt state or any log; the SQL sandbox
holds against adversarial queries; file sources stay inside their roots; errors mask secrets."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
import time
import traceback
from contextlib import redirect_stderr, redirect_stdout
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from bimo.settings import DBT_PROJECT_DIR, get_settings
from bimo.sql import QueryError, audit, run_query
from bimo.warehouse import read_connection, write_connection
from tests.conftest import build
from tests.reliability.security_support import (
    canary,
    echo_server,
    files_under,
    forms,
    gateway_logs,
    hits,
    scan_files,
    write_logs,
)

BIMO = str(Path(sys.executable).parent / "bimo")
END = date(2026, 10, 3)
ORG = "acme-robotics"
SECRET_ENV = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_ADMIN_KEY", "ANTHROPIC_ADMIN_KEY",
              "GITHUB_TOKEN", "SLACK_TOKEN", "ZOOM_TOKEN", "AWS_SECRET_ACCESS_KEY")  # fmt: skip


# --- 1. canaries: content and secrets never stored or logged -----------------------------------


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(record.getMessage())
        except Exception:  # a record whose args do not format is still scanned raw
            self.lines.append(f"{record.msg!r} {record.args!r}")
        if record.exc_info:
            self.lines.append("".join(traceback.format_exception(*record.exc_info)))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One real pipeline run with canaries everywhere: gateway logs of all four formats whose
    content fields hold prompt/response canaries (one format through the `bimo load` CLI),
    billing and SaaS API pulls over HTTP on 127.0.0.1 with canary keys from the environment,
    then `dbt build` and the read copy. Returns what to scan."""
    from bimo.demo import generate
    from bimo.demo.api_server import serve_demo_apis
    from bimo.demo.saas_server import serve_saas_apis
    from ingestion.billing.apis import API_SOURCES
    from ingestion.billing.apis import fetch as fetch_billing
    from ingestion.billing.load import load_billing
    from ingestion.load import load_files
    from ingestion.saas import fetch as fetch_saas
    from ingestion.saas.load import load_saas

    tmp = tmp_path_factory.mktemp("canary")
    secrets = {name: f"sk-canary-{name.lower()}-{canary('KEY')[-12:]}" for name in SECRET_ENV}
    content = {k: canary(k) for k in ("PROMPT", "RESPONSE", "BROKEN")}
    settings = get_settings(tmp / "wh" / "warehouse.duckdb")
    files = write_logs(
        settings.landing_dir, gateway_logs(content["PROMPT"], content["RESPONSE"]),
        content["BROKEN"],
    )  # fmt: skip
    demo = tmp / "demo"
    generate(demo, days=3, requests_per_day=10, seed=5, end=END)
    start = time.time() - 1
    collect, root = _Collect(), logging.getLogger()
    old_level = root.level
    root.addHandler(collect)
    root.setLevel(logging.DEBUG)
    out, err = io.StringIO(), io.StringIO()
    try:
        with pytest.MonkeyPatch.context() as mp, redirect_stdout(out), redirect_stderr(err):
            for name, value in secrets.items():
                mp.setenv(name, value)
            mp.setenv("BIMO_GITHUB_ORG", ORG)
            cli = subprocess.run(
                [BIMO, "load", "bimo-gateway", str(files["bimo-gateway"][0]),
                 "--warehouse", str(settings.warehouse), "--no-build"],
                capture_output=True, text=True, env={**os.environ},
            )  # fmt: skip
            assert cli.returncode == 0, cli.stdout + cli.stderr
            load_files({s: f for s, f in files.items() if s != "bimo-gateway"}, settings=settings)
            server, url = serve_demo_apis(demo)
            try:
                window = {"start": END - timedelta(days=2), "end": END + timedelta(days=1)}
                pulls = [fetch_billing(s, base_url=url, **window) for s in API_SOURCES]
            finally:
                server.shutdown()
            load_billing(pulls, settings=settings)
            with serve_saas_apis(demo, day=END) as saas:
                pulls = [
                    fetch_saas("github-copilot-seats", base_url=saas.github, as_of=END),
                    fetch_saas("slack-billable", base_url=saas.slack, as_of=END),
                    fetch_saas("zoom-users", base_url=saas.zoom, as_of=END),
                ]
            load_saas(pulls, settings=settings)
            build(settings)
    finally:
        root.removeHandler(collect)
        root.setLevel(old_level)
    text = [cli.stdout, cli.stderr, out.getvalue(), err.getvalue(), *collect.lines]
    return {
        "settings": settings,
        "needles": [*content.values(), *secrets.values()],
        "inputs": [f for fs in files.values() for f in fs],
        "text": "\n".join(text),
        "start": start,
    }


def _stored_files(run) -> list[Path]:
    s = run["settings"]
    return [f for f in files_under(s.warehouse.parent) if not f.is_relative_to(s.landing_dir)]


def test_the_run_loaded_everything_and_the_scanner_sees_canaries(run):
    """Not vacuous: every input holds its canary, the scanner finds every encoded form, and the
    warehouse holds the requests, the quarantined lines and the API pulls."""
    assert all(scan_files([f], run["needles"]) for f in run["inputs"])
    needle = run["needles"][0]
    for form, raw in forms(needle).items():
        assert hits(b"..." + raw + b"...", [needle]), form
    import base64

    assert hits(base64.b64encode(b"xy" + needle.encode() + b"z"), [needle])
    con = read_connection(run["settings"])
    try:
        counts = dict(
            con.sql(
                "select 'requests', count(*) from marts.fct_llm_requests union all "
                "select 'quarantined', count(*) from raw_gateway.quarantine union all "
                "select 'billing', count(*) from raw_billing.ai_usage union all "
                "select 'seats', count(*) from raw_saas.slack_billable"
            ).fetchall()
        )
    finally:
        con.close()
    assert counts["requests"] == 8 and counts["quarantined"] == 4, counts
    assert counts["billing"] > 0 and counts["seats"] > 0, counts


def test_no_canary_in_any_stored_file_byte_wise(run):
    """The warehouse, its read copy, the writer lock and dlt's pipeline state and packages."""
    files = _stored_files(run)
    assert any(".dlt_pipelines" in f.parts for f in files)  # dlt state is scanned
    assert any(f.suffix == ".duckdb" for f in files)
    assert scan_files(files, run["needles"]) == {}


def test_no_canary_in_any_table_or_column(run):
    """Byte scans can miss compressed strings, so every row of every table is searched too."""
    leaks = []
    for path in (run["settings"].warehouse, run["settings"].snapshot):
        con = duckdb.connect(str(path), read_only=True)
        try:
            tables = con.sql(
                "select table_schema, table_name from information_schema.tables "
                "where table_type = 'BASE TABLE'"
            ).fetchall()
            for schema, table in tables:
                cond = " or ".join("contains(t::varchar, ?)" for _ in run["needles"])
                n = con.execute(
                    f'select count(*) from "{schema}"."{table}" as t where {cond}', run["needles"]
                ).fetchone()[0]
                if n:
                    leaks.append(f"{path.name}:{schema}.{table} ({n} rows)")
        finally:
            con.close()
    assert len(tables) > 20 and leaks == []


def test_no_canary_in_dbt_logs_or_artifacts(run):
    """dbt writes `logs/` and `target/` in the project folder; scan what this run touched."""
    files = files_under(DBT_PROJECT_DIR / "logs", DBT_PROJECT_DIR / "target", since=run["start"])
    assert files, "dbt wrote no logs or artifacts during the run"
    assert scan_files(files, run["needles"]) == {}


def test_no_canary_in_output_or_logs(run):
    """CLI stdout/stderr, everything printed in-process, every log record, the dbt output."""
    assert hits(run["text"].encode(), run["needles"]) == []


# --- 2. the SQL sandbox: adversarial queries (tests/test_cli_ops.py has the plain ones) ---------

NO_FILES = "cannot read or write files or URLs"
ATTEMPTS = [
    # file readers: case, comments, quoting, schema qualification, lists, concatenation
    ("SELECT * FROM READ_CSV('{csv}')", "read_csv() is not allowed"),
    ("select * from/**/read_csv('{csv}')", "read_csv() is not allowed"),
    ("select * from -- hidden\n read_csv_auto('{csv}')", "read_csv_auto() is not allowed"),
    ("select * from \"read_csv\"('{csv}')", "read_csv() is not allowed"),
    ("select * from system.main.read_csv('{csv}')", "read_csv() is not allowed"),
    ("select * from read_csv(['{csv}', '{csv}'])", "read_csv() is not allowed"),
    ("select * from read_csv('{dir}/' || 'secret.csv')", "read_csv() is not allowed"),
    ("select * from read_text('{csv}'::varchar)", "read_text() is not allowed"),
    ("select * from read_blob('{csv}')", "read_blob() is not allowed"),
    ("select * from read_ndjson_objects('{csv}')", "read_ndjson_objects() is not allowed"),
    ("select * from read_json_auto('{csv}')", "read_json_auto() is not allowed"),
    ("select * from sniff_csv('{csv}')", "sniff_csv() is not allowed"),
    ("select * from parquet_metadata('{dir}/x.parquet')", "parquet_metadata() is not allowed"),
    ("select * from parquet_schema('{dir}/x.parquet')", "parquet_schema() is not allowed"),
    ("select * from read_xlsx('{dir}/x.xlsx')", "read_xlsx() is not allowed"),
    ("select * from sqlite_scan('{dir}/x.db', 't')", "sqlite_scan() is not allowed"),
    ("select * from iceberg_scan('{dir}/ice')", "iceberg_scan() is not allowed"),
    ("select * from st_read('{dir}/x.shp')", "st_read() is not allowed"),
    ("select * from read_csv(?)", "read_csv() is not allowed"),
    # the 'file' shorthand (replacement scans), hidden in every clause a query has
    ("from '{csv}'", "reading the file or URL"),
    ('select * from "{csv}"', "reading the file or URL"),
    ('select * from main."secret.csv"', "reading the file or URL 'secret.csv'"),
    ("select * from t, '{csv}'", "reading the file or URL"),
    ("select * from t positional join '{csv}'", "reading the file or URL"),
    ("select * from t asof join '{csv}' using (a)", "reading the file or URL"),
    ("select * from t, lateral (select * from '{csv}')", "reading the file or URL"),
    ("select (select count(*) from '{csv}')", "reading the file or URL"),
    ("select * from t where exists (from '{csv}')", "reading the file or URL"),
    ("select sum(a) filter (where a in (from '{csv}')) from t", "reading the file or URL"),
    ("select 1 from t group by (select 1 from '{csv}')", "reading the file or URL"),
    ("select * from t qualify (select count(*) from '{csv}') > 0", "reading the file or URL"),
    ("select * from t limit (select count(*) from read_csv('{csv}'))", "read_csv()"),
    ("select * from t order by (select count(*) from glob('{dir}/*'))", "glob()"),
    ("select [x for x in (select a from '{csv}')]", "reading the file or URL"),
    ("select struct_pack(v := (from '{csv}' select max(a)))", "reading the file or URL"),
    ("select a from t union by name from '{csv}'", "reading the file or URL"),
    ("select a from t except from '{csv}'", "reading the file or URL"),
    ("with recursive r as (select * from read_csv('{csv}')) select * from r", "read_csv()"),
    ('with "secret.csv" as (select 1) select * from "secret.csv"', "reading the file or URL"),
    ("from (from '{csv}')", "reading the file or URL"),
    ("summarize select * from read_csv('{csv}')", "read_csv() is not allowed"),
    ("summarize '{csv}'", "reading the file or URL"),
    ("describe '{csv}'", "reading the file or URL"),
    ("show select * from read_csv('{csv}')", "read_csv() is not allowed"),
    ("select * from (describe '{csv}')", "reading the file or URL"),
    ("unpivot '{csv}' on a into name k value v", "reading the file or URL"),
    ("select * from t, (pivot '{csv}' on a using count(*))", "PIVOT without IN"),
    ("explain analyze select * from read_csv('{csv}')", "EXPLAIN is not allowed"),
    # network
    ("select * from 'http://127.0.0.1:9/x.parquet'", "reading the file or URL"),
    ("select * from read_parquet('s3://bucket/x.parquet')", "read_parquet() is not allowed"),
    ("select * from read_json('http://127.0.0.1:9/x.json')", "read_json() is not allowed"),
    ("select * from 'file://{csv}'", "reading the file or URL"),
    ("install 'httpfs' from 'http://127.0.0.1:9/'", "INSTALL is not allowed"),
    ("force install httpfs", "FORCE INSTALL is not allowed"),
    ("load '{dir}/x.duckdb_extension'", "LOAD is not allowed"),
    ("update extensions", "UPDATE EXTENSIONS is not allowed"),
    ("attach 'http://127.0.0.1:9/x.duckdb' as remote", "ATTACH is not allowed"),
    # files written or read by statements
    ("copy (select * from t) to '{dir}/out.parquet' (format parquet)", "COPY is not allowed"),
    ("copy from database w to memory", "COPY is not allowed"),
    ("export database '{dir}/dump' (format parquet)", "EXPORT DATABASE is not allowed"),
    ("import database '{dir}'", "IMPORT DATABASE is not allowed"),
    # catalogue, settings, secrets, SQL that runs SQL
    ("attach ':memory:' as scratch", "ATTACH is not allowed"),
    ("detach database if exists w", "DETACH is not allowed"),
    ("use memory", "USE is not allowed"),
    ("set global threads = 1", "SET is not allowed"),
    ("set variable path = '{csv}'", "SET is not allowed"),
    ("SET enable_external_access=true", "SET is not allowed"),
    ("pragma enable_profiling", "PRAGMA is not allowed"),
    ("call pragma_version()", "CALL is not allowed"),
    ("call read_csv('{csv}')", "CALL is not allowed"),
    ("select getenv('HOME')", "getenv() is not allowed"),
    ("select * from t where b = getenv('OPENAI_API_KEY')", "getenv() is not allowed"),
    ("select * from query_table('t')", "query_table() is not allowed"),
    ("select * from query_table(['t', 't'])", "query_table() is not allowed"),
    ("select * from json_execute_serialized_sql('x')", "json_execute_serialized_sql()"),
    ("select * from duckdb_secrets()", "duckdb_secrets() is not allowed"),
    ("select * from which_secret('s3://x', 's3')", "which_secret() is not allowed"),
    ("select * from duckdb_logs()", "duckdb_logs() is not allowed"),
    ("select * from enable_logging()", "enable_logging() is not allowed"),
    ("select * from force_checkpoint()", "force_checkpoint() is not allowed"),
    ("create secret s (type s3, key_id 'a', secret 'b')", "CREATE is not allowed"),
    ("create or replace view v as select 1", "CREATE is not allowed"),
    ("prepare p as select 1", "PREPARE is not allowed"),
    ("execute p", "EXECUTE is not allowed"),
    # writes in every form
    ("insert or replace into t values (1, 'a', 1, date '2026-01-01')", "INSERT is not allowed"),
    ("with x as (select 1) insert into t select * from t", "INSERT is not allowed"),
    ("update t set a = (select 1)", "UPDATE is not allowed"),
    ("delete from t using t as u", "DELETE is not allowed"),
    ("truncate t", "TRUNCATE is not allowed"),
    ("alter table t rename to u", "ALTER is not allowed"),
    ("drop view if exists v", "DROP is not allowed"),
    ("vacuum", "VACUUM is not allowed"),
    ("begin transaction", "BEGIN is not allowed"),
    ("/* harmless */ select 1; /* not */ drop table t", "multiple statements are not allowed"),
    ("select 1 -- ;\n; copy t to '{dir}/o.csv'", "multiple statements are not allowed"),
]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A small published warehouse and, beside it, a CSV holding a canary."""
    tmp = tmp_path_factory.mktemp("sandbox")
    settings = get_settings(tmp / "w.duckdb")
    with write_connection(settings) as con:
        con.execute(
            "create table t as select i as a, 'x' || i as b, i * 2 as c, "
            "date '2026-10-01' + i::int as d from range(3) r(i)"
        )
    secret = canary("FILE")
    (tmp / "secret.csv").write_text(f"a,b\n1,{secret}\n")
    return settings, tmp, secret


def _fill(sql: str, tmp: Path) -> str:
    return sql.replace("{csv}", str(tmp / "secret.csv")).replace("{dir}", str(tmp))


@pytest.mark.parametrize(("sql", "message"), ATTEMPTS, ids=[a[0][:50] for a in ATTEMPTS])
def test_sandbox_refuses(sandbox, sql, message):
    settings, tmp, secret = sandbox
    sql = _fill(sql, tmp)
    with pytest.raises(QueryError, match=re.escape(message)) as err:
        run_query(settings, sql)
    assert secret not in str(err.value)
    assert not (tmp / "out.parquet").exists() and not (tmp / "dump").exists()
    assert not (tmp / "o.csv").exists()


def test_there_are_forty_distinct_attempts():
    assert len({sql for sql, _ in ATTEMPTS}) == len(ATTEMPTS) >= 40


@pytest.mark.parametrize(
    "sql",
    [
        "select * from read_csv('{csv}')",
        "select * from '{csv}'",
        "select * from read_text('{csv}')",
        "select * from glob('{dir}/*')",
        "select getenv('HOME')",
        "copy t to '{dir}/o.csv'",
        "attach '{dir}/other.duckdb' as other",
        "set enable_external_access = true",
        "set lock_configuration = false",
        "reset enable_external_access",
        "install httpfs",
        "load httpfs",
        "select * from 'http://127.0.0.1:9/x.csv'",
        "create table t2 as select 1",
    ],
)
def test_the_engine_refuses_even_without_the_audit(sandbox, sql):
    """The second layer: the read connection itself (external access off, configuration
    locked, read-only) refuses what the audit would have caught."""
    settings, tmp, secret = sandbox
    con = read_connection(settings)
    try:
        with pytest.raises(duckdb.Error) as err:
            con.sql(_fill(sql, tmp)).fetchall()
    finally:
        con.close()
    assert secret not in str(err.value)
    assert not (tmp / "o.csv").exists() and not (tmp / "other.duckdb").exists()


@pytest.mark.parametrize(
    "sql",
    [
        "select a, sum(c) over (order by a rows between 1 preceding and current row) from t",
        "with recursive n(i) as (select 1 union all select i + 1 from n where i < 5) from n",
        'select * from t as "x.csv"',  # an alias that looks like a file is only a name
        "select 'reports/2026/x.csv' as path, 'http://127.0.0.1/' as url",
        "select * from pragma_table_info('t')",
        "select column_name from duckdb_columns() where table_name = 't'",
        "pivot t on b in ('x0', 'x1') using sum(c)",
        "select * from (select a from t) s where a in (select a from t where c > 0)",
        "select current_setting('threads') as threads",
        "SELECT /* a comment */ count(*) FROM t -- trailing",
        "from t select b, a qualify row_number() over (order by a desc) = 1",
    ],
)
def test_legitimate_read_queries_still_work(sandbox, sql):
    settings, _, _ = sandbox
    audit(sql)
    assert run_query(settings, sql).height >= 1


# --- 3. file sources stay inside their roots ----------------------------------------------------


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


# --- 4. secrets never appear in error messages --------------------------------------------------

KEY = "sk-admin-canary-" + "7" * 24


def _leaks(text: str, secret: str = KEY) -> list[str]:
    """Any 10-character piece of the secret present in `text` (a cut-off key still leaks)."""
    return [secret[i : i + 10] for i in range(len(secret) - 9) if secret[i : i + 10] in text]


def _everything(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


@pytest.fixture
def quick_retries(monkeypatch):
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0")


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, lambda k: {"error": {"message": f"Incorrect API key provided: {k}"}}),
        (401, lambda k: {"error": {"message": "x" * 190 + k}}),  # cut at 200 chars mid-key
        (403, lambda k: {"code": k, "message": "forbidden"}),
        (500, lambda k: {"message": f"upstream said Bearer {k}"}),
        (429, lambda k: {"error": f"slow down {k}"}),
        (400, lambda k: f"<html>bad key {k}</html>".encode()),
    ],
    ids=["401", "401-cut", "403-code", "500", "429", "400-html"],
)
def test_billing_api_errors_never_show_the_key(status, body, quick_retries):
    from ingestion.billing.apis import ApiError, fetch

    with echo_server(status, body) as url, pytest.raises(ApiError) as err:
        fetch("openai-costs", start=END, end=END + timedelta(days=1), api_key=KEY, base_url=url)
    assert _leaks(_everything(err.value)) == [], str(err.value)
    assert f"HTTP {status}" in str(err.value)


@pytest.mark.parametrize(
    ("source", "status", "body"),
    [
        ("slack-billable", 200, lambda k: {"ok": False, "error": f"invalid_auth {k}"}),
        ("slack-billable", 200, lambda k: {"ok": False, "error": "x" * 50 + k}),
        ("zoom-users", 401, lambda k: {"code": 124, "message": f"Invalid access token {k}"}),
        ("github-copilot-seats", 401, lambda k: {"message": f"Bad credentials {k}"}),
    ],
    ids=["slack", "slack-cut", "zoom", "github"],
)
def test_saas_api_errors_never_show_the_token(source, status, body, quick_retries):
    from ingestion.saas import ApiError, fetch

    with echo_server(status, body) as url, pytest.raises(ApiError) as err:
        fetch(source, token=KEY, base_url=url, org=ORG, as_of=END)
    assert _leaks(_everything(err.value)) == [], str(err.value)


def test_a_key_from_the_environment_is_masked_too(monkeypatch, quick_retries):
    from ingestion.billing.apis import ApiError, fetch

    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", KEY)
    body = lambda k: {"error": {"type": "authentication_error", "message": f"bad {k}"}}  # noqa: E731
    with echo_server(401, body) as url, pytest.raises(ApiError) as err:
        fetch("anthropic-costs", start=END, end=END + timedelta(days=1), base_url=url)
    assert _leaks(_everything(err.value)) == [] and "refused" in str(err.value)


@pytest.mark.parametrize(
    "url",
    [
        "file://user:{pw}@localhost/no/such/folder/x.csv",
        "file:///no/such/folder/x.csv?sig={pw}",
        "file://user:{pw}@localhost/no/such/folder/*.csv?se=2030&sig={pw}",
    ],
)
def test_remote_urls_with_credentials_are_masked(url, tmp_path, monkeypatch):
    from ingestion.remote import RemoteError, fetch, redact

    pw = canary("PW")
    monkeypatch.setenv("AZURE_STORAGE_SAS_TOKEN", pw)
    url = url.format(pw=pw)
    assert pw not in redact(url)
    with pytest.raises(RemoteError) as err:
        fetch(url, cache_root=tmp_path / "cache")
    assert _leaks(_everything(err.value), pw) == [], str(err.value)
    assert not any(pw in str(p) for p in tmp_path.rglob("*"))  # nor in a mirror folder name


def test_bimo_load_from_a_url_with_credentials_never_prints_them(tmp_path, capsys, monkeypatch):
    from bimo.cli import main

    pw = canary("PW")
    monkeypatch.setenv("BIMO_WAREHOUSE", str(tmp_path / "w.duckdb"))
    code = main(["load", "focus", f"file://me:{pw}@localhost/no/such/x.csv?sig={pw}",
                 "--no-build"])  # fmt: skip
    captured = capsys.readouterr()
    assert code != 0 and _leaks(captured.out + captured.err, pw) == []
