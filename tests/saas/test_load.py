"""Loading SaaS parses into raw_saas: day snapshots replace, days accumulate, counts add up."""

from __future__ import annotations

import gzip
import json
from datetime import date

import duckdb

from bimo.demo.saas import SAVED
from bimo.demo.saas_server import SEATS
from ingestion.saas import API_SOURCES, TABLES, fetch, parse_saved
from ingestion.saas.load import DATASET, load_saas
from tests.saas.conftest import END, TOKEN, saved

ORG = "acme-robotics"


def query(settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.sql(sql).fetchall()


def per_day(settings, table: str, measure: str = "count(*)") -> dict[str, int]:
    sql = f"select as_of_date::varchar, {measure} from {DATASET}.{table} group by 1"
    return dict(query(settings, sql))


def all_saved(root, source: str) -> list:
    files = sorted((root / "saas" / SAVED[source]).iterdir())
    return [parse_saved(source, f, org=ORG) for f in files]


def total_seats(root, day: str) -> set[int]:
    """`total_seats` as written on every saved page of one day."""
    path = saved(root, SAVED["github-copilot-seats"], day)
    raw = path.read_bytes()
    return {
        p["total_seats"]
        for p in json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    }


def pull_seats(server, day: date):
    server.apis.day = day
    return fetch(
        "github-copilot-seats",
        org=ORG,
        as_of=day,
        page_size=10,
        token=TOKEN,
        base_url=server.github,
    )


def test_demo_seats_equal_total_seats_and_billable_users(demo_root, truth, settings):
    parses = all_saved(demo_root, "github-copilot-seats") + all_saved(demo_root, "slack-billable")
    summary = load_saas(parses, settings=settings)
    assert summary.issues == [] and summary.quarantined == 0
    seats = per_day(settings, "copilot_seats")
    assert seats == truth["seats"]["github-copilot"]
    assert all(total_seats(demo_root, day) == {n} for day, n in seats.items())
    billable = per_day(settings, "slack_billable", "count(*) filter (billing_active)")
    assert billable == truth["billable_users"]
    assert len(set(billable.values())) > 1 and len(set(seats.values())) > 1  # churn shows


def test_same_day_twice_replaces_and_two_days_accumulate(server, settings):
    first = load_saas([pull_seats(server, END)], settings=settings)
    again = load_saas([pull_seats(server, END)], settings=settings)
    assert (first.replaced_deliveries, again.replaced_deliveries) == (0, 1)
    assert first.loaded == again.loaded > 0
    earlier = date(2026, 9, 1)
    then = load_saas([pull_seats(server, earlier)], settings=settings)
    assert per_day(settings, "copilot_seats") == {
        END.isoformat(): first.loaded,
        earlier.isoformat(): then.loaded,
    }


def test_two_deliveries_of_one_day_in_one_load_keep_the_later(demo_root, settings, tmp_path):
    path = saved(demo_root, SAVED["slack-billable"], END.isoformat())
    old = parse_saved("slack-billable", path)
    newer = tmp_path / f"again-{END}.jsonl"
    newer.write_bytes(path.read_bytes())  # written now: a later mtime than the demo file
    summary = load_saas([parse_saved("slack-billable", newer), old], settings=settings)
    counts = summary.sources["slack-billable"]
    assert counts.superseded == counts.loaded == old.rows_in
    stored = query(settings, f"select distinct delivery_id from {DATASET}.slack_billable")
    assert stored == [(newer.name,)]


def test_every_source_loads_and_counts_add_up(demo_root, server, settings):
    parses = [p for source in API_SOURCES for p in all_saved(demo_root, source)[:3]]
    invoices = sorted((demo_root / "saas" / "saas-invoices").iterdir())
    parses += [parse_saved("saas-invoices", f) for f in invoices]
    server.apis.malform(SEATS, 2)
    parses.append(pull_seats(server, END))  # a day the saved files above do not cover
    summary = load_saas(parses, settings=settings)
    for source, counts in summary.sources.items():
        assert counts.loaded + counts.quarantined + counts.superseded == counts.rows_in, source
        assert counts.superseded == 0, source
    assert summary.loaded + summary.quarantined == summary.rows_in
    assert summary.quarantined == 2  # the malformed page and the invoice row with amount n/a
    assert len(summary.issues) == 1 and "total_seats" in summary.issues[0]
    for source, table in TABLES.items():
        stored = query(settings, f"select count(*) from {DATASET}.{table}")[0][0]
        assert stored == summary.sources[source].loaded, source
    lines = sorted(r[0] for r in query(settings, f"select line from {DATASET}.quarantine"))
    assert lines == [0, 10, 11]  # the seat-count issue, the invoice row, the page


def test_an_empty_load_creates_every_table(settings):
    assert load_saas([], settings=settings).rows_in == 0
    sql = f"select table_name from information_schema.tables where table_schema = '{DATASET}'"
    assert {*TABLES.values(), "quarantine"} <= {r[0] for r in query(settings, sql)}
    assert query(settings, f"select count(*) from {DATASET}.invoices") == [(0,)]


def test_column_types(demo_root, settings):
    load_saas(all_saved(demo_root, "github-billing-usage")[:1], settings=settings)
    sql = (
        "select table_name || '.' || column_name, data_type from information_schema.columns "
        f"where table_schema = '{DATASET}'"
    )
    types = dict(query(settings, sql))
    assert types["github_billing_usage.net_amount"] == "DECIMAL(38,18)"
    assert types["github_billing_usage.usage_date"] == types["copilot_seats.as_of_date"] == "DATE"
    assert types["copilot_seats.created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["invoices.amount"] == "DECIMAL(38,18)"
    assert types["slack_billable.billing_active"] == "BOOLEAN"


def test_an_older_delivery_never_overwrites_a_newer_day(demo_root, server, settings):
    live = pull_seats(server, END)  # ranked by pull time: now
    load_saas([live], settings=settings)
    path = saved(demo_root, SAVED["github-copilot-seats"], str(END))
    old = parse_saved("github-copilot-seats", path, org=ORG)  # saved the morning after END
    summary = load_saas([old], settings=settings)
    counts = summary.sources["github-copilot-seats"]
    assert counts.stale == old.rows_in and counts.loaded == 0 and summary.deliveries == 0
    stored = query(settings, f"select distinct delivery_id from {DATASET}.copilot_seats")
    assert stored == [(live.table["delivery_id"][0].as_py(),)]


def test_an_empty_snapshot_clears_its_day_only(demo_root, settings, tmp_path):
    parses = all_saved(demo_root, "github-copilot-seats")[-2:]
    load_saas(parses, settings=settings)
    empty = tmp_path / f"seats-{END}.json"
    empty.write_text('{"total_seats": 0, "seats": []}')
    parse = parse_saved("github-copilot-seats", empty, org=ORG)
    assert parse.table.num_rows == 0 and parse.snapshot == f"github-copilot-seats|{ORG}|{END}"
    summary = load_saas([parse], settings=settings)
    assert summary.replaced_deliveries == 1
    assert list(per_day(settings, "copilot_seats")) == [str(date.fromordinal(END.toordinal() - 1))]


def test_a_later_empty_snapshot_wins_within_one_load(demo_root, settings, tmp_path):
    full = all_saved(demo_root, "github-copilot-seats")[-1]
    empty = tmp_path / f"seats-{END}.json"
    empty.write_text('{"total_seats": 0, "seats": []}')  # written now: later than the demo file
    summary = load_saas(
        [full, parse_saved("github-copilot-seats", empty, org=ORG)], settings=settings
    )
    counts = summary.sources["github-copilot-seats"]
    assert counts.loaded == 0 and counts.superseded == full.rows_in
    assert per_day(settings, "copilot_seats") == {}
