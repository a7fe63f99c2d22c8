"""The summary printed after a load or a demo run: tables, row counts, spend per source tag."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from bimo.settings import Settings
from bimo.warehouse import read_connection

SCHEMAS = ("raw_gateway", "marts", "analytics")


def warehouse_summary(settings: Settings, console: Console) -> None:
    """Print what the warehouse holds, reading the published read copy."""
    con = read_connection(settings)
    if con is None:
        console.print("[yellow]No warehouse published yet.[/]")
        return
    try:
        tables = con.sql(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in {SCHEMAS} and not starts_with(table_name, '_dlt') "
            "order by 1, 2"
        ).fetchall()
        t = Table(title=f"Tables in {settings.warehouse}")
        t.add_column("table")
        t.add_column("rows", justify="right")
        for schema, name in tables:
            n = con.sql(f'select count(*) from {schema}."{name}"').fetchall()[0][0]
            t.add_row(f"{schema}.{name}", f"{n:,}")
        console.print(t)
        names = {f"{s}.{n}" for s, n in tables}
        if "marts.fct_llm_requests" in names:
            spend = Table(title="AI spend per source tag (never summed across tags)")
            for col in (
                "source tag",
                "requests",
                "estimated cost USD",
                "unpriced requests",
                "reported cost USD",
                "first day",
                "last day",
            ):
                spend.add_column(col, justify="left" if col == "source tag" else "right")
            for row in con.sql(
                """
                select source_tag, count(*), sum(estimated_cost_usd)::double,
                       count(*) filter (where pricing_status = 'unpriced'),
                       sum(reported_cost_usd), min(request_date), max(request_date)
                from marts.fct_llm_requests group by 1 order by 1
                """
            ).fetchall():
                tag, n, cost, unpriced, reported, first, last = row
                spend.add_row(
                    tag,
                    f"{n:,}",
                    f"${cost or 0:,.2f}",
                    f"{unpriced:,}",
                    "-" if reported is None else f"${reported:,.2f}",
                    str(first),
                    str(last),
                )
            console.print(spend)
        if "raw_gateway.quarantine" in names:
            q = con.sql("select count(*) from raw_gateway.quarantine").fetchall()[0][0]
            console.print(f"Quarantined records: {q:,} (see raw_gateway.quarantine)")
        if "analytics.cost_anomalies" in names:
            a = con.sql(
                "select count(*), count(*) filter (where severity = 'high') "
                "from analytics.cost_anomalies"
            ).fetchall()[0]
            console.print(f"Anomalies flagged: {a[0]} ({a[1]} high severity)")
    finally:
        con.close()
