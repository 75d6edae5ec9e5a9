"""A private Prefect API server for a worker that has no PREFECT_API_URL, tied to the worker's life.

Prefect's own ephemeral mode starts the same server as a child process and stops it at exit; a worker
killed with SIGKILL never reaches exit, and its server lives on, holding the SQLite file that the
worker's successor then shares. This starts the server the same way, with a parent-death signal, so
that it always goes with its worker.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO

import httpx

from hub.processes import die_with_parent, free_port, terminate


def claim_prefect_home(base: Path) -> tuple[Path, TextIO]:
    """A PREFECT_HOME slot under ``base`` that no other live process holds (the lock goes with the process)."""
    base.mkdir(parents=True, exist_ok=True)
    for slot in range(256):
        lock = (base / f"worker-{slot}.lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        return base / f"worker-{slot}", lock
    raise RuntimeError(f"no free Prefect home slot under {base}")


def _site_packages() -> str:
    """Where prefect is installed, found without importing it: Prefect reads its settings once, at import,
    and must not do so before PREFECT_API_URL points at this server."""
    spec = importlib.util.find_spec("prefect")
    if spec is None or spec.origin is None:
        raise RuntimeError("prefect is not installed; install it, or set HUB_ENGINE=native")
    return str(Path(spec.origin).parent.parent)


class PrivatePrefectServer:
    """Prefect's API server (SQLite under its own PREFECT_HOME) on a free local port."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self, timeout: float = 120.0) -> PrivatePrefectServer:
        self.home.mkdir(parents=True, exist_ok=True)
        environment = {
            **os.environ,
            "PREFECT_HOME": str(self.home),
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
        }
        environment.pop("PREFECT_API_URL", None)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                _site_packages(),
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env=environment,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the private Prefect server under {self.home} did not start")
            time.sleep(0.2)
        return self

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        terminate(self.process)
        self.process = None
