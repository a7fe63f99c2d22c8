"""Every dashboard page, opened in headless Chromium against a real `streamlit run` server.

The pages are the navigation links the running app shows (never a list kept here), so a page
added to `app/streamlit_app.py` is tested without touching this file. Screenshots land in the
test's temporary folder; `make screenshots` (BIMO_SCREENSHOTS=docs/screenshots) also writes the
README's viewport-sized ones from the demo warehouse.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.support import (
    Page,
    declared_page_count,
    discover_pages,
    open_page,
    screenshot,
    streamlit_server,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def check_every_page(driver, base_url: str, shots: Path, publish: Path | None = None) -> list:
    """Open the app, then each page it links to; return (page, problem) for each failure."""
    start = open_page(driver, base_url)
    pages = discover_pages(driver)
    declared = declared_page_count()
    assert len(pages) >= max(declared, 1), (
        f"found {len(pages)} navigation links {[p.title for p in pages]}, but"
        f" app/streamlit_app.py declares {declared} st.Page entries; the start page shows:\n"
        + "\n".join(page_problems(start) or [start["text"][:2000]])
    )
    problems = []
    for page in pages:
        try:
            seen = open_page(driver, page.url)
        except TimeoutError as err:  # report it with a screenshot, then go on to the next page
            problems.append((page, str(err)))
            screenshot(driver, shots / f"{page.slug}.png", full_page=True)
            continue
        problems += [(page, p) for p in page_problems(seen)]
        if seen["active"] and page.url not in seen["active"]:
            problems.append((page, f"navigation shows {seen['active']} as the current page"))
        screenshot(driver, shots / f"{page.slug}.png", full_page=True)
        if publish:
            screenshot(driver, publish / f"{page.slug}.png", full_page=False)
    return problems


def page_problems(seen: dict) -> list[str]:
    """What is wrong with one rendered page: exceptions, tracebacks, a script that did not run."""
    found = [f"st.exception shown:\n{text}" for text in seen["exceptions"]]
    if "Traceback" in seen["text"]:
        found.append("'Traceback' in the page text")
    if seen["script"] != "notRunning":
        found.append(f"script ended in state {seen['script']!r}")
    return found


def server_problems(log: Path) -> list:
    """An error the server logged but no page showed (a callback, a background thread)."""
    if "Traceback" in log.read_text():
        return [(Page("(server)", str(log)), "Traceback in the streamlit log")]
    return []


def report(problems: list, shots: Path, log: Path) -> str:
    lines = [f"{page.title} ({page.url}): {problem}" for page, problem in problems]
    tail = log.read_text()[-8000:]
    return "\n\n".join([*lines, f"screenshots: {shots}", f"streamlit log (tail):\n{tail}"])


def test_every_page_renders_on_the_demo_warehouse(browser, demo_warehouse, tmp_path):
    publish = os.environ.get("BIMO_SCREENSHOTS")
    shots, log = tmp_path / "screenshots", tmp_path / "streamlit.log"
    with streamlit_server(demo_warehouse, log) as url:
        problems = check_every_page(
            browser, url, shots, Path(publish).resolve() if publish else None
        )
    problems += server_problems(log)
    assert not problems, report(problems, shots, log)


def test_every_page_renders_on_an_empty_warehouse(browser, empty_warehouse, tmp_path):
    shots, log = tmp_path / "screenshots", tmp_path / "streamlit.log"
    with streamlit_server(empty_warehouse, log) as url:
        problems = check_every_page(browser, url, shots)
    problems += server_problems(log)
    assert not problems, report(problems, shots, log)
