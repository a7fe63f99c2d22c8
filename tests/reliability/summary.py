"""The README's reliability table, built from what the suite collects: the tests of each kind
(one per case, scenario or attempt) and the malformed-input cases per kind of defect.

    .venv/bin/python -m tests.reliability.summary      # print the table to paste into README.md

`test_readme_summary.py` fails when the README's table differs from this one.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ROWS = [  # (kind, modules, what every case asserts)
    ("Idempotency", ("test_idempotency",),
     "load twice, backfill the same range twice: every mart and analytics table byte-identical"),
    ("Restatements and late data", ("test_restatements",),
     "re-delivered billing month, re-pulled API day, late gateway logs: marts equal a clean load"),
    ("Crashes (SIGKILL)", ("test_crashes",),
     "killed in the dlt load (mid-package; after a staging copy committed, before dlt recorded "
     "it), dbt build, analytics, a `bimo run` and a run launched as the Dagster daemon "
     "launches one: the next run completes, marts equal a clean load, readers never see a "
     "partial period"),
    ("Bad input", ("test_malformed",),
     "every good record loaded, every bad one quarantined with a reason, no crash, no silent $0"),
    ("Properties (hypothesis)", ("test_properties_tokens", "test_properties_pricing"),
     "tokens never negative and additive, costs never negative, additive within a tier, "
     "unpriced never 0, one currency"),
    ("Concurrency", ("test_concurrency",),
     "readers during writes never fail; runs started together queue and count once"),
    ("Security: content and secrets", ("test_security_leaks",),
     "no prompt, response or key in the warehouse, dlt state, dbt files or logs; none in errors"),
    ("Security: SQL sandbox", ("test_security_sandbox",),
     "file, network, write, ATTACH, extension and setting attempts refused; reads work"),
    ("Security: file roots", ("test_security_paths",),
     "`..`, absolute paths, symlinks and globs outside the roots refused before anything is read"),
]  # fmt: skip


def collected() -> Counter[str]:
    """Tests per module of this folder, as pytest collects them."""
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:xdist", str(HERE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return Counter(m.group(1) for m in re.finditer(r"tests/reliability/(\w+)\.py::", out))


def table() -> str:
    from tests.reliability.malformed import CASES, FORMATS, case_counts

    counts = collected()
    lines = ["| kind | tests | each one asserts |", "|---|---:|---|"]
    for kind, modules, asserts in ROWS:
        lines.append(f"| {kind} | {sum(counts[m] for m in modules):,} | {asserts} |")
    kinds = ", ".join(f"{k.replace('_', ' ')} {n}" for k, n in sorted(case_counts().items()))
    lines += [
        "",
        f"Bad input: {len(CASES)} cases over {len(FORMATS)} formats — {kinds}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
