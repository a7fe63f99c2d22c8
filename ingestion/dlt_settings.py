"""Bimo's dlt settings. `ingestion.source` applies them when it is imported, so they are in
place before dlt first resolves its configuration: calling a source does that, and a caller may
call one before it makes a pipeline (Dagster's definitions list the source's assets first)."""

from __future__ import annotations

import os
import sys


def configure_dlt() -> None:
    """dlt settings Bimo relies on: no telemetry, no piles of finished load packages, no import
    of Streamlit to look for secrets outside a Streamlit app."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("LOAD__DELETE_COMPLETED_JOBS", "true")
    os.environ.setdefault("LOAD__TRUNCATE_STAGING_DATASET", "true")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
    _streamlit_secrets_only_in_streamlit()


def _streamlit_secrets_only_in_streamlit() -> None:
    """When no `.dlt/secrets.toml` exists, dlt looks for secrets in Streamlit's `st.secrets`,
    importing streamlit (installed for the dashboard) only to find that the process is not a
    Streamlit app: 0.3–0.5 s of every load process (docs/benchmarks.md, item 15). A Streamlit
    app has imported streamlit before its script runs, so the lookup is left to dlt only then:
    the same answer, without the import. dlt is pinned; a test fails if this stops applying."""
    from dlt.common.configuration.providers import toml

    provider = toml.SettingsTomlProvider
    read = getattr(provider, "_read_streamlit_secrets", None)
    if read is None or getattr(read, "only_in_streamlit", False):
        return

    def read_in_streamlit(self, name: str, file_name: str):
        return read(self, name, file_name) if "streamlit" in sys.modules else None

    read_in_streamlit.only_in_streamlit = True
    provider._read_streamlit_secrets = read_in_streamlit
