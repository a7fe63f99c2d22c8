"""One module per log format. Each exposes `TABLE`, `COLUMNS` (name → Arrow type) and
`parse(record) -> Iterator[dict | Skip | BadRecord]`: rows to load, records that are not requests
(counted, not loaded), and records to quarantine with a reason. A format may also have
`fast_row(line) -> tuple | FALLBACK`: for a JSON Lines line, the row `parse` would make, or
`fast.FALLBACK` for `parse` to read it (ingestion/formats/fast.py)."""

from __future__ import annotations

from types import ModuleType

from ingestion.formats import bimo_gateway, cli_log, litellm, otel_genai

FORMATS: dict[str, ModuleType] = {
    "bimo-gateway": bimo_gateway,
    "litellm": litellm,
    "otel-genai": otel_genai,
    "cli-log": cli_log,
}
