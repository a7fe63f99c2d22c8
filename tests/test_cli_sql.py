"""The `bimo sql` command: output formats, the read-only sandbox and the interactive prompt."""

import json
import re
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from bimo.settings import get_settings
from bimo.sql import QueryError, audit, run_query
from bimo.warehouse import read_connection, write_connection
from tests.cli_run import bimo, run_main

# --- sql: formats ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_wh(tmp_path_factory):
    settings = get_settings(tmp_path_factory.mktemp("sql") / "w.duckdb")
    with write_connection(settings) as con:
        con.execute(
            "create table t as select i as a, 'x' || i as b, (i * 1.25)::decimal(18, 2) as c, "
            "date '2026-10-01' + i::int as d from range(3) r(i)"
        )
    return settings


def test_sql_parquet_is_written_and_readable(capsys, small_wh, tmp_path):
    out_file = tmp_path / "t.parquet"
    wh = ["--warehouse", str(small_wh.warehouse)]
    query = "select * from t order by a"
    code, _, err = run_main(
        capsys, "sql", query, "--format", "parquet", "--output", str(out_file), *wh
    )
    assert code == 0 and "wrote 3 rows" in err
    frame = pl.read_parquet(out_file)
    assert frame["a"].to_list() == [0, 1, 2] and frame["b"].to_list() == ["x0", "x1", "x2"]
    assert frame["d"].to_list() == [date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3)]
    code, _, err = run_main(capsys, "sql", "select 1", "--format", "parquet", *wh)
    assert code == 2 and "--format parquet needs --output FILE" in err


def test_sql_csv_json_table_to_stdout_or_file(capsys, small_wh, tmp_path):
    wh = ["--warehouse", str(small_wh.warehouse)]
    query = "select a, b from t order by a"
    code, out, _ = run_main(capsys, "sql", query, "--format", "csv", *wh)
    assert code == 0 and out == "a,b\n0,x0\n1,x1\n2,x2\n"
    code, out, _ = run_main(capsys, "sql", query, "--format", "json", *wh)
    assert json.loads(out) == [{"a": 0, "b": "x0"}, {"a": 1, "b": "x1"}, {"a": 2, "b": "x2"}]
    target = tmp_path / "t.json"
    assert run_main(capsys, "sql", query, "--format", "json", "--output", str(target), *wh)[0] == 0
    assert json.loads(target.read_text())[2] == {"a": 2, "b": "x2"}
    code, out, _ = run_main(capsys, "sql", query, *wh)
    assert code == 0 and "x2" in out
    code, _, err = run_main(capsys, "sql", query, "--output", str(tmp_path / "t.txt"), *wh)
    assert code == 2 and "--output needs --format" in err
    code, out, err = run_main(capsys, "sql", "select * from range(50)", "--limit", "5",
                              "--format", "csv", *wh)  # fmt: skip
    assert code == 0 and out.count("\n") == 6 and "row limit" in err


# --- sql: the sandbox ------------------------------------------------------------------------

ESCAPES = [
    ("select * from read_csv('/etc/passwd')", "read_csv() is not allowed"),
    ("select * from read_csv_auto('/etc/passwd')", "read_csv_auto() is not allowed"),
    ("select * from read_parquet('http://example.com/x.parquet')", "read_parquet() is not allowed"),
    ("select * from read_json('https://example.com/x.json')", "read_json() is not allowed"),
    ("select * from read_text('/etc/hostname')", "read_text() is not allowed"),
    ("select * from glob('/etc/*')", "glob() is not allowed"),
    ("select * from '/etc/passwd'", "reading the file or URL '/etc/passwd' is not allowed"),
    ("select * from 'https://example.com/x.csv'", "reading the file or URL"),
    ("select * from t where a in (select 1 from read_csv('/etc/passwd'))", "read_csv()"),
    ("with x as (select * from parquet_scan('/x.parquet')) select * from x", "parquet_scan()"),
    ("select * from query('select 1')", "query() is not allowed"),
    ("select * from checkpoint()", "checkpoint() is not allowed"),
    ("copy (select 1) to '/tmp/bimo-escape.csv'", "COPY is not allowed"),
    ("copy t to '/tmp/bimo-escape.csv'", "COPY is not allowed"),
    ("copy t from '/etc/passwd'", "COPY is not allowed"),
    ("attach '/tmp/other.duckdb' as other", "ATTACH is not allowed"),
    ("detach warehouse", "DETACH is not allowed"),
    ("install httpfs", "INSTALL is not allowed"),
    ("load httpfs", "LOAD is not allowed"),
    ("pragma version", "PRAGMA is not allowed"),
    ("set enable_external_access = true", "SET is not allowed"),
    ("reset enable_external_access", "RESET is not allowed"),
    ("set threads = 1", "SET is not allowed"),
    ("create table x (a int)", "CREATE is not allowed"),
    ("create temp table x (a int)", "CREATE is not allowed"),
    ("create macro m(x) as x", "CREATE is not allowed"),
    ("insert into t values (9, 'z', 1, date '2026-01-01')", "INSERT is not allowed"),
    ("update t set a = 1", "UPDATE is not allowed"),
    ("delete from t", "DELETE is not allowed"),
    ("drop table t", "DROP is not allowed"),
    ("export database '/tmp/bimo-escape'", "EXPORT DATABASE is not allowed"),
    ("select 1; select 2", "multiple statements are not allowed"),
    ("select 1; drop table t", "multiple statements are not allowed"),
    ("checkpoint", "CHECKPOINT is not allowed"),
]


