"""``python -m bench``: every scenario beside its baseline, the table, ``latest.json`` and a profile."""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.context import Bench
from bench.cores import CoreLayout, raise_open_files
from bench.processes import ROOT
from bench.profiler import Profiler, summarise
from bench.report import Figure, table, write_results
from bench.scale import SCALES, Scale
from bench.scenarios import recovery, rest, sockets, throughput

RESULTS = ROOT / "bench" / "results"

Group = Callable[[Bench], list[Figure]]
GROUPS: list[tuple[str, Group]] = [
    ("scenarios 1 and 3: throughput and per-node time, native engine", throughput.native),
    ("scenarios 4 and 5: live latency and fan-out", sockets.live),
    ("scenario 6: idle sockets", sockets.idle),
    ("scenario 7: REST under load", rest.rest),
    ("scenario 8: recovery after SIGKILL", recovery.recovery),
    ("scenarios 2 and 3: throughput and per-node time, Prefect engine", throughput.prefect),
]


def _say(line: str = "") -> None:
    print(line, flush=True)


def _run_groups(bench: Bench, groups: list[tuple[str, Group]]) -> tuple[list[Figure], list[str]]:
    figures: list[Figure] = []
    failed: list[str] = []
    for title, group in groups:
        began = time.monotonic()
        _say(f"-- {title}")
        try:
            found = group(bench)
        except Exception:  # noqa: BLE001 - one broken scenario must not hide the others' figures
            failed.append(title)
            _say(traceback.format_exc())
            continue
        for figure in found:
            baseline = "-" if figure.baseline is None else f"{figure.baseline:.4g}"
            _say(f"   {figure.name}: {figure.value:.4g} {figure.unit} (baseline {baseline}); {figure.verdict()}")
        _say(f"   ({time.monotonic() - began:.0f} s)")
        figures += found
    return figures, failed


def _profile(worst: Figure, layout: CoreLayout, work: Path) -> list[str]:
    """Runs the worst figure's scenario again at small scale with py-spy on the system's processes."""
    for old in RESULTS.glob("profile-*"):
        old.unlink()
    bench = Bench(
        SCALES["small"],
        layout,
        work / "profile",
        profile_figure=worst.section,
        profiler=Profiler(RESULTS, layout.clients),
    )
    group = next(group for title, group in GROUPS if worst.scenario in title.split(":")[0])
    group(bench)
    lines = [
        f"Profile of '{worst.name}' (measured as '{worst.section}'), which missed its target by the most;",
        "sampled by py-spy at 100 Hz from outside the processes, at BENCH_SCALE=small.",
        "Raw stacks beside this file: profile-<process>.collapsed (flamegraph.pl or speedscope read them).",
        "",
    ]
    for name, path in sorted(bench.profiles.items()):
        lines += [*summarise(name, path), ""]
    (RESULTS / "profile-summary.txt").write_text("\n".join(lines))
    return lines


def main() -> None:
    scale = Scale.from_env()
    layout = CoreLayout.detect()
    raise_open_files()
    os.sched_setaffinity(0, layout.clients)
    started = time.monotonic()
    _say(f"make bench, BENCH_SCALE={scale.name}; load average before: {os.getloadavg()[0]:.1f}")
    for line in layout.describe():
        _say(f"  {line}")
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as directory:
        work = Path(directory)
        bench = Bench(scale, layout, work)
        figures, failed = _run_groups(bench, GROUPS)
        figures.sort(key=lambda figure: figure.scenario)
        run: dict[str, Any] = {
            "scale": scale.name,
            "cores": layout.describe(),
            "seconds": round(time.monotonic() - started),
            "loadAverage": os.getloadavg()[0],
            "cpuSeconds": bench.cpu,
            "failed": failed,
        }
        _say()
        _say(table(figures))
        _say()
        _say("CPU seconds per process while each figure was measured (clients: their own count):")
        for figure, used in bench.cpu.items():
            _say(f"  {figure}: " + ", ".join(f"{name} {seconds:g}" for name, seconds in used.items()))
        write_results(figures, run, RESULTS)
        _say(f"\nwrote {RESULTS / 'latest.json'}")
        targeted = [figure for figure in figures if figure.target is not None]
        if targeted:
            worst = max(targeted, key=lambda figure: figure.severity())
            try:
                for line in _profile(replace(worst), layout, work):
                    _say(line)
            except Exception:  # noqa: BLE001 - the figures stand without the profile
                _say("the profiling run failed:\n" + traceback.format_exc())
    _say(f"done in {time.monotonic() - started:.0f} s")
    if failed:
        sys.exit(f"scenarios failed: {', '.join(failed)}")
