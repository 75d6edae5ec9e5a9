"""Client processes and the line protocol that lines them up.

A client process prepares (opens its connections), prints ``ready``, waits for ``go`` on its standard
input, does its work, and prints one JSON line with what it measured. The bench starts several, waits
until every one is ready, then releases them together, so that no figure includes a client's set-up.
"""

from __future__ import annotations

import asyncio
import select
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import uvloop

from bench.cores import raise_open_files
from bench.processes import Spawned, clean_environment, spawn_piped

READY = "ready"
DONE = "done"


class ClientGroup:
    """Several client processes of one kind, each with its own arguments, started and released together."""

    def __init__(self, role: str, arguments: Sequence[dict[str, Any]], cores: frozenset[int], log_dir: Path) -> None:
        self.outputs = [log_dir / f"client-{role}-{index}.json" for index in range(len(arguments))]
        self.processes: list[Spawned] = []
        for index, args in enumerate(arguments):
            self.outputs[index].unlink(missing_ok=True)
            # Through a file: one command-line argument is limited to 128 KiB, and 1,000 socket URLs are not.
            given = log_dir / f"client-{role}-{index}.arguments.json"
            log_dir.mkdir(parents=True, exist_ok=True)
            given.write_bytes(orjson.dumps({**args, "output": str(self.outputs[index])}))
            command = ["-m", f"bench.clients.{role}", str(given)]
            self.processes.append(spawn_piped(f"client-{role}-{index}", command, cores, log_dir, clean_environment()))

    def wait_ready(self, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        for client in self.processes:
            line = _read_line(client, deadline)
            if line != READY:
                raise RuntimeError(f"{client.name} did not get ready (said {line!r}); see its log")

    def send(self, line: str) -> float:
        """Writes ``line`` to every client at once; returns the time it did."""
        now = time.time()
        for client in self.processes:
            assert client.process.stdin is not None
            client.process.stdin.write(f"{line}\n".encode())
            client.process.stdin.flush()
        return now

    def results(self, timeout: float = 600.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        found = []
        for client, output in zip(self.processes, self.outputs, strict=True):
            line = _read_line(client, deadline)
            if line != DONE:
                raise RuntimeError(f"{client.name} failed (said {line[:200]!r}); see its log")
            found.append(orjson.loads(output.read_bytes()))
        self.stop()
        return found

    def pids(self) -> dict[str, int]:
        return {client.name: client.pid for client in self.processes}

    def stop(self) -> None:
        for client in self.processes:
            if client.process.stdin is not None and not client.process.stdin.closed:
                client.process.stdin.close()
            client.stop(timeout=10)


def _read_line(client: Spawned, deadline: float) -> str:
    """The client's next line on its unbuffered standard output, or an error once ``deadline`` has passed."""
    stdout = client.process.stdout
    assert stdout is not None
    remaining = deadline - time.monotonic()
    if remaining <= 0 or not select.select([stdout], [], [], remaining)[0]:
        client.stop(timeout=5)
        raise TimeoutError(f"{client.name} said nothing in time; see its log")
    line = stdout.readline()
    if not line:
        raise RuntimeError(f"{client.name} exited; see its log")
    return line.decode().strip()


def serve(
    prepare: Callable[[dict[str, Any]], Awaitable[Any]], work: Callable[[Any], Awaitable[dict[str, Any]]]
) -> None:
    """The client side: ``prepare(arguments)``, say ready, wait for go, then print ``work(prepared)``."""
    raise_open_files()
    arguments: dict[str, Any] = orjson.loads(Path(sys.argv[1]).read_bytes())

    async def main() -> None:
        prepared = await prepare(arguments)
        _say(READY)
        await next_line()
        began = time.process_time()
        result = await work(prepared)
        result["cpuSeconds"] = round(time.process_time() - began, 2)
        await asyncio.to_thread(Path(arguments["output"]).write_bytes, orjson.dumps(result))
        _say(DONE)

    uvloop.run(main())


async def next_line() -> str:
    """The next line the bench sends this client (``go``, ``stop``)."""
    line: str = await asyncio.to_thread(sys.stdin.readline)
    return line.strip()


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
