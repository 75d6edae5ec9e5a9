"""Config templates and condition expressions: native types, clear errors, and a sandbox that holds."""

from __future__ import annotations

import asyncio
import tracemalloc
from typing import Any

import pytest

from handlers.contract import Scope
from handlers.settings import TemplateLimits
from handlers.templating import TemplateFailed, evaluate, render, template_problems

SCOPE = Scope(input={"n": 3, "rows": [{"a": 1}]}, inputs={"form": {"name": "Ada"}}, nodes={"fetch": {"status": 200}})
LIMITS = TemplateLimits()


async def _render(value: Any, limits: TemplateLimits = LIMITS, **options: Any) -> Any:
    return await render(value, SCOPE, limits, **options)


async def test_a_whole_expression_keeps_its_type() -> None:
    assert await _render("{{ input.rows }}") == [{"a": 1}]
    assert await _render("{{ input.n * 2 }}") == 6


async def test_text_around_an_expression_renders_to_a_string() -> None:
    assert await _render("Hello {{ inputs.form.name }} ({{ nodes.fetch.status }})") == "Hello Ada (200)"


async def test_nested_values_are_rendered_and_raw_keys_are_left_alone() -> None:
    config = {"expression": "{{ input.n }}", "fields": {"double": "{{ input.n * 2 }}", "list": ["{{ input.n }}"]}}
    rendered = await _render(config, raw_keys=frozenset({"expression"}))
    assert rendered == {"expression": "{{ input.n }}", "fields": {"double": 6, "list": [3]}}


async def test_a_missing_value_fails_with_the_config_path() -> None:
    with pytest.raises(TemplateFailed, match=r"config\.url: .*missing"):
        await _render({"url": "{{ input.missing.deeper }}"})


async def test_conditions_evaluate_in_the_sandbox() -> None:
    assert await evaluate("input.n > 2 and inputs.form.name == 'Ada'", SCOPE, LIMITS) is True


async def test_everyday_templates_still_render() -> None:
    template = (
        "{% for row in input.rows %}{{ loop.index }}:{{ row.a|string|center(5) }}{% endfor %}"
        "{{ '%05d' % 42 }} {{ '{:>6}'.format('x') }} {{ 'ab' * 3 }} {{ [1, 2]|join(',') }} {{ 2 ** 10 }}"
        "{{ 'a-b'.replace('-', '+') }}{{ range(3)|list|sum }}{{ input.rows|map(attribute='a')|list }}"
    )
    assert await _render(template) == "1:  1  00042      x ababab 1,2 1024a+b3[1]"


@pytest.mark.parametrize(
    "attack",
    [
        "input.__class__.__mro__",
        "().__class__.__base__.__subclasses__()",
        "input.rows.append(1)",
    ],
)
async def test_the_sandbox_refuses_what_could_escape_it(attack: str) -> None:
    with pytest.raises(TemplateFailed):
        await evaluate(attack, SCOPE, LIMITS)


BOMBS = {
    "percent width": '{{ "%0999999999d" % 1 }}',
    "percent precision": '{{ "%.999999999f" % 1.5 }}',
    "percent star width": '{{ "%*d" % (999999999, 1) }}',
    "format width": '{{ "{:>999999999}".format(1) }}',
    "format nested width": '{{ "{:>{w}}".format(1, w=999999999) }}',
    "format filter": '{{ "%0999999999d"|format(1) }}',
    "repeat": '{{ "x" * 10**9 }}',
    "repeat list": "{{ [1] * 10**9 }}",
    "big power": "{{ 2 ** (10 ** 8) }}",
    "big product": "{% set a = 2 ** 4000 %}{{ a * a }}",
    "range": "{% for i in range(10**9) %}{% endfor %}",
    "nested range": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "ljust": '{{ "x".ljust(999999999) }}',
    "rjust": '{{ "x".rjust(999999999) }}',
    "center method": '{{ "x".center(999999999) }}',
    "zfill": '{{ "1".zfill(999999999) }}',
    "expandtabs": '{{ ("\t" * 1000).expandtabs(999999) }}',
    "center filter": '{{ "x"|center(999999999) }}',
    "indent filter": '{{ ("a\n" * 1000)|indent(999999) }}',
    "tilde doubling": (
        '{% set ns = namespace(s="xxxxxxxxxxxxxxxx") %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}'
        "{% endfor %}{{ ns.s|length }}"
    ),
    "plus doubling": (
        '{% set ns = namespace(s="xxxxxxxxxxxxxxxx") %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}'
        "{% endfor %}{{ ns.s|length }}"
    ),
    "replace": '{% set s = "a" * 100000 %}{{ s.replace("a", s)|length }}',
    "replace filter": '{% set s = "a" * 100000 %}{{ s|replace("a", s)|length }}',
    "join of shared strings": '{% set s = "a" * 1000000 %}{{ ([s] * 1000)|join|length }}',
    "join method": '{% set s = "a" * 1000000 %}{{ "".join([s] * 1000)|length }}',
    "shared lists as text": (
        '{% set a = ["x" * 100000] * 100 %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}'
        "{% set c = [b, b, b, b, b, b, b, b, b, b] %}{{ c }}"
    ),
    "shared lists compared": (
        "{% set a = [[1] * 1000] * 1000 %}{% set b = [a] * 1000 %}{% set c = [a] * 1000 %}{{ b == c }}"
    ),
    "translate": '{% set s = "a" * 100000 %}{{ s.translate({97: s})|length }}',
    "to_bytes": "{{ (1).to_bytes(999999999, 'big')|length }}",
    "batch fill": "{{ [1]|batch(999999999, 0)|list|length }}",
    "output": '{% set s = "x" * 1000000 %}{% for i in range(100) %}{{ s }}{% endfor %}',
    "literal output": "{% for i in range(100000) %}" + "x" * 100 + "{% endfor %}",
    "captured block": '{% set s = "x" * 1000000 %}{% set b %}{% for i in range(100) %}{{ s }}{% endfor %}{% endset %}',
}