@pytest.mark.parametrize(("sql", "message"), ESCAPES, ids=[e[0][:40] for e in ESCAPES])
def test_sandbox_refuses_escapes_with_a_clear_message(small_wh, sql, message):
    with pytest.raises(QueryError, match=re.escape(message)):
        run_query(small_wh, sql)
    assert not Path("/tmp/bimo-escape.csv").exists() and not Path("/tmp/bimo-escape").exists()


@pytest.mark.parametrize(
    "sql",
    [
        "select count(*) from t",
        "from t",
        "with x as (select a from t) select * from x",
        "values (1, 2)",
        "describe t",
        "show tables",
        "summarize t",
        "select * from range(3)",
        "select * from duckdb_tables()",
        """select json_extract('{"a": 1}', '$.a'), now() at time zone 'Asia/Tokyo'""",
        "select 1;",
    ],
)
def test_sandbox_allows_read_only_queries(small_wh, sql):
    assert run_query(small_wh, sql).height >= 1


def test_sandbox_cli_refusal_exits_1(capsys, small_wh):
    code, out, _ = run_main(capsys, "sql", "set enable_external_access=true",
                            "--warehouse", str(small_wh.warehouse))  # fmt: skip
    assert code == 1 and "SET is not allowed" in out


def test_read_connection_is_locked_even_without_the_audit(small_wh):
    con = read_connection(small_wh)
    try:
        settings = dict(
            con.sql(
                "select name, value from duckdb_settings() where name in ('lock_configuration', "
                "'enable_external_access', 'autoload_known_extensions', "
                "'autoinstall_known_extensions')"
            ).fetchall()
        )
        assert settings == {
            "lock_configuration": "true",
            "enable_external_access": "false",
            "autoload_known_extensions": "false",
            "autoinstall_known_extensions": "false",
        }
        for sql in (
            "set enable_external_access = true",
            "reset lock_configuration",
            "select * from read_csv('/etc/passwd')",
            "copy (select 1) to '/tmp/bimo-escape.csv'",
            "load httpfs",
            "attach '/tmp/other.duckdb'",
            "drop table t",
        ):
            with pytest.raises(duckdb.Error):
                con.sql(sql)
    finally:
        con.close()


def test_audit_allows_nothing_empty():
    with pytest.raises(QueryError, match="empty query"):
        audit("  -- only a comment")
    with pytest.raises(QueryError, match="syntax error"):
        audit("selec 1")


# --- sql: the interactive prompt -------------------------------------------------------------


def test_interactive_prompt_through_stdin(small_wh):
    script = (
        ".tables\n"
        "select a, b\n  from t\n  where a = 2;\n"
        ".schema t\n"
        ".schema nope\n"
        "select * from read_csv('/etc/passwd');\n"
        ".bogus\n"
        ".quit\n"
        "select 'after quit' as never;\n"
    )
    proc = bimo("sql", "--warehouse", str(small_wh.warehouse), stdin=script)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "main.t" in out
    assert "x2" in out and "x1" not in out
    assert "main.t" in out and "DECIMAL(18,2)" in out and "DATE" in out  # .schema t
    assert "no table named nope" in out
    assert "error: read_csv() is not allowed" in out
    assert "unknown command '.bogus'" in out
    assert "after quit" not in out


def test_interactive_prompt_ends_at_end_of_input(small_wh):
    proc = bimo("sql", "--warehouse", str(small_wh.warehouse), stdin="select 41 + 1 as answer")
    assert proc.returncode == 0 and "42" in proc.stdout


def test_interactive_prompt_keeps_history_on_a_terminal(small_wh, tmp_path, monkeypatch):
    import builtins
    import io

    from bimo.sql_shell import Shell

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    lines = iter(["select 7 as seven;", ".quit"])
    monkeypatch.setattr(builtins, "input", lambda prompt="": next(lines))
    monkeypatch.setenv("BIMO_SQL_HISTORY", str(tmp_path / "history"))
    out = io.StringIO()
    assert Shell(small_wh, limit=10, timeout_s=10, stdin=Terminal(), out=out).run() == 0
    assert "7" in out.getvalue() and (tmp_path / "history").exists()
