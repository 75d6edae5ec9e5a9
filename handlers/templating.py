"""Config templating and condition expressions, in Jinja2's immutable sandbox.

``{{ input.x }}``, ``{{ inputs.<nodeId> }}`` and ``{{ nodes.<nodeId>.x }}`` may appear in any config
string. A string that is one whole ``{{ expression }}`` keeps the expression's type (a list of rows stays
a list); anything else renders to text. Nothing here ever reaches ``eval``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from handlers.contract import ConfigProblem, NodeError, Scope

_WHOLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<body>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)
_MAX_SEQUENCE = 1_000_000
_MAX_EXPONENT = 1_000


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus limits on the two operators that can exhaust memory in one line."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > _MAX_EXPONENT:
            raise SecurityError(f"exponent {right} is larger than {_MAX_EXPONENT}")
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and isinstance(count, int):
                    if len(sequence) * count > _MAX_SEQUENCE:
                        raise SecurityError(f"a repeated sequence may hold at most {_MAX_SEQUENCE:,} items")
        return super().call_binop(context, operator, left, right)


_ENV = _BoundedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


class TemplateFailed(NodeError):
    """Raised when a template or expression cannot be rendered with the data at hand."""


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


@lru_cache(maxsize=2048)
def _compile(text: str) -> Callable[[Mapping[str, Any]], Any]:
    whole = _WHOLE_EXPRESSION.match(text)
    if whole:
        expression = _ENV.compile_expression(whole.group("body"), undefined_to_none=False)
        return lambda variables: expression(**variables)
    template = _ENV.from_string(text)
    return lambda variables: template.render(**variables)


@lru_cache(maxsize=2048)
def _compile_expression(text: str) -> Callable[..., Any]:
    return _ENV.compile_expression(text, undefined_to_none=False)


def _describe(error: Exception) -> str:
    message = getattr(error, "message", None) or str(error)
    return message.replace("jinja2.exceptions.", "")


def render_string(text: str, scope: Scope, *, path: str = "") -> Any:
    """Render one config string; a whole ``{{ expression }}`` keeps its native type."""
    if not is_template(text):
        return text
    try:
        return _compile(text)(scope.as_dict())
    except (TemplateError, SecurityError, TypeError, ValueError, ArithmeticError, AttributeError) as error:
        where = f"config.{path}: " if path else ""
        raise TemplateFailed(f"{where}{_describe(error)} in {text!r}") from None


def render_value(value: Any, scope: Scope, *, path: str = "", raw_keys: frozenset[str] = frozenset()) -> Any:
    """Render every string inside ``value``; top-level keys in ``raw_keys`` are left as written."""
    if isinstance(value, str):
        return render_string(value, scope, path=path)
    if isinstance(value, Mapping):
        return {
            key: item if key in raw_keys else render_value(item, scope, path=_join(path, str(key)))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [render_value(item, scope, path=f"{path}[{index}]") for index, item in enumerate(value)]
    return value


def evaluate(expression: str, scope: Scope, *, path: str = "expression") -> Any:
    """Evaluate a condition-style expression (``input.body.temperature > 30``) in the sandbox."""
    try:
        return _compile_expression(expression)(**scope.as_dict())
    except (TemplateError, SecurityError, TypeError, ValueError, ArithmeticError, AttributeError) as error:
        raise TemplateFailed(f"config.{path}: {_describe(error)} in {expression!r}") from None


def expression_problem(expression: str, path: str) -> ConfigProblem | None:
    """A syntax problem in an expression, found before anything runs."""
    try:
        _compile_expression(expression)
    except TemplateError as error:
        return ConfigProblem(path, f"invalid expression: {_describe(error)}")
    return None


def template_problems(value: Any, path: str = "", raw_keys: frozenset[str] = frozenset()) -> list[ConfigProblem]:
    """Syntax problems in every template inside a config, each with its path."""
    problems: list[ConfigProblem] = []
    if isinstance(value, str):
        if is_template(value):
            try:
                _compile(value)
            except TemplateError as error:
                problems.append(ConfigProblem(path, f"invalid template: {_describe(error)}"))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key not in raw_keys:
                problems.extend(template_problems(item, _join(path, str(key))))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problems.extend(template_problems(item, f"{path}[{index}]"))
    return problems


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
