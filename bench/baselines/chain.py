"""The per-node baseline of the native engine: a bare asyncio call chain doing what an addField node does.

Prints the milliseconds per call, the median of several runs, as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from typing import Any

import orjson


async def _add_field(data: dict[str, Any], step: int) -> dict[str, Any]:
    return {**data, "step": step}


async def _chain(length: int) -> float:
    began = time.perf_counter()
    data: dict[str, Any] = {}
    for step in range(length):
        data = await _add_field(data, step)
    return (time.perf_counter() - began) * 1000 / length


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, required=True)
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()
    runs = [asyncio.run(_chain(arguments.nodes)) for _ in range(arguments.repeat)]
    sys.stdout.write(orjson.dumps({"msPerNode": statistics.median(runs)}).decode() + "\n")


if __name__ == "__main__":
    main()
