"""Saved SaaS responses through the page parser: every source, every file shape, every trap."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bimo.demo.saas import SAVED
from ingestion.saas import API_SOURCES, parse_saved
from tests.saas.conftest import END, saved

DAY = "2026-10-01"


def write(path: Path, doc: object, *, lines: bool = False, gz: bool = False) -> Path:
    data = (
        b"".join(json.dumps(d).encode() + b"\n" for d in doc) if lines else json.dumps(doc).encode()
    )
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("source", API_SOURCES)
def test_every_saved_day_parses_completely(demo_root, truth, source):
    files = sorted((demo_root / "saas" / SAVED[source]).iterdir())
    parses = [parse_saved(source, f, org="acme-robotics") for f in files]
    assert sum(p.table.num_rows for p in parses) == truth["rows"][source]
    assert not [q for p in parses for q in p.quarantine + p.issues]
    assert all(p.table.num_rows == p.rows_in for p in parses)


def test_copilot_seats_keep_deleted_users_and_normalise_offsets(demo_root, truth):
    parse = parse_saved(
        "github-copilot-seats", saved(demo_root, SAVED["github-copilot-seats"], DAY)
    )
    rows = parse.table.to_pylist()
    assert len(rows) == truth["seats"]["github-copilot"][DAY]
    ghosts = [r for r in rows if r["assignee_login"] is None]
    assert len(ghosts) == truth["copilot"]["null_assignee_seats"] == 1
    assert {r["as_of_date"] for r in rows} == {date(2026, 10, 1)}
    assert {r["delivery_key"] for r in rows} == {f"github-copilot-seats|default|{DAY}"}
    assert {r["plan_type"] for r in rows} == {"business"}
    assert (
        sum(r["pending_cancellation_date"] is not None for r in rows)
        == (truth["copilot"]["pending_cancellation"][DAY])
    )
    assert all(r["created_at"].utcoffset().total_seconds() == 0 for r in rows)
    assert [r["_source_line"] for r in rows] == list(range(1, len(rows) + 1))
    assert max(r["_source_page"] for r in rows) == 2  # saved 25 per page


def test_seat_timestamps_become_utc_and_unknown_fields_are_kept(tmp_path):
    page = {"total_seats": 1, "seats": [{
        "created_at": "2021-08-03T18:00:00-06:00", "updated_at": "2021-09-23T15:00:00+05:30",
        "pending_cancellation_date": "2021-11-01", "last_activity_at": None,
        "plan_type": "Enterprise", "assignee": {"login": "octocat", "id": 1, "type": "User"},
        "assigning_team": {"slug": "justice-league"}, "seat_note": "kept",
    }]}  # fmt: skip
    (row,) = parse_saved("github-copilot-seats", write(tmp_path / "s.json", page)).table.to_pylist()
    assert row["created_at"] == datetime(2021, 8, 4, 0, 0, tzinfo=UTC)
    assert row["updated_at"] == datetime(2021, 9, 23, 9, 30, tzinfo=UTC)
    assert row["pending_cancellation_date"] == date(2021, 11, 1)
    assert row["plan_type"] == "enterprise" and row["assigning_team"] == "justice-league"
    assert json.loads(row["extra"]) == {"seat_note": "kept"}


def test_seat_count_mismatch_is_an_issue_not_silence(tmp_path):
    seat = {"created_at": "2026-01-01T00:00:00Z", "assignee": None}
    pages = [{"total_seats": 3, "seats": [seat]}, {"total_seats": 3, "seats": [seat]}]
    parse = parse_saved("github-copilot-seats", write(tmp_path / "s.json", pages))
    assert parse.table.num_rows == 2
    assert [(i["line"], i["reason"]) for i in parse.issues] == [
        (0, "check failed: 2 seats listed but total_seats is 3")
    ]
    pages[1]["total_seats"] = 2
    parse = parse_saved("github-copilot-seats", write(tmp_path / "s.json", pages))
    assert "total_seats changed between pages" in parse.issues[0]["reason"]


def test_malformed_pages_and_records_are_quarantined_alone(tmp_path):
    seat = {"created_at": "2026-01-01T00:00:00Z", "assignee": None}
    pages = [
        {"total_seats": 4, "seats": [seat, {"created_at": "yesterday"}]},
        {"total_seats": 4, "seats": "unavailable"},
        ["not", "a", "page"],
        {"total_seats": 4, "seats": [seat, 7]},
    ]
    parse = parse_saved("github-copilot-seats", write(tmp_path / "s.jsonl", pages, lines=True))
    reasons = {q["line"]: q["reason"] for q in parse.quarantine}
    assert parse.table.num_rows == 2 and parse.rows_in == 6
    assert reasons == {
        2: "bad record: created_at: expected an RFC 3339 timestamp, got 'yesterday'",
        3: "malformed page 2: seats is not a list",
        4: "malformed page 3: page is a list, not an object",
        6: "bad record: record is a int, not an object",
    }
    assert parse.table.column("_source_line").to_pylist() == [1, 5]


def test_file_shapes_gzip_and_the_as_of_date(tmp_path):
    page = {"ok": True, "billable_info": {"U1": {"billing_active": True}},
            "response_metadata": {"next_cursor": ""}}  # fmt: skip
    named = write(tmp_path / "billable-2026-10-31.jsonl.gz", [page, page], lines=True, gz=True)
    parse = parse_saved("slack-billable", named, org="T123")
    assert parse.table.num_rows == 2
    assert set(parse.table.column("delivery_key").to_pylist()) == {"slack-billable|T123|2026-10-31"}
    unnamed = write(tmp_path / "billable.json", [page])
    stamp = datetime(2026, 9, 3, 12, tzinfo=UTC).timestamp()
    os.utime(unnamed, (stamp, stamp))
    assert parse_saved("slack-billable", unnamed).table.column("as_of_date").to_pylist() == [
        date(2026, 9, 3)
    ]
    assert parse_saved("slack-billable", unnamed, as_of=END).table["as_of_date"][0].as_py() == END


def test_slack_unpivots_users_and_quarantines_error_pages(tmp_path):
    pages = [
        {"ok": True, "billable_info": {"U1": {"billing_active": True},
                                       "U2": {"billing_active": False}, "U3": "yes"}},
        {"ok": False, "error": "ratelimited"},
    ]  # fmt: skip
    parse = parse_saved("slack-billable", write(tmp_path / "b.json", pages))
    assert [(r["user_id"], r["billing_active"]) for r in parse.table.to_pylist()] == [
        ("U1", True),
        ("U2", False),
    ]
    assert [q["reason"] for q in parse.quarantine] == [
        "bad record: billable_info[U3] is not an object",
        "malformed page 2: the API reported an error: ok:false, error 'ratelimited'",
    ]


def test_zoom_users_licensed_and_names_dropped(demo_root, truth):
    parse = parse_saved("zoom-users", saved(demo_root, SAVED["zoom-users"], DAY))
    rows = parse.table.to_pylist()
    assert sum(r["licensed"] for r in rows) == truth["seats"]["zoom"][DAY]
    assert {r["user_type"] for r in rows} == {1, 2}
    assert not any("first_name" in (r["extra"] or "") for r in rows)
    assert all(r["email"].endswith("@acme-robotics.com") for r in rows)


def test_dated_usage_rows_are_keyed_by_their_own_day(demo_root):
    report = parse_saved(
        "zoom-daily-report", saved(demo_root, SAVED["zoom-daily-report"], "2026-09")
    )
    assert report.table.num_rows == 30
    assert report.table["delivery_key"][0].as_py() == "zoom-daily-report|default|2026-09-01"
    usage = parse_saved(
        "github-billing-usage", saved(demo_root, SAVED["github-billing-usage"], DAY)
    )
    rows = usage.table.to_pylist()
    assert {r["unit_type"] for r in rows} == {"minutes", "gigabytehours", "usermonths"}
    assert all(r["net_amount"] == r["gross_amount"] - r["discount_amount"] for r in rows)
    assert {r["delivery_key"] for r in rows} == {f"github-billing-usage|default|{DAY}"}
    assert any(r["discount_amount"] > Decimal(0) for r in rows)  # included free minutes


def test_copilot_billing_is_one_row_per_day(demo_root):
    parse = parse_saved(
        "github-copilot-billing", saved(demo_root, SAVED["github-copilot-billing"], DAY)
    )
    (row,) = parse.table.to_pylist()
    assert row["seats_total"] == row["seats_active_this_cycle"] + row["seats_inactive_this_cycle"]
    assert row["seat_management_setting"] == "assign_selected"


def test_invoices_csv(demo_root, truth, tmp_path):
    files = sorted((demo_root / "saas" / "saas-invoices").iterdir())
    parses = [parse_saved("saas-invoices", f) for f in files]
    assert sum(p.table.num_rows for p in parses) == truth["invoices"]["rows"]
    bad = [q for p in parses for q in p.quarantine]
    assert [q["reason"] for q in bad] == ["bad row: amount: not a number: 'n/a'"]
    amounts: dict[str, Decimal] = {}
    for row in (r for p in parses for r in p.table.to_pylist()):
        amounts[row["currency"]] = amounts.get(row["currency"], Decimal(0)) + row["amount"]
    assert {c: str(a.normalize()) for c, a in amounts.items()} == {
        c: str(Decimal(a).normalize()) for c, a in truth["invoices"]["amount"].items()
    }
    odd = tmp_path / "odd.csv.gz"
    odd.write_bytes(gzip.compress(
        b"\xef\xbb\xbfCurrency,Vendor,PERIOD,Seats,Amount,po_number\n"
        b"eur,Notion,2026-09,4,-12.5,PO-7\n"
        b"USD,Notion,2026-13,4,1,\n"
        b"USD,Notion,2026-09,-1,1,\n"
        b"USD,,2026-09,1,1,\n"
    ))  # fmt: skip
    parse = parse_saved("saas-invoices", odd)
    (row,) = parse.table.to_pylist()
    assert (row["currency"], row["amount"], row["period_start"]) == (
        "EUR",
        Decimal("-12.5"),
        date(2026, 9, 1),
    )
    assert row["delivery_key"] == "saas-invoices|Notion|2026-09" and row["_source_line"] == 1
    assert json.loads(row["extra"]) == {"po_number": "PO-7"}
    assert [q["line"] for q in parse.quarantine] == [2, 3, 4]
    assert parse.rows_in == 4


def test_invoices_without_required_columns_are_quarantined_whole(tmp_path):
    path = tmp_path / "inv.csv"
    path.write_text("vendor,period,amount\nSlack,2026-09,10\n")
    parse = parse_saved("saas-invoices", path)
    assert parse.table.num_rows == 0 and parse.rows_in == 1
    assert parse.quarantine[0]["reason"] == "header lacks seats, currency"


def test_unknown_source_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown SaaS source"):
        parse_saved("teams-seats", tmp_path / "x.json")
