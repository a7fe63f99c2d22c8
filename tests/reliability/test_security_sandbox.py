"""Security: the SQL sandbox holds against adversarial queries (tests/test_cli_sql.py has the
plain ones). `run_query` refuses, naming what it refused and never showing the canary of the CSV
beside the warehouse, every attempt to read or write files or URLs, reach the network, change
the catalogue or settings, read secrets, run SQL that runs SQL, or write; the read connection
itself refuses the same even without the audit; legitimate read queries still run."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from bimo.settings import get_settings
from bimo.sql import QueryError, audit, run_query
from bimo.warehouse import read_connection, write_connection
from tests.reliability.security_support import (
    canary,
)

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
