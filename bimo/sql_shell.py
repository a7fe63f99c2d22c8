"""`bimo sql`: write one query's result (table, CSV, JSON, Parquet) or run an interactive prompt.

Every statement, the prompt's dot-commands included, goes through `bimo.sql.run_query`: the
audit, the sandboxed read copy, the row limit and the time limit. Result files are written
here, by Bimo, never by DuckDB (the sandbox cannot write files).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TextIO

import polars as pl

from bimo.settings import Settings
from bimo.sql import QueryError, run_query

FORMATS = ("table", "csv", "json", "parquet")
HISTORY_ENV = "BIMO_SQL_HISTORY"
HISTORY_LENGTH = 1000
PROMPT, CONTINUATION = "bimo> ", "  ...> "
HELP = """\
Enter a query ending with ';' (it may span lines). Commands:
  .tables           list the tables and views
  .schema TABLE     columns of TABLE (schema.table or table)
  .help             this text
  .quit / .exit     leave (Ctrl-D too)
Only read-only queries run: no files, no settings, no writes; results stop at the row limit."""
TABLES_SQL = """
select table_schema || '.' || table_name as "table", lower(table_type) as type
from information_schema.tables
where not ends_with(table_schema, '_staging') and not starts_with(table_name, '_dlt')
order by 1
"""


def print_frame(frame: pl.DataFrame, out: TextIO | None = None) -> None:
    """A frame as a text table with every row and column shown."""
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200, fmt_str_lengths=60):
        print(frame, file=out or sys.stdout)


def write_result(frame: pl.DataFrame, fmt: str, output: Path | None) -> None:
    """Write a result as `fmt` to `output`, or to stdout (Parquet needs a file)."""
    if fmt == "parquet":
        if output is None:
            raise ValueError("--format parquet needs --output FILE")
        frame.write_parquet(output)
    elif fmt == "csv":
        text = frame.write_csv()
        _emit(text, output)
    elif fmt == "json":
        _emit(frame.write_json() + "\n", output)
    elif output is not None:
        raise ValueError("--output needs --format csv, json or parquet")
    else:
        print_frame(frame)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)


def history_path(settings: Settings) -> Path:
    """`BIMO_SQL_HISTORY`, else `~/.bimo/sql_history`, else beside the warehouse."""
    if os.environ.get(HISTORY_ENV):
        return Path(os.environ[HISTORY_ENV]).expanduser()
    home = Path.home() / ".bimo"
    try:
        home.mkdir(parents=True, exist_ok=True)
        if os.access(home, os.W_OK):
            return home / "sql_history"
    except OSError:
        pass
    return settings.warehouse.parent / ".bimo_sql_history"


class Shell:
    """The interactive prompt. With a terminal it uses readline and keeps a history file;
    reading a pipe it prints no prompts (so `echo '.tables' | bimo sql` works)."""

    def __init__(
        self,
        settings: Settings,
        *,
        limit: int,
        timeout_s: float,
        stdin: TextIO | None = None,
        out: TextIO | None = None,
    ) -> None:
        self.settings, self.limit, self.timeout_s = settings, limit, timeout_s
        self.stdin, self.out = stdin or sys.stdin, out or sys.stdout
        self.tty = self.stdin.isatty()
        self.history: Path | None = None

    def run(self) -> int:
        if self.tty:
            self._start_history()
            print(
                f"Bimo SQL on {self.settings.snapshot} (read-only). .help for help.", file=self.out
            )
        buffer: list[str] = []
        try:
            while True:
                try:
                    line = self._read(CONTINUATION if buffer else PROMPT)
                except KeyboardInterrupt:  # Ctrl-C drops the statement being typed
                    print("^C", file=self.out)
                    buffer = []
                    continue
                if line is None:  # Ctrl-D / end of input: run what is left, then leave
                    if "".join(buffer).strip():
                        self.execute("\n".join(buffer))
                    break
                if not buffer and line.strip().startswith("."):
                    if not self.command(line.strip()):
                        break
                    continue
                buffer.append(line)
                if line.rstrip().endswith(";"):
                    self.execute("\n".join(buffer))
                    buffer = []
        finally:
            self._save_history()
        return 0

    def _read(self, prompt: str) -> str | None:
        if self.tty:
            try:
                return input(prompt)
            except EOFError:
                print(file=self.out)
                return None
        line = self.stdin.readline()
        return line.rstrip("\n") if line else None

    def command(self, line: str) -> bool:
        """Run a dot-command; False means leave."""
        name, _, arg = line.partition(" ")
        if name in (".quit", ".exit", ".q"):
            return False
        if name == ".help":
            print(HELP, file=self.out)
        elif name == ".tables":
            frame = self._query(TABLES_SQL, limit=100_000)
            if frame is not None:
                for table, kind in frame.iter_rows():
                    print(table + ("  (view)" if kind == "view" else ""), file=self.out)
        elif name == ".schema" and arg.strip():
            self._schema(arg.strip().rstrip(";"))
        else:
            print(f"unknown command {line!r}; .help lists the commands", file=self.out)
        return True

    def _schema(self, name: str) -> None:
        schema, _, table = name.rpartition(".")
        where = f"table_name = {_literal(table)}"
        if schema:
            where += f" and table_schema = {_literal(schema)}"
        frame = self._query(
            "select table_schema || '.' || table_name as \"table\", column_name as column, "
            "data_type as type, is_nullable as nullable from information_schema.columns "
            f"where {where} order by table_schema, ordinal_position",
            limit=100_000,
        )
        if frame is None:
            return
        if frame.is_empty():
            print(f"no table named {name}", file=self.out)
        else:
            print_frame(frame, self.out)

    def execute(self, sql: str) -> None:
        frame = self._query(sql.strip().rstrip(";"), limit=self.limit)
        if frame is not None:
            print_frame(frame, self.out)
            if frame.height == self.limit:
                print(f"(stopped at the row limit, {self.limit:,} rows)", file=self.out)

    def _query(self, sql: str, *, limit: int) -> pl.DataFrame | None:
        try:
            return run_query(self.settings, sql, limit=limit, timeout_s=self.timeout_s)
        except QueryError as exc:
            print(f"error: {exc}", file=self.out)
        except KeyboardInterrupt:
            print("query cancelled", file=self.out)
        return None

    def _start_history(self) -> None:
        try:
            import readline
        except ImportError:  # no readline on this platform: a prompt without history
            return
        self.history = history_path(self.settings)
        readline.set_history_length(HISTORY_LENGTH)
        if self.history.exists():
            with contextlib.suppress(OSError):
                readline.read_history_file(self.history)

    def _save_history(self) -> None:
        if self.history is None:
            return
        import readline

        with contextlib.suppress(OSError):
            self.history.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(self.history)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
