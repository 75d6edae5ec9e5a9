"""What every scenario gets: the scale, the core layout, a folder for its processes, and the measuring hook."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.agents import ClientGroup
from bench.cores import CoreLayout
from bench.processes import CpuMeter, Spawned, clean_environment, spawn
from bench.profiler import Profiler
from bench.scale import Scale
from bench.stack import BenchStack, wait_for
from hub.processes import free_port


@dataclass
class Bench:
    scale: Scale
    cores: CoreLayout
    work: Path
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)
    profile_figure: str | None = None
    profiler: Profiler | None = None
    profiles: dict[str, Path] = field(default_factory=dict)
    _stacks: int = 0

    def stack(self, *, postgres: bool = False, **settings: str) -> BenchStack:
        """A new hub stack on the system core, with the user's settings except those given here; on a
        PostgreSQL database of its own with ``postgres``."""
        self._stacks += 1
        return BenchStack(self.work / f"stack-{self._stacks}", self.cores.system, settings, postgres=postgres)

    def clients(self, role: str, arguments: list[dict[str, Any]], *, on_system: bool = False) -> ClientGroup:
        """Client processes on the client core; ``on_system`` for those that stand in for a worker."""
        cores = self.cores.system if on_system else self.cores.clients
        return ClientGroup(role, arguments, cores, self.work / "logs")

    def server(self, name: str, arguments: list[str], *, on_system: bool = True) -> Spawned:
        """A baseline process (``python -m bench.baselines...``) on the system core unless told otherwise."""
        cores = self.cores.system if on_system else self.cores.clients
        return spawn(name, arguments, cores, self.work / "logs", clean_environment())

    def web_server(self, name: str, redis_url: str | None, *, on_system: bool = True) -> tuple[Spawned, str]:
        """A ``bench.baselines.server`` process and its URL, once it answers: the baseline server on the system
        core, or (``on_system=False``) the slow service that the live workflow calls, beside the clients."""
        port = free_port()
        arguments = ["-m", "bench.baselines.server", "--port", str(port)] + (
            ["--redis", redis_url] if redis_url else []
        )
        server = self.server(name, arguments, on_system=on_system)
        url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                return httpx.get(f"{url}/api/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(answers, f"the {name} server", server, 60)
        return server, url

    @contextlib.contextmanager
    def measuring(self, figure: str, processes: Mapping[str, int]) -> Iterator[None]:
        """Counts the CPU time of ``processes`` while a figure is measured, and profiles them if it is the one."""
        meter = CpuMeter(dict(processes)).start()
        profiling = self.profiler is not None and figure == self.profile_figure
        if profiling:
            assert self.profiler is not None
            self.profiler.start(dict(processes))
        began = time.monotonic()
        try:
            yield
        finally:
            if profiling:
                assert self.profiler is not None
                self.profiles.update(self.profiler.stop())
            used = meter.stop()
            used["wall"] = round(time.monotonic() - began, 2)
            self.cpu[figure] = used

    def client_cpu(self, figure: str, results: list[dict[str, Any]]) -> None:
        """Adds the CPU seconds the client processes of a figure reported for their work."""
        self.cpu.setdefault(figure, {})["clients"] = round(sum(result["cpuSeconds"] for result in results), 2)


def split(items: list[Any], per_client: int) -> list[list[Any]]:
    """``items`` in chunks of at most ``per_client``, one chunk per client process."""
    return [items[index : index + per_client] for index in range(0, len(items), per_client)]
