"""The SaaS demo data: deterministic, consistent with the company, with the churn it promises."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bimo.demo.company import DEVELOPERS
from bimo.demo.saas import SAVED, generate_saas
from ingestion.saas import parse_saved
from tests.saas.conftest import END, SEED, START, saved


def snapshot(root) -> dict[str, tuple[bytes, int | bool]]:
    """Every file's bytes and, for deliveries (not truth.json), its mtime."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {
        p.relative_to(root).as_posix(): (
            p.read_bytes(),
            p.name != "truth.json" and p.stat().st_mtime_ns,
        )
        for p in files
    }


def test_same_seed_same_bytes_and_mtimes(tmp_path, demo_root):
    again = tmp_path / "again"
    generate_saas(again, START, END, SEED)
    assert snapshot(again) == snapshot(demo_root)
    other = tmp_path / "other"
    generate_saas(other, START, END, SEED + 1)
    assert snapshot(other) != snapshot(demo_root)


def test_seats_churn(demo_root, truth):
    days = sorted(truth["seats"]["github-copilot"])
    first = parse_saved(
        "github-copilot-seats", saved(demo_root, SAVED["github-copilot-seats"], days[0])
    )
    last = parse_saved(
        "github-copilot-seats", saved(demo_root, SAVED["github-copilot-seats"], days[-1])
    )
    before = set(first.table["assignee_login"].to_pylist())
    after = set(last.table["assignee_login"].to_pylist())
    assert after - before and before - after  # seats added and seats cancelled
    assert max(truth["copilot"]["pending_cancellation"].values()) >= 1
    assert min(truth["copilot"]["inactive_30_days"].values()) >= 1
    developers = {d[0].replace(".", "-") for d in DEVELOPERS}
    assert developers <= before  # the company's developers hold seats
    assert None in before and None in after  # the deleted user's seat


def test_billable_and_licensed_users_move(truth):
    assert len(set(truth["billable_users"].values())) > 1
    assert len(set(truth["seats"]["zoom"].values())) > 1
    assert set(truth["seats"]) == {"github-copilot", "slack", "zoom"}
    assert len(truth["billable_users"]) == (END - START).days + 1


def test_invoices_have_a_price_change(truth):
    periods = truth["invoices"]["periods"]
    slack = {
        p: Decimal(v["Slack Business+"]["amount"]) / v["Slack Business+"]["seats"]
        for p, v in periods.items()
    }
    assert sorted(slack) == ["2026-08", "2026-09", "2026-10"]
    assert slack["2026-08"] == Decimal("12.50") and slack["2026-10"] == Decimal("15.00")
    assert truth["invoices"]["price_change"]["first_period"] == "2026-09"
    copilot = periods["2026-09"]["GitHub Copilot Business"]["seats"]
    assert copilot == truth["seats"]["github-copilot"]["2026-09-01"]
    assert date.fromisoformat(truth["start"]) == START
