"""py-spy sampling of the system's processes from outside, and a short summary of where their time went."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.cores import pinned

_TOP = 15
_OWN_CODE = re.compile(r"\((?:.*/)?(hub|jobs|handlers)/[^/]+\.py")
_LINE = re.compile(r":\d+\)$")


class Profiler:
    """``py-spy record`` attached to each named process (and its children) while a figure is measured."""

    def __init__(self, directory: Path, cores: frozenset[int]) -> None:
        self.directory = directory
        self.cores = cores
        self._running: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}

    def start(self, pids: dict[str, int]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        py_spy = str(Path(sys.executable).with_name("py-spy"))
        for name, pid in pids.items():
            if name == "redis":
                continue
            output = self.directory / f"profile-{name}.collapsed"
            process = subprocess.Popen(
                [py_spy, "record", "--pid", str(pid), "--subprocesses", "--rate", "100", "--format", "raw"]
                + ["--output", str(output)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=pinned(self.cores),
            )
            self._running[name] = (process, output)

    def stop(self) -> dict[str, Path]:
        for process, _ in self._running.values():
            process.send_signal(signal.SIGINT)
        written = {}
        for name, (process, output) in self._running.items():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
            if output.exists():
                written[name] = output
        self._running = {}
        return written


def summarise(name: str, path: Path) -> list[str]:
    """The functions with the most samples on the CPU: where they are (self) and under which (inclusive)."""
    own: Counter[str] = Counter()
    hub_code: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_LINE.sub(")", frame) for frame in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            if _OWN_CODE.search(frame):
                hub_code[frame] += count
    if not total:
        return [f"{name}: no samples"]
    lines = [f"{name}: {total} samples on the CPU (100 a second)", "  self time:"]
    lines += [f"    {count / total:6.1%}  {frame}" for frame, count in own.most_common(_TOP)]
    lines.append("  inclusive time, the hub's own code (hub/, jobs/, handlers/):")
    lines += [f"    {count / total:6.1%}  {frame}" for frame, count in hub_code.most_common(_TOP)]
    return lines
