"""Figures, their targets, the printed table and ``bench/results/latest.json``."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson


class Goal(StrEnum):
    RATIO_AT_LEAST = "ratio >="
    AT_MOST = "<="
    OVERHEAD_AT_MOST = "overhead <="


@dataclass(frozen=True)
class Target:
    goal: Goal
    limit: float
    unit: str = ""

    def __str__(self) -> str:
        if self.goal is Goal.RATIO_AT_LEAST:
            return f"ratio >= {self.limit:g}"
        return f"{self.goal.value} {self.limit:g} {self.unit}".strip()

    def measure(self, value: float, baseline: float | None) -> float:
        """The quantity the target is about: the ratio, the value itself, or the value over its baseline."""
        if self.goal is Goal.RATIO_AT_LEAST:
            return _ratio(value, baseline)
        if self.goal is Goal.OVERHEAD_AT_MOST:
            return value - (baseline or 0.0)
        return value

    def met(self, value: float, baseline: float | None) -> bool:
        measured = self.measure(value, baseline)
        if self.goal is Goal.RATIO_AT_LEAST:
            return measured >= self.limit
        return measured <= self.limit

    def miss(self, value: float, baseline: float | None) -> str:
        """By how much a missed target is missed, in the target's own terms."""
        measured = self.measure(value, baseline)
        if self.goal is Goal.RATIO_AT_LEAST:
            return f"missed: ratio {measured:.3g}, {self.limit / measured:.1f}x short" if measured > 0 else "missed"
        over = measured - self.limit
        return f"missed by {_number(over)} {self.unit} (+{over / self.limit:.0%})".replace("  ", " ")


@dataclass(frozen=True)
class Figure:
    """One measured figure beside its baseline."""

    scenario: str
    name: str
    value: float
    unit: str
    baseline: float | None
    baseline_name: str
    target: Target | None = None
    note: str = ""
    section: str = ""
    """The name under which it was measured (``Bench.measuring``), to profile it again."""

    def severity(self) -> float:
        """How far from its target: above 1 is missed, and the larger the worse."""
        if self.target is None or math.isnan(self.value):
            return 0.0 if self.target is None else math.inf
        measured = self.target.measure(self.value, self.baseline)
        if self.target.goal is Goal.RATIO_AT_LEAST:
            return self.target.limit / measured if measured > 0 else math.inf
        return measured / self.target.limit

    @property
    def ratio(self) -> float | None:
        return _ratio(self.value, self.baseline) if self.baseline else None

    @property
    def met(self) -> bool | None:
        if self.target is None or math.isnan(self.value):
            return None if self.target is None else False
        return self.target.met(self.value, self.baseline)

    def verdict(self) -> str:
        if self.target is None:
            return "no target"
        if self.met:
            return "met"
        return self.target.miss(self.value, self.baseline)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": _round(self.value),
            "unit": self.unit,
            "baseline": None if self.baseline is None else _round(self.baseline),
            "ratio": None if self.ratio is None else _round(self.ratio),
            "target": None if self.target is None else str(self.target),
            "met": self.met,
        }


def percentile(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] if values else math.nan
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def _ratio(value: float, baseline: float | None) -> float:
    return value / baseline if baseline else math.nan


def _round(value: float) -> float:
    return float(f"{value:.4g}") if math.isfinite(value) else value


def _number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def table(figures: list[Figure]) -> str:
    """A Markdown table, readable in a terminal and pasteable into the README as it is."""
    rows = [["figure", "value", "baseline", "ratio", "target", "result"]]
    for figure in figures:
        baseline = (
            "-" if figure.baseline is None else f"{_number(figure.baseline)} {figure.unit} ({figure.baseline_name})"
        )
        rows.append(
            [
                figure.name,
                f"{_number(figure.value)} {figure.unit}",
                baseline,
                "-" if figure.ratio is None else f"{figure.ratio:.3g}",
                "-" if figure.target is None else str(figure.target),
                figure.verdict(),
            ]
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |" for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(lines)


def write_results(figures: list[Figure], run: dict[str, Any], directory: Path) -> None:
    """``latest.json``: one object per figure; ``latest-run.json``: how the run went (cores, CPU, notes)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "latest.json").write_bytes(
        orjson.dumps([figure.to_json() for figure in figures], option=orjson.OPT_INDENT_2) + b"\n"
    )
    notes = {figure.name: figure.note for figure in figures if figure.note}
    (directory / "latest-run.json").write_bytes(
        orjson.dumps({**run, "notes": notes}, option=orjson.OPT_INDENT_2, default=str) + b"\n"
    )
