"""A real dashboard server and a headless Chromium for the browser tests.

Everything waits on what Streamlit itself reports (the server's health endpoint, the script-run
and connection state the front end writes on `stApp`), with timeouts sized for a loaded two-core
machine rather than fixed sleeps.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app" / "streamlit_app.py"
VIEWPORT = (1400, 1000)
SERVER_START_S = 180
PAGE_RUN_S = 180
SETTLE_S = 1.5  # the script must stay finished this long: a page may rerun itself once

# One read of the page's state, so no element reference can go stale between two calls.
STATE_JS = """
const app = document.querySelector('[data-testid="stApp"]');
const main = document.querySelector('[data-testid="stMain"]');
return {
  script: app && app.getAttribute('data-test-script-state'),
  connection: app && app.getAttribute('data-test-connection-state'),
  elements: main ? main.querySelectorAll('[data-testid="stElementContainer"]').length : 0,
  stale: main ? main.querySelectorAll('[data-stale="true"]').length : 0,
  spinning: !!document.querySelector('[data-testid="stStatusWidgetRunningIcon"],'
    + ' [data-testid="stStatusWidgetRunningManIcon"]'),
};
"""
FINISHED = {"notRunning", "compilationError"}

# Sidebar or top navigation; collapsed sections and "View N more" are opened first.
EXPAND_NAV_JS = """
let clicked = 0;
const more = document.querySelector('[data-testid="stSidebarNavViewButton"]');
if (more && /more/i.test(more.innerText)) { more.click(); clicked++; }
for (const header of document.querySelectorAll('[data-testid="stNavSectionHeader"]')) {
  if (!header.parentElement.querySelector('a[data-testid="stSidebarNavLink"]')) {
    header.click(); clicked++;
  }
}
return clicked;
"""
NAV_LINKS_JS = """
const links = document.querySelectorAll('a[data-testid="stSidebarNavLink"],'
  + ' a[data-testid="stTopNavLink"], a[data-testid="stTopNavDropdownLink"]');
return [...links].map(a => {
  const label = a.querySelector('[data-testid="stMarkdownContainer"]');
  return [a.href, (label ? label.innerText : a.innerText).trim().split('\\n').pop()];
});
"""
PROBLEMS_JS = """
return {
  exceptions: [...document.querySelectorAll('[data-testid="stException"]')]
    .map(e => e.innerText.slice(0, 3000)),
  text: document.body.innerText,
  active: [...document.querySelectorAll('a[aria-current="page"]')].map(a => a.href),
};
"""


@dataclass(frozen=True)
class Page:
    """One navigation entry of the running dashboard."""

    title: str
    url: str

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-") or "page"


def chromium_paths() -> tuple[str, str] | None:
    """Chromium and its ChromeDriver (Debian: chromium, chromium-driver), or None if missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def declared_page_count(app: Path = APP) -> int:
    """How many `st.Page(...)` calls the entry script spells out: a floor for discovery."""
    return sum(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "Page"
        for node in ast.walk(ast.parse(app.read_text()))
    )


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the caller's Bimo and Dagster settings, plus `extra`."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("BIMO_", "DAGSTER_", "STREAMLIT_"))
    }
    env.update(
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        RUNTIME__DLTHUB_TELEMETRY="false",
        STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
        NO_COLOR="1",  # plain tracebacks in the logs that failures print
        **extra,
    )
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as resp:
            return resp.status == 200
    except OSError:
        return False


@contextmanager
def streamlit_server(warehouse: Path, log: Path) -> Iterator[str]:
    """`streamlit run` on a free loopback port against `warehouse`; yields its base URL.

    The file watcher is off, so edits to app/** made while the test runs cannot rerun a page.
    """
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", "127.0.0.1", "--server.port", str(port),
        "--server.headless", "true", "--server.fileWatcherType", "none",
        "--server.runOnSave", "false", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=clean_env(BIMO_WAREHOUSE=str(warehouse)),
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + SERVER_START_S
            while not _healthy(url):
                if proc.poll() is not None:
                    raise RuntimeError(f"streamlit exited ({proc.returncode}):\n{log.read_text()}")
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"streamlit not healthy in {SERVER_START_S} s:\n{log.read_text()}"
                    )
                time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)


def start_chromium(profile: Path):
    """One headless Chromium, driven by the system ChromeDriver (no Selenium Manager download)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    paths = chromium_paths()
    assert paths, "chromium and chromedriver are not installed"
    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-quic", "--no-first-run", "--no-default-browser-check",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-extensions", "--hide-scrollbars", "--force-device-scale-factor=1",
        f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}", f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(paths[1]), options=options)
    driver.set_page_load_timeout(PAGE_RUN_S)
    driver.set_script_timeout(60)
    set_viewport(driver, *VIEWPORT)
    return driver


def set_viewport(driver, width: int, height: int) -> None:
    """The page's CSS viewport exactly (the window size would include the browser's frame)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )


def wait_until_finished(driver, what: str) -> dict:
    """Block until the connected app has finished its script run and stayed finished."""
    deadline = time.monotonic() + PAGE_RUN_S
    finished_since = None
    state: dict = {}
    while time.monotonic() < deadline:
        state = driver.execute_script(STATE_JS)
        done = (
            state["connection"] == "CONNECTED"
            and state["script"] in FINISHED
            and state["elements"] > 0
            and not state["stale"]
            and not state["spinning"]
        )
        if not done:
            finished_since = None
        elif finished_since is None:
            finished_since = time.monotonic()
        elif time.monotonic() - finished_since >= SETTLE_S:
            return state
        time.sleep(0.25)
    raise TimeoutError(f"{what}: Streamlit still not finished after {PAGE_RUN_S} s: {state}")


def open_page(driver, url: str) -> dict:
    """Load `url` in a fresh session and return what to check once its script has finished."""
    driver.get(url)
    state = wait_until_finished(driver, url)
    return {**driver.execute_script(PROBLEMS_JS), "script": state["script"]}


def discover_pages(driver) -> list[Page]:
    """Every navigation link of the currently open app, in order, without duplicates."""
    for _ in range(5):
        if not driver.execute_script(EXPAND_NAV_JS):
            break
        time.sleep(0.5)
    seen: dict[str, Page] = {}
    for url, title in driver.execute_script(NAV_LINKS_JS):
        seen.setdefault(url, Page(title=title, url=url))
    return list(seen.values())


def screenshot(driver, path: Path, *, full_page: bool) -> None:
    """A PNG of the viewport, or of the whole main column (the app scrolls inside `stMain`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if full_page:
        height = driver.execute_script(
            "const m = document.querySelector('[data-testid=\"stMain\"]');"
            " return m ? m.scrollHeight : document.documentElement.scrollHeight;"
        )
        set_viewport(driver, VIEWPORT[0], max(VIEWPORT[1], min(int(height), 16000)))
        time.sleep(0.5)
    try:
        driver.save_screenshot(str(path))
    finally:
        if full_page:
            set_viewport(driver, *VIEWPORT)
