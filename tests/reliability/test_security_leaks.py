"""Security: no content or secret leaks. One real pipeline run with canaries in every content
field and every API key (gateway logs of all four formats, one through the `bimo load` CLI;
billing and SaaS API pulls over HTTP on 127.0.0.1; `dbt build` and the read copy) leaves no canary
in any stored file, table or column, dbt log or artifact, printed output or log record; and the
errors of billing APIs, SaaS APIs and remote file URLs never show a key, token or credential,
not even a cut-off piece of one."""

from __future__ import annotations

import io
import logging
import os
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
from bimo.warehouse import read_connection
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


# --- canaries: content and secrets never stored or logged --------------------------------------


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


# --- secrets never appear in error messages -----------------------------------------------------

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