@pytest.mark.parametrize("template", BOMBS.values(), ids=BOMBS.keys())
async def test_a_template_bomb_fails_with_a_clear_message_and_little_memory(template: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(TemplateFailed, match=r"config\.body: .*(HUB_TEMPLATE|bits|not allowed|at most)"):
            await _render({"body": template})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024


async def test_the_output_limit_is_the_setting() -> None:
    small = TemplateLimits(max_output_kb=1)
    assert await _render("{{ 'x' * 1000 }}", small) == "x" * 1000
    with pytest.raises(TemplateFailed, match=r"more than 1 KB of text \(HUB_TEMPLATE_MAX_OUTPUT_KB\)"):
        await _render("{% for i in range(3) %}{{ 'x' * 1000 }}{% endfor %}", small)


async def test_loop_iterations_count_across_every_loop_of_a_render() -> None:
    limits = TemplateLimits(max_iterations=10)
    assert await _render("{% for i in range(5) %}{% endfor %}{% for i in range(5) %}{% endfor %}", limits) == ""
    with pytest.raises(TemplateFailed, match=r"passed 10 loop iterations \(HUB_TEMPLATE_MAX_ITERATIONS\)"):
        await _render(
            {"a": "{% for i in range(5) %}{% endfor %}", "b": "{% for i in [1,2,3,4,5,6] %}{% endfor %}"}, limits
        )


async def test_recursive_macros_are_stopped_by_the_render_time_limit() -> None:
    bomb = "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}"
    with pytest.raises(TemplateFailed, match=r"(longer than 0.5 s \(HUB_TEMPLATE_MAX_SECONDS\)|KB of text)"):
        await _render(bomb, TemplateLimits(max_seconds=0.5))


async def test_a_cancelled_render_stops_its_thread() -> None:
    """The render thread checks its budget between steps; a cancelled caller makes the next check fail."""
    bomb = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    limits = TemplateLimits(max_iterations=10**12, max_seconds=3600)
    task = asyncio.create_task(_render(bomb, limits))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # A later render gets a thread: the stopped one gave its thread back.
    for _ in range(8):
        assert await _render("{{ 1 }}") == 1


def test_syntax_problems_are_found_before_anything_runs_with_their_paths() -> None:
    problems = template_problems({"url": "{{ input.x ", "headers": {"a": "{% if %}"}, "ok": "{{ input }}"})
    assert [problem.path for problem in problems] == ["url", "headers.a"]


@pytest.mark.parametrize(
    "template",
    [
        "{{ " + "(" * 80 + "1" + ")" * 80 + " }}",
        "{{ " + "(" * 300 + "1" + ")" * 300 + " }}",
        "{{ " + "[" * 150 + "]" * 150 + " }}",
        "{{ x" + "|upper" * 300 + " }}",
        "{{ " + "not " * 400 + "x }}",
    ],
)
def test_a_template_nested_too_deeply_is_a_problem_not_a_crash(template: str) -> None:
    problems = template_problems({"body": template})
    assert [(problem.path, "nests too deeply" in problem.message) for problem in problems] == [("body", True)]


def test_an_expression_nested_too_deeply_is_a_problem() -> None:
    problems = template_problems(
        {"expression": "(" * 100 + "1" + ")" * 100},
        raw_keys=frozenset({"expression"}),
        expressions=frozenset({"expression"}),
    )
    assert [problem.path for problem in problems] == ["expression"]


def test_a_template_longer_than_the_limit_is_a_problem_naming_the_setting() -> None:
    problems = template_problems({"body": "{{ x }}" + " " * 100}, limits=TemplateLimits(max_chars=50))
    assert [problem.path for problem in problems] == ["body"]
    assert "HUB_TEMPLATE_MAX_CHARS" in problems[0].message
