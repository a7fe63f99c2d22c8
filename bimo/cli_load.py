"""`bimo load`: parse files for one source, load them, print what happened.

A PATH that is a URL (s3://, gs://, az://, file://, …) is first mirrored into
`<landing>/.remote/` and then read like a local folder of the mirrored files. Local paths must
resolve inside `BIMO_FILE_ROOTS` (default: the current directory) or the landing folder.
"""

from __future__ import annotations

import glob
from collections.abc import Callable
from functools import partial
from pathlib import Path

from rich.console import Console

from bimo.settings import Settings

GATEWAY = ("bimo-gateway", "litellm", "otel-genai", "cli-log")
SAAS = (
    *("github-copilot-seats", "github-copilot-billing", "github-billing-usage"),
    *("slack-billable", "zoom-users", "zoom-daily-report", "saas-invoices"),
)


def load_command(
    source: str, paths: list[str], settings: Settings, console: Console, progress: Callable
) -> int | None:
    """Load; returns an exit code on error, None when the marts should be rebuilt next."""
    try:
        if source in GATEWAY:
            return _gateway(source, paths, settings, console, progress)
        if source in SAAS:
            return _saas(source, paths, settings, console, progress)
        return _billing(source, paths, settings, console, progress)
    except (FileNotFoundError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2


def _localize(paths, settings, console, progress, *, suffixes=(), manifests=False) -> list[str]:
    """The paths, with each URL replaced by its mirrored files."""
    from ingestion.remote import is_url

    local: list[str] = []
    for path in paths:
        if is_url(path):
            local += _mirror(path, settings, console, progress, suffixes, manifests)
        else:
            local.append(path)
    return local


def _mirror(url, settings, console, progress, suffixes, manifests) -> list[str]:
    """Mirror a URL into `<landing>/.remote/`; a folder URL keeps only the files with
    `suffixes`, as a local folder does. Billing globs bring their manifests along."""
    from ingestion.remote import CACHE_DIR, MANIFEST_GLOB, fetch, redact

    with progress() as bar:
        task = bar.add_task(f"downloading {redact(url)}", total=None)
        result = fetch(
            url,
            cache_root=settings.landing_dir / CACHE_DIR,
            extra_globs=[MANIFEST_GLOB] if manifests else [],
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    console.print(str(result))
    files = result.files
    if result.folder and suffixes:
        files = [f for f in files if f.name.endswith(suffixes)]
    # escaped: a mirrored name with [ or * must not be read as a glob
    return [glob.escape(str(f)) for f in files]


def _interrupted(console: Console, packages: int) -> None:
    from ingestion.load import interrupted_message

    if packages:
        console.print(f"  [yellow]{interrupted_message(packages)}[/] (its counts follow)")


def _shown(paths) -> str:
    from ingestion.remote import is_url, redact

    return " ".join(redact(p) if is_url(p) else p for p in paths)


def _gateway(source, paths, settings, console, progress) -> int | None:
    from ingestion.load import group_files, load_files
    from ingestion.readers import JSON_SUFFIXES

    local = _localize(paths, settings, console, progress, suffixes=JSON_SUFFIXES)
    files = group_files(source, local, roots=settings.file_roots)
    if not files[source]:
        console.print(f"[red]error:[/] no JSON files found in {_shown(paths)}")
        return 2
    with progress() as bar:
        task = bar.add_task(f"loading {source}", total=len(files[source]))
        summary = load_files(files, settings=settings, progress=lambda _p: bar.advance(task))
    _interrupted(console, summary.interrupted_loads)
    st = summary.stats[source]
    console.print(
        f"{source}: {st.records:,} records in {st.files} files → "
        f"[green]{summary.added[source]:,} rows loaded[/], "
        f"{summary.duplicates(source):,} duplicates skipped, "
        f"[yellow]{st.quarantined:,} quarantined[/], {st.skipped:,} skipped (not requests)"
    )
    if st.quarantined:
        console.print("  reasons: select reason, count(*) from raw_gateway.quarantine group by 1")
    return None


def _billing(source, paths, settings, console, progress) -> int | None:
    from ingestion.billing.apis import API_SOURCES, parse_saved
    from ingestion.billing.files import FILE_SOURCES, expand_billing_paths
    from ingestion.billing.load import load_billing
    from ingestion.readers import JSON_SUFFIXES, expand_paths

    if source in FILE_SOURCES:
        local = _localize(paths, settings, console, progress, manifests=True)
        files, parse = expand_billing_paths(local, roots=settings.file_roots), FILE_SOURCES[source]
    elif source in API_SOURCES:
        local = _localize(paths, settings, console, progress, suffixes=JSON_SUFFIXES)
        files = expand_paths(local, roots=settings.file_roots)
        parse = partial(parse_saved, source)
    else:
        raise ValueError(f"unknown source {source!r}")
    if not files:
        console.print(f"[red]error:[/] no {source} files found in {_shown(paths)}")
        return 2
    parses = []
    with progress() as bar:
        task = bar.add_task(f"parsing {source}", total=len(files))
        for f in files:
            parses.append(parse(f))
            bar.advance(task)
    with console.status("loading (replace by delivery)…"):
        summary = load_billing(parses, settings=settings)
    _interrupted(console, summary.interrupted_loads)
    console.print(
        f"{source}: {summary.rows_in:,} rows in {summary.files} files → "
        f"[green]{summary.line_items + summary.usage_rows:,} rows loaded[/] in "
        f"{summary.deliveries} deliveries ({summary.replaced_deliveries} replaced a stored one), "
        f"{summary.superseded_in_load:,} rows of older deliveries dropped, "
        f"[yellow]{summary.quarantined:,} quarantined[/]"
    )
    if summary.stale_skipped:
        console.print(
            f"  [yellow]{summary.stale_skipped:,} rows skipped[/]: their delivery is older than "
            "the one already loaded for the same period (touch the file to make it the latest)"
        )
    for reason, n in sorted(summary.quarantine_reasons.items(), key=lambda kv: -kv[1])[:5]:
        console.print(f"  {n:,} × {reason}")
    return None


def _saas(source, paths, settings, console, progress) -> int | None:
    from ingestion.billing.files import expand_billing_paths
    from ingestion.readers import JSON_SUFFIXES, expand_paths
    from ingestion.saas import parse_saved
    from ingestion.saas.load import load_saas

    if source == "saas-invoices":
        local = _localize(paths, settings, console, progress)
        files = expand_billing_paths(local, roots=settings.file_roots)
    else:
        local = _localize(paths, settings, console, progress, suffixes=JSON_SUFFIXES)
        files = expand_paths(local, roots=settings.file_roots)
    if not files:
        console.print(f"[red]error:[/] no {source} files found in {_shown(paths)}")
        return 2
    with progress() as bar:
        task = bar.add_task(f"parsing {source}", total=len(files))
        parses = []
        for f in files:
            parses.append(parse_saved(source, Path(f)))
            bar.advance(task)
    with console.status("loading (replace by day)…"):
        summary = load_saas(parses, settings=settings)
    _interrupted(console, summary.interrupted_loads)
    counts = summary.sources.get(source)
    loaded = counts.loaded if counts else 0
    console.print(
        f"{source}: {summary.rows_in:,} records in {len(files)} files → "
        f"[green]{loaded:,} rows loaded[/] in {summary.deliveries} days or months "
        f"({summary.replaced_deliveries} replaced a stored one), "
        f"[yellow]{counts.quarantined if counts else 0:,} quarantined[/], "
        f"{counts.stale if counts else 0:,} skipped as older than the stored delivery"
    )
    for issue in summary.issues[:5]:
        console.print(f"  [yellow]check failed:[/] {issue}")
    return None
