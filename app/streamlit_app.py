"""Bimo dashboard entry point: page setup and navigation over `app/app_pages/`."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parent / "app_pages"

st.set_page_config(page_title="Bimo", layout="wide")
page = st.navigation(
    [
        st.Page(
            PAGES_DIR / "overview.py", title="Overview", icon=":material/monitoring:", default=True
        ),
        st.Page(PAGES_DIR / "reconciliation.py", title="Reconciliation", icon=":material/balance:"),
        st.Page(PAGES_DIR / "saas.py", title="SaaS", icon=":material/group:"),
    ]
)
page.run()
