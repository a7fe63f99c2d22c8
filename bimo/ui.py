"""`bimo ui`: the Dagster UI (`dagster dev`) and the Streamlit dashboard on 127.0.0.1, as
`make ui` starts them, stopped together on Ctrl-C (or when either one exits).

Each child runs in its own process group with SIGINT restored to the default, because a process
started from a non-interactive shell inherits an ignored SIGINT and `dagster dev` then never
stops. Stopping sends SIGINT to each group (dagster dev shuts down its webserver, daemon and
code server), then SIGTERM, then SIGKILL to whatever is left.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bimo.settings import PROJECT_ROOT, Settings

GRACE_S = 10.0


@dataclass(frozen=True)
class Service:
    name: str
    url: str
    command: list[str]


def services(
    *, dagster_port: int = 3000, dashboard_port: int = 8501, bin_dir: Path | None = None
) -> list[Service]:
    """The two servers, bound to 127.0.0.1."""
    bin_dir = bin_dir or Path(sys.executable).parent
    workspace = str(PROJECT_ROOT / "workspace.yaml")
    app = str(PROJECT_ROOT / "app" / "streamlit_app.py")
    dagster = [str(bin_dir / "dagster"), "dev", "-w", workspace, "-h", "127.0.0.1"]
    dagster += ["-p", str(dagster_port)]
    streamlit = [str(bin_dir / "streamlit"), "run", app, "--server.headless", "true"]
    streamlit += ["--server.address", "127.0.0.1", "--server.port", str(dashboard_port)]
    streamlit += ["--browser.gatherUsageStats", "false"]
    return [
        Service("Dagster UI", f"http://127.0.0.1:{dagster_port}", dagster),
        Service("Dashboard", f"http://127.0.0.1:{dashboard_port}", streamlit),
    ]


def environment(settings: Settings) -> dict[str, str]:
    """The children's environment: one warehouse, the project's Dagster instance, no telemetry."""
    env = dict(os.environ)
    env["BIMO_WAREHOUSE"] = str(settings.warehouse)
    env.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "dagster_home"))
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    return env


def _child_setup() -> None:  # runs in the child between fork and exec
    os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def supervise(items: list[Service], *, env: dict[str, str] | None = None, echo=print) -> int:
    """Start every service; wait for Ctrl-C / SIGTERM (exit 0) or for one to exit (its code);
    then stop them all."""
    stop = {"signal": False}

    def on_term(signum, frame):
        stop["signal"] = True

    previous = signal.signal(signal.SIGTERM, on_term)
    # Ctrl-C must stop the services even when this process was started with SIGINT ignored (a
    # background job, or a parent that ignores it): Python then installs no handler of its own.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    procs: list[tuple[Service, subprocess.Popen]] = []
    code = 0
    try:
        for item in items:
            proc = subprocess.Popen(
                item.command, env=env, cwd=PROJECT_ROOT, preexec_fn=_child_setup
            )
            procs.append((item, proc))
            echo(f"{item.name}: {item.url} (pid {proc.pid})")
        echo("Ctrl-C stops both.")
        while not stop["signal"]:
            ended = [(item, p) for item, p in procs if p.poll() is not None]
            if ended:
                item, proc = ended[0]
                code = proc.returncode or 1
                echo(f"{item.name} exited with code {proc.returncode}; stopping the others")
                break
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        _stop([p for _, p in procs])
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
        echo("stopped")
    return code


def _stop(procs: list[subprocess.Popen]) -> None:
    for sig, wait_s in ((signal.SIGINT, GRACE_S), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        alive = [p for p in procs if p.poll() is None]
        if not alive:
            return
        for p in alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, sig)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and any(p.poll() is None for p in alive):
            time.sleep(0.1)
