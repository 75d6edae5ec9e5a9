"""Which core runs what: the system under test on one, the load generators on the other.

Every process the bench starts is pinned before it runs a line of Python (``preexec_fn``), so the threads
and children it makes later (aiosqlite's threads, a worker's Prefect server) inherit its core.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class CoreLayout:
    """The cores of the system under test (hub, workers, Redis, baseline servers) and of the clients."""

    system: frozenset[int]
    clients: frozenset[int]

    @classmethod
    def detect(cls) -> CoreLayout:
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) < 2:
            return cls(frozenset(cores), frozenset(cores))
        return cls(frozenset(cores[:1]), frozenset(cores[1:]))

    @property
    def shared(self) -> bool:
        return self.system == self.clients

    def describe(self) -> list[str]:
        system, clients = _names(self.system), _names(self.clients)
        lines = [
            f"core {system}: hub, worker(s), Redis, Prefect servers, baseline servers and workers, event publishers",
            f"core {clients}: load clients (each in its own process), the slow test service, the bench itself, py-spy",
        ]
        if self.shared:
            lines.append("only one core is available: clients and the system under test share it")
        return lines


def _names(cores: frozenset[int]) -> str:
    return ",".join(str(core) for core in sorted(cores))


def raise_open_files() -> int:
    """Raises this process's open-file limit to its hard limit (5,000 sockets need more than 1,024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def pinned(cores: frozenset[int]) -> Callable[[], None]:
    """A ``preexec_fn`` that pins the child to ``cores`` and raises its open-file limit."""

    def setup() -> None:
        os.sched_setaffinity(0, cores)
        raise_open_files()

    return setup


def pin_process(pid: int, cores: frozenset[int]) -> None:
    """Pins every thread of a process that is already running (one started by code the bench does not own)."""
    for thread in os.listdir(f"/proc/{pid}/task"):
        os.sched_setaffinity(int(thread), cores)
