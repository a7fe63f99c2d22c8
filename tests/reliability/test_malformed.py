"""Bad input, at scale: every malformed case loads through the real loaders into a temporary
warehouse, and every good record lands while every bad one is quarantined with a reason.

Cases load in three batches (gateway logs, billing, SaaS), one loader call each, each case in its
own file; counts are split by the file column of the raw rows and of the quarantine.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from bimo.settings import Settings, get_settings
from ingestion.billing.apis import parse_saved as parse_api
from ingestion.billing.files import FILE_SOURCES
from ingestion.billing.load import load_billing
from ingestion.formats import FORMATS as LOG_FORMATS
from ingestion.load import load_files
from ingestion.saas import TABLES as SAAS_TABLES
from ingestion.saas import parse_saved as parse_saas
from ingestion.saas.load import load_saas
from tests.reliability.malformed import (
    BILLING_APIS,
    BILLING_FILES,
    CASES,
    FORMATS,
    GATEWAY,
    KINDS,
    SAAS,
    Case,
    case_counts,
)

# money columns that must never hold a silent 0 for the cases' (all non-zero) good records
MONEY = {
    "raw_gateway": {"litellm_spend_logs": "spend", "cli_log_usage": "cost_usd"},
    "raw_billing": {"line_items": "billed_cost"},
    "raw_saas": {"invoices": "amount", "github_billing_usage": "net_amount"},
}


@dataclass
class Outcome:
    """What loading gave for the files of one case."""

    good: int = 0
    reasons: list[str] = field(default_factory=list)
    zero_money: int = 0
    file_errors: list[str] = field(default_factory=list)


@dataclass
class Loaded:
    outcomes: dict[str, Outcome]
    load_errors: dict[str, str]  # family → exception text of a load that raised


def _build(root: Path) -> dict[str, list[Path]]:
    paths = {}
    for case in CASES:
        folder = root / case.family / case.format
        folder.mkdir(parents=True, exist_ok=True)
        paths[case.id] = [p.resolve() for p in case.build(folder)]
    return paths


def _collect(settings: Settings, dataset: str, owner: dict[str, str], out: dict) -> None:
    """Per case: raw rows by `_source_file`, quarantine reasons by `file`, zero money rows."""
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = ? "
                "and table_name not like '_dlt%'",
                [dataset],
            ).fetchall()
        ]
        for table in tables:
            if table in ("quarantine", "api_coverage"):
                continue
            money = MONEY[dataset].get(table)
            zero = f"count(*) filter (where {money} = 0)" if money else "0"
            for file, n, zeros in con.execute(
                f'select _source_file, count(*), {zero} from {dataset}."{table}" group by 1'
            ).fetchall():
                if file in owner:
                    out[owner[file]].good += n
                    out[owner[file]].zero_money += zeros
        quarantined = con.execute(f"select file, reason from {dataset}.quarantine").fetchall()
        for file, reason in quarantined:
            if file in owner:
                out[owner[file]].reasons.append(reason)
    finally:
        con.close()


def _load_gateway(paths, settings, owner, out, errors) -> None:
    files = defaultdict(list)
    for case in CASES:
        if case.family == "gateway":
            files[case.format] += paths[case.id]
    try:
        load_files(dict(files), settings=settings)
    except Exception as exc:  # reported by the test, not swallowed
        errors["gateway"] = f"{type(exc).__name__}: {exc}"
    _collect(settings, "raw_gateway", owner, out)


def _parse_each(cases: list[Case], paths, parse, out) -> list:
    parses = []
    for case in cases:
        for path in paths[case.id]:
            try:
                parses.append(parse(case, path))
            except ValueError as exc:
                out[case.id].file_errors.append(str(exc))
    return parses


def _load_billing(paths, settings, owner, out, errors) -> None:
    def parse(case: Case, path: Path):
        if case.format in FILE_SOURCES:
            return FILE_SOURCES[case.format](path)
        return parse_api(case.format, path, account=case.id)

    try:
        cases = [c for c in CASES if c.family == "billing"]
        load_billing(_parse_each(cases, paths, parse, out), settings=settings)
    except Exception as exc:
        errors["billing"] = f"{type(exc).__name__}: {exc}"
    _collect(settings, "raw_billing", owner, out)


def _load_saas(paths, settings, owner, out, errors) -> None:
    def parse(case: Case, path: Path):
        return parse_saas(case.format, path, org=case.id)

    try:
        cases = [c for c in CASES if c.family == "saas"]
        load_saas(_parse_each(cases, paths, parse, out), settings=settings)
    except Exception as exc:
        errors["saas"] = f"{type(exc).__name__}: {exc}"
    _collect(settings, "raw_saas", owner, out)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    root = tmp_path_factory.mktemp("malformed")
    paths = _build(root)
    owner = {str(p): cid for cid, ps in paths.items() for p in ps}
    out = {case.id: Outcome() for case in CASES}
    errors: dict[str, str] = {}
    settings = get_settings(root / "warehouse.duckdb")
    _load_gateway(paths, settings, owner, out, errors)
    _load_billing(paths, settings, owner, out, errors)
    _load_saas(paths, settings, owner, out, errors)
    return Loaded(out, errors)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_loads_good_rows_and_quarantines_bad_ones(case: Case, loaded: Loaded):
    assert case.family not in loaded.load_errors, loaded.load_errors[case.family]
    got = loaded.outcomes[case.id]
    if case.file_error:
        assert len(got.file_errors) == 1 and case.file_error in got.file_errors[0], got
    else:
        assert got.file_errors == [], "the parser refused the file"
    assert (got.good, len(got.reasons)) == (case.good, case.bad), got.reasons
    assert all(r and r.strip() for r in got.reasons), "a quarantine row without a reason"
    if case.reason:
        assert all(case.reason in r for r in got.reasons), got.reasons
    assert got.zero_money == 0, "a bad or missing amount became a silent $0"


def test_registry_is_large_distinct_and_covers_every_format():
    ids = [c.id for c in CASES]
    assert len(set(ids)) == len(ids) >= 100
    assert {c.format for c in CASES} == set(FORMATS)
    assert set(FORMATS) == set(GATEWAY) | set(BILLING_FILES) | set(BILLING_APIS) | set(SAAS)
    assert set(GATEWAY) == set(LOG_FORMATS) and set(BILLING_FILES) == set(FILE_SOURCES)
    assert set(SAAS) == set(SAAS_TABLES)
    assert {c.kind for c in CASES} <= set(KINDS)
    counts = case_counts()
    assert sum(counts.values()) == len(CASES) and set(counts) == set(KINDS)
    per_format = Counter((c.format, c.kind) for c in CASES)
    # every format meets the kinds that apply to all of them
    for fmt in FORMATS:
        for kind in ("truncated", "bom", "wrong_type", "empty_file", "huge_line"):
            assert per_format[(fmt, kind)] >= 1, (fmt, kind)
