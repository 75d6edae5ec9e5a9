"""Starting the bench's processes (pinned, logging to files) and reading their CPU time and memory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.cores import pinned
from hub.processes import terminate

ROOT = Path(__file__).resolve().parent.parent


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The bench's own environment without hub or Prefect settings, so each process gets only what it is told."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("HUB_", "PREFECT_"))}
    environment.pop("REDIS_URL", None)
    environment["PYTHONUNBUFFERED"] = "1"
    # The bench's own modules (clients, baselines) are not installed; the hub's are.
    environment["PYTHONPATH"] = str(ROOT)
    environment.update(extra or {})
    return environment


@dataclass
class Spawned:
    """A process the bench started, with the core it was pinned to and where its output goes."""

    name: str
    process: subprocess.Popen[bytes]
    cores: frozenset[int]

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 30.0) -> None:
        terminate(self.process, timeout=timeout)

    def kill(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


def spawn(
    name: str,
    arguments: Sequence[str],
    cores: frozenset[int],
    log_dir: Path,
    environment: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Spawned:
    """``python <arguments>`` pinned to ``cores``, its output appended to ``<log_dir>/<name>.log``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, *arguments],
            cwd=cwd,
            env=dict(environment or clean_environment()),
            stdout=log,
            stderr=log,
            preexec_fn=pinned(cores),
        )
    return Spawned(name, process, cores)


def spawn_piped(
    name: str, arguments: Sequence[str], cores: frozenset[int], log_dir: Path, environment: Mapping[str, str]
) -> Spawned:
    """Like ``spawn``, with standard input and output as unbuffered pipes for a line protocol."""
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, *arguments],
            env=dict(environment),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            bufsize=0,
            preexec_fn=pinned(cores),
        )
    return Spawned(name, process, cores)


def rss_kib(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / 1024


@dataclass
class CpuMeter:
    """CPU seconds that named processes (and their children) used between ``start`` and ``stop``."""

    pids: dict[str, int]
    _start: dict[str, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)

    def start(self) -> CpuMeter:
        self._start = {name: _cpu_seconds(pid) for name, pid in self.pids.items()}
        return self

    def stop(self) -> dict[str, float]:
        self.used = {
            name: round(max(0.0, _cpu_seconds(pid) - self._start.get(name, 0.0)), 2) for name, pid in self.pids.items()
        }
        return self.used


def _cpu_seconds(pid: int) -> float:
    """User and system time of a process and of its live children (a worker's Prefect server included)."""
    try:
        process = psutil.Process(pid)
        total = sum(process.cpu_times()[:2])
        for child in process.children(recursive=True):
            try:
                total += sum(child.cpu_times()[:2])
            except psutil.Error:
                continue
        return float(total)
    except psutil.Error:
        return 0.0
