"""`bimo load`: parse files for one source, load them, print what happened."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from bimo.settings import Settings

GATEWAY = ("bimo-gateway", "litellm", "otel-genai", "cli-log")


def load_command(
    source: str, paths: list[str], settings: Settings, console: Console, progress: Callable
) -> int | None:
    """Load; returns an exit code on error, None when the marts should be rebuilt next."""
    try:
        if source in GATEWAY:
            return _gateway(source, paths, settings, console, progress)
        return _billing(source, paths, settings, console, progress)
    except (FileNotFoundError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2


def _gateway(source, paths, settings, console, progress) -> int | None:
    from ingestion.load import group_files, load_files

    files = group_files(source, paths)
    if not files[source]:
        console.print(f"[red]error:[/] no JSON files found in {' '.join(paths)}")
        return 2
    with progress() as bar:
        task = bar.add_task(f"loading {source}", total=len(files[source]))
        summary = load_files(files, settings=settings, progress=lambda _p: bar.advance(task))
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
    from ingestion.readers import expand_paths

    if source in FILE_SOURCES:
        files, parse = expand_billing_paths(paths), FILE_SOURCES[source]
    elif source in API_SOURCES:
        files, parse = expand_paths(paths), lambda p: parse_saved(source, Path(p))
    else:
        raise ValueError(f"unknown source {source!r}")
    if not files:
        console.print(f"[red]error:[/] no {source} files found in {' '.join(paths)}")
        return 2
    parses = []
    with progress() as bar:
        task = bar.add_task(f"parsing {source}", total=len(files))
        for f in files:
            parses.append(parse(f))
            bar.advance(task)
    with console.status("loading (replace by delivery)…"):
        summary = load_billing(parses, settings=settings)
    console.print(
        f"{source}: {summary.rows_in:,} rows in {summary.files} files → "
        f"[green]{summary.line_items + summary.usage_rows:,} rows loaded[/] in "
        f"{summary.deliveries} deliveries ({summary.replaced_deliveries} replaced a stored one), "
        f"{summary.superseded_in_load:,} rows of older deliveries dropped, "
        f"[yellow]{summary.quarantined:,} quarantined[/]"
    )
    for reason, n in sorted(summary.quarantine_reasons.items(), key=lambda kv: -kv[1])[:5]:
        console.print(f"  {n:,} × {reason}")
    return None
