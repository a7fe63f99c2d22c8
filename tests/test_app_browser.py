"""The URL round trip in a real browser: the dashboard served by `streamlit run`, driven by a
headless Chromium. A bound filter's value reaches the URL only through the browser, which
`AppTest` has not got. Skipped where Chromium, chromedriver or selenium is missing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from bimo.settings import get_settings
from bimo.warehouse import publish_snapshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
CHROME = (
    shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
)
DRIVER = shutil.which("chromedriver")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _warehouse(folder: Path) -> Path:
    """Thirty days of dev and prod AI spend."""
    settings = get_settings(folder / "warehouse.duckdb")
    con = duckdb.connect(str(settings.warehouse))
    con.execute(
        """
        create schema marts;
        create table marts.fct_daily_cost as
        select (?::date + i::int) as charge_date, tag as source_tag, 'ai' as service_category,
            'openai' as provider, 'openai' as service, 'gpt-4o' as model, 'search' as project,
            'core' as team, 'production' as environment, 'answer' as feature,
            null::varchar as api_key_id, 'Usage' as charge_category, 'USD' as currency,
            usd::decimal(38, 12) as cost, usd::decimal(38, 12) as cost_usd,
            usd::decimal(38, 12) as effective_cost_usd, usd::decimal(38, 12) as list_cost_usd,
            100::bigint as requests, 0::bigint as unpriced_requests,
        from range(30) as r(i), (values ('dev', 1.5), ('prod', 12.0)) as t(tag, usd)
        """,
        [date.today() - timedelta(days=30)],
    )
    con.close()
    publish_snapshot(settings)
    return settings.warehouse


@pytest.fixture
def server(tmp_path):
    """`streamlit run` on a free port of 127.0.0.1, on a small warehouse."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BIMO_", "STREAMLIT_"))}
    env["BIMO_WAREHOUSE"] = str(_warehouse(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "streamlit_app.py"),
         "--server.port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.25)
        else:
            pytest.fail("the dashboard did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    if not (CHROME and DRIVER):
        pytest.skip("no Chromium / chromedriver on this machine")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROME
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1600"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


LABELS_JS = """return [...document.querySelectorAll('[data-testid="stMetricLabel"]')]
    .map(e => e.innerText.trim());"""
# Click the first element matching a selector whose text (last line: after an icon's name when
# the icon font is missing) is the given text; report whether one was found.
CLICK_JS = """const [selector, text] = arguments;
const el = [...document.querySelectorAll(selector)]
    .find(e => e.innerText.trim().split('\\n').pop() === text);
if (el) { el.click(); }
return !!el;"""


def _labels(driver) -> list[str]:
    """The metric labels on the page, read in one go (no element goes stale in between)."""
    return driver.execute_script(LABELS_JS)


def _click(driver, selector: str, text: str) -> bool:
    return driver.execute_script(CLICK_JS, selector, text)


def test_a_bookmarked_view_round_trips_through_the_url(server, browser):
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 60)
    browser.get(f"{server}/costs?tag=dev&grain=week")  # a bookmark
    wait.until(lambda d: len(_labels(d)) == 3)
    assert _labels(browser) == ["dev Billed", "dev Effective", "dev List"]

    wait.until(lambda d: _click(d, "button", "month"))  # a page setting changed ...
    wait.until(lambda d: "grain=month" in d.current_url)
    assert "tag=dev" in browser.current_url  # ... and the filter stays in the URL

    # another page keeps the shared filter and drops the page's own setting
    wait.until(lambda d: _click(d, '[data-testid="stSidebarNav"] a', "Overview"))
    wait.until(lambda d: any("Month to date" in x for x in _labels(d)))
    assert browser.current_url.endswith("/?tag=dev")
    assert {label.split()[0] for label in _labels(browser)} == {"dev"}
