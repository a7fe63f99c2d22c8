"""The summary printed after a load or a demo run: tables, row counts, spend per source tag."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from bimo.settings import Settings
from bimo.warehouse import read_connection

SCHEMAS = ("raw_gateway", "raw_billing", "marts", "analytics")


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
        if "marts.fct_daily_cost" in names:
            spend = Table(title="Spend per source tag (never summed across tags)")
            for col in ("source tag", "category", "rows", "cost USD", "unpriced requests",
                        "first day", "last day"):  # fmt: skip
                spend.add_column(
                    col, justify="left" if col in ("source tag", "category") else "right"
                )
            for tag, category, n, cost, unpriced, first, last in con.sql(
                """
                select source_tag, service_category, count(*), sum(cost_usd)::double,
                       sum(unpriced_requests), min(charge_date), max(charge_date)
                from marts.fct_daily_cost group by 1, 2 order by 1, 2
                """
            ).fetchall():
                shown = "—" if cost is None else f"${cost:,.2f}"  # NULL: nothing convertible
                spend.add_row(tag, category, f"{n:,}", shown, f"{unpriced:,}",
                              str(first), str(last))  # fmt: skip
            console.print(spend)
        for schema in ("raw_gateway", "raw_billing", "raw_saas"):
            if f"{schema}.quarantine" in names:
                q = con.sql(f"select count(*) from {schema}.quarantine").fetchall()[0][0]
                console.print(f"Quarantined records: {q:,} (see {schema}.quarantine)")
        if "marts.fct_saas_idle_seats" in names:
            seats, monthly = con.sql(
                "select count(*), sum(monthly_cost_usd)::double from marts.fct_saas_idle_seats"
            ).fetchall()[0]
            if seats:
                cost = "price unknown" if monthly is None else f"${monthly:,.2f} a month"
                console.print(f"Idle SaaS seats: {seats} ({cost}; see marts.fct_saas_idle_seats)")
        if "analytics.cost_anomalies" in names:
            a = con.sql(
                "select count(*), count(*) filter (where severity = 'high') "
                "from analytics.cost_anomalies"
            ).fetchall()[0]
            console.print(f"Anomalies flagged: {a[0]} ({a[1]} high severity)")
    finally:
        con.close()
