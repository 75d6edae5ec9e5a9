"""How the bench judges a figure against its target and says by how much a missed one is missed."""

from __future__ import annotations

from pathlib import Path

import orjson

from bench.report import Figure, Goal, Target, table, write_results


def _figure(value: float, baseline: float | None, target: Target | None) -> Figure:
    return Figure("1", "figure", value, "ms", baseline, "bare", target)


def test_a_ratio_target_is_met_at_or_above_its_limit_and_says_how_far_short_it_fell() -> None:
    target = Target(Goal.RATIO_AT_LEAST, 0.25)
    assert _figure(50, 200, target).met is True
    missed = _figure(10, 200, target)
    assert missed.met is False
    assert missed.verdict() == "missed: ratio 0.05, 5.0x short"


def test_an_upper_limit_says_how_much_over_it_a_figure_is() -> None:
    missed = _figure(15, 1, Target(Goal.AT_MOST, 10, "ms"))
    assert missed.met is False
    assert missed.verdict() == "missed by 5 ms (+50%)"


def test_an_overhead_target_counts_only_what_the_hub_adds_to_its_baseline() -> None:
    target = Target(Goal.OVERHEAD_AT_MOST, 0.5, "ms/node")
    assert _figure(0.6, 0.2, target).met is True
    assert _figure(0.8, 0.2, target).verdict() == "missed by 0.1 ms/node (+20%)"


def test_the_worst_miss_has_the_highest_severity() -> None:
    slightly = _figure(11, 1, Target(Goal.AT_MOST, 10, "ms"))
    badly = _figure(10, 200, Target(Goal.RATIO_AT_LEAST, 0.25))
    assert badly.severity() > slightly.severity() > 1 > _figure(5, 1, Target(Goal.AT_MOST, 10, "ms")).severity()


def test_latest_json_has_one_object_per_figure_with_the_documented_keys(tmp_path: Path) -> None:
    figures = [_figure(12.5, 10, Target(Goal.AT_MOST, 10, "ms")), _figure(3, None, None)]
    write_results(figures, {"scale": "small"}, tmp_path)
    written = orjson.loads((tmp_path / "latest.json").read_bytes())
    assert written == [
        {
            "name": "figure",
            "value": 12.5,
            "unit": "ms",
            "baseline": 10,
            "ratio": 1.25,
            "target": "<= 10 ms",
            "met": False,
        },
        {"name": "figure", "value": 3, "unit": "ms", "baseline": None, "ratio": None, "target": None, "met": None},
    ]


def test_the_table_has_a_row_per_figure_with_its_baseline_and_verdict() -> None:
    lines = table([_figure(12.5, 10, Target(Goal.AT_MOST, 10, "ms"))]).splitlines()
    assert lines[0].split("|")[1:-1] == [
        f" {name.ljust(width)} "
        for name, width in zip(
            ["figure", "value", "baseline", "ratio", "target", "result"], _widths(lines), strict=True
        )
    ]
    assert "12.5 ms" in lines[2] and "10 ms (bare)" in lines[2] and "missed by 2.5 ms (+25%)" in lines[2]


def _widths(lines: list[str]) -> list[int]:
    return [len(cell) - 2 for cell in lines[1].split("|")[1:-1]]
