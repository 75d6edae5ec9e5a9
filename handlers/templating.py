"""Config templating and condition expressions, in a bounded Jinja2 sandbox (``_sandbox``).

``{{ input.x }}``, ``{{ inputs.<nodeId> }}`` and ``{{ nodes.<nodeId>.x }}`` may appear in any config
string. A string that is one whole ``{{ expression }}`` keeps the expression's type (a list of rows stays
a list); anything else renders to text. Nothing here ever reaches ``eval``.

Renders run in a small pool of threads, never on the event loop: a render that runs long (within its
budget, or until its node's timeout stops it) leaves the worker's other executions and its lease renewals
running. Python cannot kill a thread, so the budget is checked cooperatively at every loop iteration,
call, operator, filter and piece of output; no single step between two checks can allocate more than
``HUB_TEMPLATE_MAX_OUTPUT_KB`` or compute an integer past a few thousand bits.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, TypeVar

from jinja2 import StrictUndefined, TemplateError

from handlers._sandbox import BoundedSandbox, Budget, run_with_budget
from handlers.contract import ConfigProblem, NodeError, Scope
from handlers.settings import TemplateLimits

_WHOLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<body>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)
_RENDER_THREADS = 4
"""Renders at once per process; more wait their turn, so runaway renders cannot take every thread."""

_ENV = BoundedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_FAILURES = (TemplateError, TypeError, ValueError, ArithmeticError, AttributeError, LookupError)
_TOO_DEEP = (RecursionError, SyntaxError, MemoryError)
"""What Jinja2's recursive parser and Python's compiler raise for a template nested too deeply."""

_T = TypeVar("_T")


class TemplateFailed(NodeError):
    """Raised when a template or expression cannot be rendered with the data at hand, or passes a limit."""


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


@lru_cache(maxsize=256)
def _compile(text: str) -> Callable[[Mapping[str, Any]], Any]:
    whole = _WHOLE_EXPRESSION.match(text)
    if whole:
        expression = _ENV.compile_expression(whole.group("body"), undefined_to_none=False)
        return lambda variables: expression(**variables)
    template = _ENV.from_string(text)
    return lambda variables: template.render(**variables)


@lru_cache(maxsize=256)
def _compile_expression(text: str) -> Callable[..., Any]:
    return _ENV.compile_expression(text, undefined_to_none=False)


def _describe(error: BaseException) -> str:
    if isinstance(error, _TOO_DEEP):
        return "it nests too deeply (parentheses, brackets or filters); split it into simpler templates"
    message = getattr(error, "message", None) or str(error)
    return message.replace("jinja2.exceptions.", "")


def _render_string(text: str, variables: Mapping[str, Any], path: str) -> Any:
    if not is_template(text):
        return text
    try:
        return _compile(text)(variables)
    except (*_FAILURES, *_TOO_DEEP) as error:
        where = f"config.{path}: " if path else ""
        raise TemplateFailed(f"{where}{_describe(error)} in {_shown(text)}") from None


def _render(value: Any, variables: Mapping[str, Any], path: str, raw_keys: frozenset[str]) -> Any:
    if isinstance(value, str):
        return _render_string(value, variables, path)
    if isinstance(value, Mapping):
        return {
            key: item if key in raw_keys else _render(item, variables, _join(path, str(key)), frozenset())
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_render(item, variables, f"{path}[{index}]", frozenset()) for index, item in enumerate(value)]
    return value


def _evaluate(expression: str, variables: Mapping[str, Any], path: str) -> Any:
    try:
        return _compile_expression(expression)(**variables)
    except (*_FAILURES, *_TOO_DEEP) as error:
        raise TemplateFailed(f"config.{path}: {_describe(error)} in {_shown(expression)}") from None


async def render(
    value: Any, scope: Scope, limits: TemplateLimits, *, path: str = "", raw_keys: frozenset[str] = frozenset()
) -> Any:
    """Render every string inside ``value`` in a render thread, under one budget; top-level keys in
    ``raw_keys`` stay as written. Cancelling the caller (its node timed out) stops the render."""
    variables = scope.as_dict()
    return await _in_thread(limits, lambda: _render(value, variables, path, raw_keys))


async def evaluate(expression: str, scope: Scope, limits: TemplateLimits, *, path: str = "expression") -> Any:
    """Evaluate a condition-style expression (``input.body.temperature > 30``) in a render thread."""
    variables = scope.as_dict()
    return await _in_thread(limits, lambda: _evaluate(expression, variables, path))


_executor: ThreadPoolExecutor | None = None


def _threads() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(_RENDER_THREADS, thread_name_prefix="template")
    return _executor


async def _in_thread(limits: TemplateLimits, work: Callable[[], _T]) -> _T:
    budget = Budget.start(limits)
    future = asyncio.get_running_loop().run_in_executor(_threads(), run_with_budget, budget, work)
    try:
        return await future
    except asyncio.CancelledError:
        budget.stop("the render was stopped: its node timed out or was cancelled")
        raise


def template_problems(
    value: Any,
    path: str = "",
    raw_keys: frozenset[str] = frozenset(),
    *,
    expressions: frozenset[str] = frozenset(),
    limits: TemplateLimits | None = None,
) -> list[ConfigProblem]:
    """Length and syntax problems in every template inside a config, each with its path; the top-level
    keys in ``expressions`` hold condition expressions and are checked as such."""
    limits = limits or TemplateLimits()
    problems: list[ConfigProblem] = []
    if isinstance(value, str):
        if is_template(value):
            problems.extend(_source_problems(value, path, limits, _compile, "template"))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            item_path = _join(path, str(key))
            if key in expressions and isinstance(item, str):
                problems.extend(_source_problems(item, item_path, limits, _compile_expression, "expression"))
            elif key not in raw_keys:
                problems.extend(template_problems(item, item_path, limits=limits))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problems.extend(template_problems(item, f"{path}[{index}]", limits=limits))
    return problems


def _source_problems(
    text: str, path: str, limits: TemplateLimits, compile_source: Callable[[str], Any], kind: str
) -> list[ConfigProblem]:
    if len(text) > limits.max_chars:
        return [
            ConfigProblem(
                path,
                f"the {kind} is {len(text):,} characters long; at most {limits.max_chars:,} are allowed "
                "(HUB_TEMPLATE_MAX_CHARS)",
            )
        ]
    try:
        compile_source(text)
    except (TemplateError, *_TOO_DEEP) as error:
        return [ConfigProblem(path, f"invalid {kind}: {_describe(error)}")]
    return []


def template_chars(value: Any, expressions: frozenset[str] = frozenset()) -> int:
    """How many characters of templates (and condition expressions) a config holds, raw keys included."""
    if isinstance(value, str):
        return len(value) if is_template(value) else 0
    if isinstance(value, Mapping):
        return sum(
            len(item) if key in expressions and isinstance(item, str) else template_chars(item)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return sum(template_chars(item) for item in value)
    return 0


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 200 else f"{text[:200]!r}…"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
