"""SaaS invoices from a simple CSV: one row per vendor, month and (optionally) team.

The file (`.csv` or `.csv.gz`, UTF-8, a header row) binds columns by name, in any order and any
case; columns it does not know are kept in `extra`:

    vendor,period,seats,amount,currency,invoice_id,team
    GitHub Copilot Business,2026-09,14,266.00,USD,INV-GH-2026-09,platform
    Slack Business+,2026-09,58,725.00,USD,,

| column | required | meaning |
|---|---|---|
| vendor | yes | the tool as billed, e.g. `Slack Business+` |
| period | yes | the billed month, `YYYY-MM` |
| seats | yes | seats billed (a non-negative integer) |
| amount | yes | the invoiced amount in `currency` (negative for a credit), exact decimal |
| currency | yes | ISO 4217 code (stored upper-case) |
| invoice_id | no | the vendor's invoice number |
| team | no | the team the row is charged to; empty = the whole company |

A row that breaks these rules is quarantined with its line (1-based data row) and reason; a file
that lacks a required column is quarantined whole (line 0). `delivery_key` is
`saas-invoices|<vendor>|<period>`: loading a vendor's month again replaces it, so deliver all of
a vendor's rows for one month (every team) in one file.

SaaS bills in FOCUS format are ordinary FOCUS line items: load them with the `focus` billing
source (`bimo load focus …`), not this one.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pyarrow as pa

from ingestion.billing.apis.pages import BadData, decimal, money, text
from ingestion.billing.apis.pages import tokens as count
from ingestion.billing.files.common import LINE, read_rows
from ingestion.saas.pages import entry
from ingestion.saas.schema import MONEY, SaasParse, table_schema

SOURCE, TABLE = "saas-invoices", "invoices"
REQUIRED = ("vendor", "period", "seats", "amount", "currency")
OPTIONAL = ("invoice_id", "team")
COLUMNS: dict[str, pa.DataType] = {
    "vendor": pa.string(),
    "period": pa.string(),  # YYYY-MM
    "period_start": pa.date32(),  # the first day of that month
    "seats": pa.int64(),
    "amount": MONEY,
    "currency": pa.string(),
    "invoice_id": pa.string(),
    "team": pa.string(),
    "extra": pa.string(),  # JSON object of the file's other columns
}
SCHEMA = table_schema(COLUMNS)
_PERIOD = re.compile(r"(\d{4})-(\d{2})")
_CURRENCY = re.compile(r"[A-Za-z]{3}")


def parse_file(path: Path) -> SaasParse:
    """Every data row of one invoices CSV as an `invoices` row, or a quarantine entry."""
    path = Path(path)
    name = str(path)
    try:
        rows = read_rows(path)
    except ValueError as exc:
        return _whole_file_bad(name, str(exc).removeprefix(f"{path}: "))
    columns = {c.strip().lower(): c for c in rows.frame.columns if c != LINE}
    if missing := [c for c in REQUIRED if c not in columns]:
        return _whole_file_bad(name, f"header lacks {', '.join(missing)}")
    bad = [entry(SOURCE, name, line, reason) for line, reason in rows.unreadable]
    out = []
    lineage = {"source_system": SOURCE, "delivery_id": path.name, "_source_file": name,
               "delivery_rank": path.stat().st_mtime_ns // 1000}  # fmt: skip
    for record in rows.frame.iter_rows(named=True):
        values = {key: record[column] for key, column in columns.items()}
        try:
            row = invoice_row(values)
        except BadData as exc:
            bad.append(entry(SOURCE, name, record[LINE], f"bad row: {exc}"))
            continue
        key = f"{SOURCE}|{row['vendor']}|{row['period']}"
        out.append(lineage | {"delivery_key": key, "_source_line": record[LINE]} | row)
    table = pa.Table.from_pylist(out, schema=SCHEMA)
    return SaasParse(SOURCE, table, bad, rows_in=rows.rows_in)


def invoice_row(values: dict[str, str | None]) -> dict:
    """One CSV row (lower-cased column names, values as strings or None) → an invoices row."""
    vendor = text(values["vendor"], "vendor")
    if vendor is None or not vendor.strip():
        raise BadData("missing vendor")
    period = (values["period"] or "").strip()
    match = _PERIOD.fullmatch(period)
    if not match or not 1 <= int(match[2]) <= 12:
        raise BadData(f"period: expected YYYY-MM, got {period[:20]!r}")
    if not 2000 <= int(match[1]) < 2100:
        raise BadData(f"period: {period} is out of range (2000-2099)")
    seats = count(values["seats"], "seats")
    if seats is None:
        raise BadData("missing seats")
    currency = (values["currency"] or "").strip()
    if not _CURRENCY.fullmatch(currency):
        raise BadData(f"currency: expected a 3-letter code, got {currency[:10]!r}")
    known = set(REQUIRED) | set(OPTIONAL)
    extra = {k: v for k, v in sorted(values.items()) if k not in known and v is not None}
    return {
        "vendor": vendor.strip(),
        "period": period,
        "period_start": date(int(match[1]), int(match[2]), 1),
        "seats": seats,
        "amount": money(decimal(values["amount"], "amount"), "amount"),
        "currency": currency.upper(),
        **{k: text((values.get(k) or "").strip(), k) for k in OPTIONAL},
        "extra": json.dumps(extra) if extra else None,
    }


def _whole_file_bad(name: str, reason: str) -> SaasParse:
    return SaasParse(SOURCE, SCHEMA.empty_table(), [entry(SOURCE, name, 0, reason)], rows_in=1)
