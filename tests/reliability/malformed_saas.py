"""Malformed SaaS inputs: saved API pages of GitHub Copilot seats and billing, GitHub billing
usage, Slack billable info, Zoom users and daily reports, and the invoice CSVs. A good record of
each format, then the cases — the kinds every saved page shares, then each format's own — each a
bad record between good ones or a whole raw file; file names carry the as-of day."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.reliability.malformed_common import (
    DROP,
    HUGE,
    SAAS,
    Case,
    csv_text,
    lines_file,
    merged,
)

# ---------------------------------------------------------------------------------------------
# good records


def saas_record(fmt: str, cid: str, i: int, **over) -> dict:
    """One record of a SaaS page (a seat, usage item, user, report date...)."""
    base = {
        "github-copilot-seats": {"created_at": "2026-01-01T00:00:00-06:00", "plan_type": "business",
                                 "assignee": {"login": f"{cid}-u{i}", "id": i, "type": "User"},
                                 "last_activity_at": "2026-10-04T09:00:00+02:00"},
        "github-copilot-billing": {"seat_breakdown": {"total": 10 + i, "active_this_cycle": 8},
                                   "plan_type": "business", "seat_management_setting": "all"},
        "github-billing-usage": {"date": f"2026-10-{1 + i % 28:02d}", "product": "actions",
                                 "sku": "linux", "quantity": 120, "unitType": "Minutes",
                                 "pricePerUnit": 0.008, "grossAmount": 0.96,
                                 "discountAmount": 0.16, "netAmount": 0.8,
                                 "organizationName": cid},
        "slack-billable": {"billing_active": True},
        "zoom-users": {"id": f"{cid}-z{i}", "email": f"u{i}@example.com", "type": 2,
                       "status": "active", "created_at": "2025-01-01T00:00:00Z"},
        "zoom-daily-report": {"date": f"2026-10-{1 + i % 28:02d}", "new_users": 1, "meetings": 4,
                              "participants": 9, "meeting_minutes": 120},
    }[fmt]  # fmt: skip
    return merged(base, over)


def saas_page(fmt: str, cid: str, records: list, *, total: int | None = None) -> dict:
    if fmt == "github-copilot-seats":
        return {"total_seats": len(records) if total is None else total, "seats": records}
    if fmt == "github-copilot-billing":
        return records[0]
    if fmt == "github-billing-usage":
        return {"usageItems": records}
    if fmt == "slack-billable":
        info = {f"U{cid}{n}": r for n, r in enumerate(records)}
        return {"ok": True, "billable_info": info, "response_metadata": {"next_cursor": ""}}
    if fmt == "zoom-users":
        return {"page_size": 300, "total_records": len(records), "users": records}
    return {"year": 2026, "month": 10, "dates": records}


def invoice(cid: str, i: int, **over) -> dict:
    base = {
        "vendor": f"{cid}-vendor-{i}",
        "period": "2026-09",
        "seats": "14",
        "amount": "266.00",
        "currency": "USD",
        "invoice_id": f"INV-{i}",
        "team": "platform",
    }
    return merged(base, over)


# ---------------------------------------------------------------------------------------------
# case builders: a bad record between good ones


def saas_case(fmt: str, kind: str, name: str, bad: Callable | None, *, good: int = 3,
              n_bad: int = 1, reason: str | None = None,
              raw: Callable[[str], bytes] | None = None) -> Case:  # fmt: skip
    """A saved page with records good, good, *bad(make), good (pages, for the one-record
    Copilot billing page; CSV rows for invoices). The file name carries the as-of day."""
    cid = f"{fmt}.{name}"

    def make(i: int = 0, **over) -> dict:
        if fmt == "saas-invoices":
            return invoice(cid, i, **over)
        return saas_record(fmt, cid, i, **over)

    def build(folder: Path) -> list[Path]:
        suffix = "csv" if fmt == "saas-invoices" else "jsonl"
        path = folder / f"{cid}.2026-10-05.{suffix}"
        if raw:
            path.write_bytes(raw(cid))
            return [path]
        records = [make(0), make(1), *bad(make), make(2)]
        if fmt == "saas-invoices":
            path.write_bytes(csv_text(records).encode())
        elif fmt == "github-copilot-billing":
            lines_file(path, [saas_page(fmt, cid, [r]) for r in records])
        else:
            lines_file(path, [saas_page(fmt, cid, records)])
        return [path]

    return Case(cid, fmt, kind, build, good, n_bad, reason)


def _saas_pages(fmt: str, cid: str, middle: bytes, *, prefix: bytes = b"") -> bytes:
    """JSON Lines: a page of two good records, `middle`, a page of one good record."""

    def page(records: list) -> bytes:
        if fmt == "github-copilot-billing":
            return b"\n".join(json.dumps(saas_page(fmt, cid, [r])).encode() for r in records)
        return json.dumps(saas_page(fmt, cid, records, total=3)).encode()

    first = page([saas_record(fmt, cid, 0), saas_record(fmt, cid, 1)])
    return prefix + first + b"\n" + middle + b"\n" + page([saas_record(fmt, cid, 2)]) + b"\n"


def _saas_common(fmt: str) -> list[Case]:
    def c(*a, **k) -> Case:
        return saas_case(fmt, *a, **k)

    return [
        c("truncated", "truncated_page_line", None, reason="invalid JSON",
          raw=lambda i: _saas_pages(fmt, i, b'{"total_seats": 3, "seats": [{"creat')),
        c("encoding", "invalid_utf8_page", None, reason="invalid JSON",
          raw=lambda i: _saas_pages(fmt, i, b'{"x": "\xff"}')),
        c("bom", "utf8_bom", None, n_bad=0,
          raw=lambda i: _saas_pages(fmt, i, b"", prefix=b"\xef\xbb\xbf").replace(b"\n\n", b"\n")),
        c("wrong_type", "page_is_a_list", None, reason="malformed page",
          raw=lambda i: _saas_pages(fmt, i, b"[1, 2]")),
        c("empty_file", "zero_bytes", None, good=0, reason="empty file", raw=lambda i: b""),
        c("unknown_column", "new_fields_kept", lambda m: [m(3, brand_new_field=1, x_more="a")],
          good=4, n_bad=0),
        c("huge_line", "huge_unknown_field", lambda m: [m(3, debug_blob="y" * HUGE)], good=4,
          n_bad=0),
    ]  # fmt: skip


def saas_cases() -> list[Case]:
    cases = [case for fmt in SAAS if fmt != "saas-invoices" for case in _saas_common(fmt)]
    s, b, u, sl, zu, zd, inv = (lambda *a, f=f, **k: saas_case(f, *a, **k) for f in SAAS)
    cases += [
        s("missing_field", "no_created_at", lambda m: [m(9, created_at=DROP)],
          reason="missing created_at"),
        s("wrong_type", "assignee_is_text", lambda m: [m(9, assignee="bob")],
          reason="assignee: expected an object"),
        s("negative", "negative_assignee_id", lambda m: [m(9, assignee={"id": -1})],
          reason="non-negative"),
        s("magnitude", "assignee_id_1e30", lambda m: [m(9, assignee={"id": 10**30})],
          reason="out of range"),
        s("far_date", "created_1899", lambda m: [m(9, created_at="1899-01-01T00:00:00Z")],
          reason="out of range"),
        s("far_date", "cancels_in_9999", lambda m: [m(9, pending_cancellation_date="9999-12-31")],
          reason="out of range"),
        s("duplicate_id", "same_seat_twice", lambda m: [m(1)], good=4, n_bad=0),
        b("missing_field", "no_seat_breakdown", lambda m: [m(9, seat_breakdown=DROP)],
          reason="seat_breakdown is missing"),
        b("wrong_type", "total_is_text", lambda m: [m(9, seat_breakdown={"total": "ten"})],
          reason="expected an integer"),
        b("negative", "negative_total", lambda m: [m(9, seat_breakdown={"total": -3})],
          reason="non-negative"),
        b("magnitude", "total_1e30", lambda m: [m(9, seat_breakdown={"total": 10**30})],
          reason="out of range"),
        u("wrong_type", "date_is_garbage", lambda m: [m(9, date="2026-13-01")],
          reason="not a date"),
        u("missing_field", "no_amounts", lambda m: [m(9, grossAmount=DROP, netAmount=DROP)],
          reason="neither grossAmount nor netAmount"),
        u("nan_inf", "gross_nan", lambda m: [m(9, grossAmount="NaN")], reason="finite"),
        u("magnitude", "net_1e25", lambda m: [m(9, netAmount=1e25)], reason="out of range"),
        u("far_date", "date_1999", lambda m: [m(9, date="1999-12-31")], reason="out of range"),
        u("negative", "negative_net_refund_kept", lambda m: [m(3, netAmount=-0.8)], good=4,
          n_bad=0),
        sl("wrong_type", "billing_active_yes", lambda m: [m(9, billing_active="yes")],
           reason="billing_active"),
        sl("wrong_type", "info_is_text", None, good=2,
           raw=lambda i: _slack_raw(i, '"U2": "active"'), reason="is not an object"),
        sl("missing_field", "no_billing_active", lambda m: [m(9, billing_active=DROP)],
           reason="billing_active is missing"),
        sl("other", "ok_false_page", None, reason="the API reported an error",
           raw=lambda i: _saas_pages("slack-billable", i,
                                     b'{"ok": false, "error": "ratelimited"}')),
        sl("duplicate_id", "same_user_key_twice", None, good=2, n_bad=0,
           raw=lambda i: _slack_raw(i, '"U1": {"billing_active": false}')),
        zu("wrong_type", "type_is_text", lambda m: [m(9, type="abc")],
           reason="expected an integer"),
        zu("missing_field", "no_id", lambda m: [m(9, id=DROP)], reason="missing id or type"),
        zu("negative", "negative_type", lambda m: [m(9, type=-1)], reason="non-negative"),
        zu("magnitude", "type_1e30", lambda m: [m(9, type=10**30)], reason="out of range"),
        zu("far_date", "created_2150", lambda m: [m(9, created_at="2150-01-01T00:00:00Z")],
           reason="out of range"),
        zu("duplicate_id", "same_user_twice", lambda m: [m(1)], good=4, n_bad=0),
        zd("wrong_type", "date_is_garbage", lambda m: [m(9, date="yesterday")],
           reason="date"),
        zd("negative", "negative_meetings", lambda m: [m(9, meetings=-1)], reason="non-negative"),
        zd("nan_inf", "meetings_nan", lambda m: [m(9, meetings="NaN")], reason="non-negative"),
        zd("far_date", "date_2150", lambda m: [m(9, date="2150-01-01")], reason="out of range"),
        zd("missing_field", "no_date", lambda m: [m(9, date=DROP)], reason="missing date"),
        inv("missing_field", "no_vendor", lambda m: [m(9, vendor="")], reason="missing vendor"),
        inv("wrong_type", "period_month_13", lambda m: [m(9, period="2026-13")],
            reason="period"),
        inv("wrong_type", "seats_are_words", lambda m: [m(9, seats="lots")],
            reason="expected an integer"),
        inv("wrong_type", "currency_two_letters", lambda m: [m(9, currency="US")],
            reason="currency"),
        inv("negative", "negative_seats", lambda m: [m(9, seats="-1")], reason="non-negative"),
        inv("negative", "credit_amount_kept", lambda m: [m(3, amount="-40.00")], good=4,
            n_bad=0),
        inv("nan_inf", "amount_nan", lambda m: [m(9, amount="NaN")], reason="finite"),
        inv("magnitude", "amount_1e25", lambda m: [m(9, amount="1e25")], reason="out of range"),
        inv("far_date", "period_1899", lambda m: [m(9, period="1899-01")],
            reason="out of range"),
        inv("duplicate_id", "same_row_twice", lambda m: [m(1)], good=4, n_bad=0),
        inv("unknown_column", "new_column_kept", lambda m: [], good=3, n_bad=0,
            raw=lambda i: csv_text([invoice(i, n, po_number="PO-1") for n in range(3)]).encode()),
        inv("bom", "utf8_bom", lambda m: [], good=3, n_bad=0,
            raw=lambda i: b"\xef\xbb\xbf" + csv_text([invoice(i, n) for n in range(3)]).encode()),
        inv("empty_file", "zero_bytes", None, good=0, reason="empty file", raw=lambda i: b""),
        inv("missing_field", "amount_column_absent", None, good=0, reason="header lacks amount",
            raw=lambda i: csv_text([merged(invoice(i, n), {"amount": DROP}) for n in range(2)])
            .encode()),
        inv("truncated", "last_row_cut", None, good=2, reason="malformed CSV row",
            raw=lambda i: csv_text([invoice(i, n) for n in range(3)]).encode()[:-30]),
        inv("huge_line", "huge_vendor_note", lambda m: [m(3, note="x" * HUGE)], good=4,
            n_bad=0),
    ]  # fmt: skip
    return cases


def _slack_raw(cid: str, member: str) -> bytes:
    """A billableInfo page written by hand (JSON objects cannot repeat keys in a dict)."""
    return (
        '{"ok": true, "billable_info": {"U0": {"billing_active": true}, '
        + member
        + ', "U1": {"billing_active": true}}, "response_metadata": {"next_cursor": ""}}\n'
    ).encode()
