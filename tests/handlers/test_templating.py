"""Config templates and condition expressions: native types, clear errors, and a sandbox that holds."""

from __future__ import annotations

import pytest

from handlers.contract import Scope
from handlers.templating import TemplateFailed, evaluate, render_value, template_problems

SCOPE = Scope(input={"n": 3, "rows": [{"a": 1}]}, inputs={"form": {"name": "Ada"}}, nodes={"fetch": {"status": 200}})


def test_a_whole_expression_keeps_its_type() -> None:
    assert render_value("{{ input.rows }}", SCOPE) == [{"a": 1}]
    assert render_value("{{ input.n * 2 }}", SCOPE) == 6


def test_text_around_an_expression_renders_to_a_string() -> None:
    assert render_value("Hello {{ inputs.form.name }} ({{ nodes.fetch.status }})", SCOPE) == "Hello Ada (200)"


def test_nested_values_are_rendered_and_raw_keys_are_left_alone() -> None:
    config = {"expression": "{{ input.n }}", "fields": {"double": "{{ input.n * 2 }}", "list": ["{{ input.n }}"]}}
    rendered = render_value(config, SCOPE, raw_keys=frozenset({"expression"}))
    assert rendered == {"expression": "{{ input.n }}", "fields": {"double": 6, "list": [3]}}


def test_a_missing_value_fails_with_the_config_path() -> None:
    with pytest.raises(TemplateFailed, match=r"config\.url: .*missing"):
        render_value({"url": "{{ input.missing.deeper }}"}, SCOPE)


def test_conditions_evaluate_in_the_sandbox() -> None:
    assert evaluate("input.n > 2 and inputs.form.name == 'Ada'", SCOPE) is True


@pytest.mark.parametrize(
    "attack",
    [
        "input.__class__.__mro__",
        "().__class__.__base__.__subclasses__()",
        "input.rows.append(1)",
        "'x' * 100000000",
        "9 ** 9999999",
    ],
)
def test_the_sandbox_refuses_what_could_escape_or_exhaust_it(attack: str) -> None:
    with pytest.raises(TemplateFailed):
        evaluate(attack, SCOPE)


def test_syntax_problems_are_found_before_anything_runs_with_their_paths() -> None:
    problems = template_problems({"url": "{{ input.x ", "headers": {"a": "{% if %}"}, "ok": "{{ input }}"})
    assert [problem.path for problem in problems] == ["url", "headers.a"]
