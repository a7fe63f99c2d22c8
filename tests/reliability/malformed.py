"""Malformed inputs for every format Bimo loads: the registry of named cases.

Each `Case` (in `malformed_common`) writes its file(s) into a folder and states exactly what the
real loaders must make of them: how many rows load, how many quarantine rows appear (each with a
reason containing `reason`), or — for billing export files only, whose contract is to refuse a
structurally broken file whole with a `ValueError` naming it — the `file_error` text. Good records
surround the bad one, so a case also proves that nothing stops mid-file and every good record
after it loads. The cases are written per family (`malformed_gateway`, `malformed_billing`,
`malformed_saas`); this module assembles them in a stable order into `CASES`, counts them by kind
(`case_counts`) and re-exports `Case` and the format and kind names.

Every case gets its own file and its own ids, accounts, orgs or vendors, so whole families load
in one call (one dlt run each) and counts split by the file column of raw rows and quarantine.
"""

from __future__ import annotations

from collections import Counter

from tests.reliability.malformed_billing import billing_cases
from tests.reliability.malformed_common import (
    BILLING_APIS,
    BILLING_FILES,
    FORMATS,
    GATEWAY,
    KINDS,
    SAAS,
    Case,
)
from tests.reliability.malformed_gateway import gateway_cases
from tests.reliability.malformed_saas import saas_cases

__all__ = [
    "BILLING_APIS",
    "BILLING_FILES",
    "CASES",
    "FORMATS",
    "GATEWAY",
    "KINDS",
    "SAAS",
    "Case",
    "all_cases",
    "case_counts",
]


def all_cases() -> list[Case]:
    """Every case, in a stable order: gateway logs, billing, SaaS."""
    return gateway_cases() + billing_cases() + saas_cases()


CASES: list[Case] = all_cases()


def case_counts() -> dict[str, int]:
    """{kind: number of cases}, every kind listed (the README's summary table)."""
    counts = Counter(c.kind for c in CASES)
    return {kind: counts.get(kind, 0) for kind in KINDS}
