"""Jinja2's immutable sandbox, bounded: no render may build a huge value, loop without end or run too long.

A render runs in a thread (see ``templating``), so it must stay cheap in two ways: no single operation may
hold the GIL for long or allocate much (``"%0999999999d" % 1`` is one C call), and the render as a whole
must stop when its budget is spent. Both are enforced here, cooperatively, by the one ``Budget`` of the
render in progress:

- every operator is intercepted (``call_binop``) and checked *before* it runs: string and list sizes,
  integer bits, ``%`` widths;
- every call (``call``) checks the padding and joining methods (``ljust``, ``center``, ``zfill``,
  ``expandtabs``, ``replace``, ``join``, ``translate``, ``to_bytes``) before and the size of what came back
  after; ``str.format`` goes through a formatter that checks each field's width;
- every filter and test is wrapped: the padding ones check their widths, the ones that turn a value into
  text or compare it check how large that value would be as text, and each result is measured;
- the parsed template is rewritten before it is compiled, so that every loop counts its iterations, every
  piece of output is counted (literal text included), ``~`` is measured, compared values and dict keys are
  measured (comparing or hashing a list that holds itself a thousand times over is exponential), and
  slices are measured;
- ``range`` refuses more numbers than the iteration budget, ``lipsum`` is gone.

Values are measured as the length ``str()`` would give them, walking lists and dicts once each (a list
that refers to another list many times is counted many times over, since ``str()`` would write it so).
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from jinja2 import nodes, pass_context
from jinja2.exceptions import SecurityError
from jinja2.filters import make_attrgetter
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.utils import Namespace
from jinja2.visitor import NodeTransformer

from handlers.settings import TemplateLimits

MAX_INTEGER_BITS = 4096
"""The largest integer a template may compute: a few thousand bits is far beyond any config's need."""

_COMPARE_FACTOR = 16
"""Compared, sorted and hashed values may be this many times the text limit: data from JSON is a tree, so
comparing it costs its size; only a template-built list of shared lists makes it explode."""

_T = TypeVar("_T")
_TEXT_SCALARS = (bool, float, type(None))
_SCALARS = (str, bytes, int, *_TEXT_SCALARS)


class RenderLimitExceeded(SecurityError):
    """Raised when a render passes one of its limits; the message names the limit and its setting."""


@dataclass
class Budget:
    """What one render may still do, shared by every hook that runs during it."""

    limits: TemplateLimits
    deadline: float
    max_text: int = 0
    output: int = 0
    iterations: int = 0
    stop_reason: str | None = None
    _sizes: dict[int, tuple[Any, int]] = field(default_factory=dict)

    @classmethod
    def start(cls, limits: TemplateLimits) -> Budget:
        return cls(limits, time.monotonic() + limits.max_seconds, max_text=limits.max_output_kb * 1024)

    def stop(self, reason: str) -> None:
        """Asks the render to stop at its next check (from another thread: its node timed out)."""
        self.stop_reason = reason

    def check_time(self) -> None:
        if self.stop_reason is not None:
            raise RenderLimitExceeded(self.stop_reason)
        if time.monotonic() > self.deadline:
            raise RenderLimitExceeded(
                f"the render took longer than {self.limits.max_seconds:g} s (HUB_TEMPLATE_MAX_SECONDS)"
            )

    def iterate(self) -> None:
        self.iterations += 1
        if self.iterations > self.limits.max_iterations:
            raise RenderLimitExceeded(self._iterations_message())
        self.check_time()

    def _iterations_message(self) -> str:
        return f"the render passed {self.limits.max_iterations:,} loop iterations (HUB_TEMPLATE_MAX_ITERATIONS)"

    def emit(self, size: int) -> None:
        self.output += size
        if self.output > self.max_text:
            raise RenderLimitExceeded(
                f"the render produced more than {self.limits.max_output_kb:,} KB of text (HUB_TEMPLATE_MAX_OUTPUT_KB)"
            )

    def allow_text(self, size: int) -> None:
        """Refuses to build one string of ``size`` characters (or a list of that many items)."""
        if size > self.max_text:
            raise RenderLimitExceeded(
                f"a value of {size:,} characters or items is larger than the {self.limits.max_output_kb:,} KB "
                "a render may build (HUB_TEMPLATE_MAX_OUTPUT_KB)"
            )

    def allow_bits(self, bits: int) -> None:
        if bits > MAX_INTEGER_BITS:
            raise RenderLimitExceeded(f"an integer of about {bits:,} bits is larger than {MAX_INTEGER_BITS:,} bits")

    def measured(self, value: Any) -> Any:
        """``value``, once it is within the limits for one built value."""
        if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
            self.allow_text(len(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            self.allow_bits(value.bit_length())
        return value

    def allow_as_text(self, value: Any) -> int:
        """The length of ``str(value)``, refused before it is built when past the text limit."""
        size = self.text_size(value)
        self.allow_text(size)
        return size

    def allow_compare(self, value: Any) -> Any:
        if not isinstance(value, _SCALARS) and self.text_size(value) > self._compare_limit:
            raise RenderLimitExceeded(
                "a value compared, sorted or used as a key may be at most "
                f"{_COMPARE_FACTOR * self.limits.max_output_kb:,} KB as text (HUB_TEMPLATE_MAX_OUTPUT_KB)"
            )
        return value

    @property
    def _compare_limit(self) -> int:
        return _COMPARE_FACTOR * self.max_text

    def text_size(self, value: Any) -> int:
        """About ``len(str(value))``, computed without building it; past the compare limit it stops counting."""
        if isinstance(value, str | bytes):
            return len(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value.bit_length() // 3 + 2
        if isinstance(value, _TEXT_SCALARS):
            return 24
        if isinstance(value, Namespace):
            value = value._Namespace__attrs
        if not isinstance(value, list | tuple | dict | set | frozenset):
            return 64
        known = self._sizes.get(id(value))
        if known is not None:
            return known[1]
        limit = self._compare_limit
        total = 2
        items: Iterable[Any] = (part for pair in value.items() for part in pair) if isinstance(value, dict) else value
        try:
            for item in items:
                total += self.text_size(item) + 2
                if total > limit:
                    break
        except RecursionError:
            total = limit + 1
        # The value is kept with its size, so that its id is not reused by another value during the render.
        self._sizes[id(value)] = (value, total)
        return total


_BUDGET: ContextVar[Budget] = ContextVar("template_budget")


def current_budget() -> Budget:
    return _BUDGET.get()


def run_with_budget(budget: Budget, work: Callable[[], _T]) -> _T:
    """Runs ``work`` with ``budget`` as the budget every hook charges."""
    token = _BUDGET.set(budget)
    try:
        return work()
    finally:
        _BUDGET.reset(token)


# --- Checks before an operation builds its result ---------------------------------------------------------

_PERCENT_SPEC = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[-#0 +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d+))?[hlL]?(?P<type>.?)", re.DOTALL
)


def _check_percent(budget: Budget, template: str | bytes, values: Any) -> None:
    """``template % values``: its size from each conversion's width, precision and value, before it runs."""
    text = template.decode("latin-1") if isinstance(template, bytes) else template
    positional = values if isinstance(values, tuple) else (values,)
    total, index = len(text), 0
    for match in _PERCENT_SPEC.finditer(text):
        if match["type"] == "%":
            continue
        if "*" in (match["width"], match["precision"]):
            raise RenderLimitExceeded("a * width or precision in % formatting is not allowed in templates")
        if match["key"] is not None and isinstance(values, Mapping):
            value = values.get(match["key"])
        else:
            value = positional[index] if index < len(positional) else None
            index += 1
        width, precision = int(match["width"] or 0), int(match["precision"] or 0)
        size = budget.text_size(value) * (4 if match["type"] in "ra" else 1) + precision + 320
        total += max(width, size)
        budget.allow_text(max(width, precision))
    budget.allow_text(total)


def _spec_numbers(spec: str) -> list[int]:
    return [int(number) for number in re.findall(r"\d+", spec)]


class _BoundedFormatter(SandboxedFormatter):
    """``str.format``: each field's width and value are checked, and the fields' total, before they are joined."""

    def __init__(self, env: Any, budget: Budget) -> None:
        super().__init__(env)
        self._budget = budget
        self._total = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        size = max([self._budget.text_size(value), *_spec_numbers(format_spec)])
        self._total += size
        self._budget.allow_text(self._total)
        return super().format_field(value, format_spec)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion is not None:
            self._budget.allow_text(4 * self._budget.text_size(value))
        return super().convert_field(value, conversion)


def _check_width(budget: Budget, text: Any, width: Any) -> None:
    if isinstance(width, int):
        budget.allow_text(width)
    budget.allow_as_text(text)


def _check_replace(budget: Budget, text: Any, old: Any, new: Any, count: Any = -1) -> None:
    budget.allow_as_text(text)
    if isinstance(text, str | bytes) and isinstance(old, str | bytes) and isinstance(new, str | bytes):
        found = text.count(old) if old else len(text) + 1  # type: ignore[arg-type]
        if isinstance(count, int) and count >= 0:
            found = min(found, count)
        budget.allow_text(len(text) + found * max(0, len(new) - len(old)))


def _check_expandtabs(budget: Budget, text: str | bytes, tabsize: Any = 8) -> None:
    if isinstance(tabsize, int):
        tab = "\t" if isinstance(text, str) else b"\t"
        budget.allow_text(len(text) + text.count(tab) * max(tabsize, 0))  # type: ignore[arg-type]


def _check_translate(budget: Budget, text: str | bytes, table: Any) -> None:
    if isinstance(table, Mapping):
        longest = max((budget.text_size(value) for value in table.values()), default=1)
        budget.allow_text(len(text) * max(longest, 1))


def _joined_size(budget: Budget, separator: Any, items: list[Any]) -> None:
    size = sum(budget.text_size(item) for item in items) + budget.text_size(separator) * max(len(items) - 1, 0)
    budget.allow_text(size)


def _check_method(budget: Budget, method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """The arguments to call a str, bytes or int method with, once its result is known to stay small."""
    owner = getattr(method, "__self__", None)
    name = getattr(method, "__name__", "")
    if isinstance(owner, str | bytes):
        if name in ("center", "ljust", "rjust", "zfill") and args:
            _check_width(budget, owner, args[0])
        elif name == "expandtabs":
            _check_expandtabs(budget, owner, *args, **kwargs)
        elif name == "replace" and len(args) >= 2:
            _check_replace(budget, owner, *args, **kwargs)
        elif name == "translate" and args:
            _check_translate(budget, owner, args[0])
        elif name == "join" and args:
            items = list(args[0])
            budget.allow_text(len(items))
            _joined_size(budget, owner, items)
            return (items, *args[1:])
    elif isinstance(owner, int) and name == "to_bytes":
        length = args[0] if args else kwargs.get("length", 1)
        if isinstance(length, int):
            budget.allow_text(length)
    return args


# --- Filters and tests ------------------------------------------------------------------------------------

# Filters that never turn their value into text nor compare its items: the value is not measured first.
_CONTAINER_FILTERS = frozenset(
    {"length", "count", "first", "last", "list", "map", "select", "reject", "selectattr", "rejectattr",
     "reverse", "items", "attr", "default", "d", "random", "batch", "slice", "join", "sum", "abs", "round",
     "int", "float", "filesizeformat", "wordcount", "truncate"}
)  # fmt: skip
# Filters that compare the items of their value: it is measured against the compare limit.
_COMPARING_FILTERS = frozenset({"sort", "unique", "min", "max", "groupby", "dictsort"})


def _items(value: Any, attribute: Any, environment: Any) -> list[Any]:
    items = list(value)
    if attribute is not None:
        getter = make_attrgetter(environment, attribute)
        return [getter(item) for item in items]
    return items


def _filter_join(budget: Budget, environment: Any, value: Any, d: Any = "", attribute: Any = None) -> Any:
    items = list(value)
    budget.allow_text(len(items))
    _joined_size(budget, d, _items(items, attribute, environment))
    return items


def _filter_sum(budget: Budget, environment: Any, value: Any, attribute: Any = None, start: Any = 0) -> Any:
    items = list(value)
    budget.allow_text(len(items))
    if isinstance(start, list | tuple):
        picked = _items(items, attribute, environment)
        budget.allow_text(len(start) + sum(len(item) if isinstance(item, list | tuple) else 1 for item in picked))
    return items


def _filter_center(budget: Budget, environment: Any, value: Any, width: Any = 80) -> Any:
    _check_width(budget, value, width)
    return value


def _filter_indent(
    budget: Budget, environment: Any, value: Any, width: Any = 4, first: Any = False, blank: Any = False
) -> Any:
    size = budget.allow_as_text(value)
    lines = (value.count("\n") if isinstance(value, str) else size) + 1
    pad = width if isinstance(width, int) else budget.text_size(width)
    budget.allow_text(size + lines * max(pad, 0))
    return value


def _filter_format(budget: Budget, environment: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
    budget.allow_as_text(value)
    _check_percent(budget, str(value), kwargs or args)
    return value


def _filter_replace(budget: Budget, environment: Any, value: Any, old: Any, new: Any, count: Any = None) -> Any:
    _check_replace(budget, value, old, new, -1 if count is None else count)
    return value


def _filter_wordwrap(
    budget: Budget, environment: Any, value: Any, width: Any = 79, break_long_words: Any = True, wrapstring: Any = None,
    break_on_hyphens: Any = True,
) -> Any:  # fmt: skip
    size = budget.allow_as_text(value)
    separator = budget.text_size(wrapstring) if wrapstring is not None else 2
    lines = 2 * size // max(width if isinstance(width, int) else 1, 1) + size // 2 * (not break_long_words) + 1
    budget.allow_text(size + lines * separator)
    return value


def _filter_count_argument(budget: Budget, environment: Any, value: Any, count: Any, fill_with: Any = None) -> Any:
    if isinstance(count, int):
        budget.allow_text(count)
    return value


def _filter_tojson(budget: Budget, environment: Any, value: Any, indent: Any = None) -> Any:
    if isinstance(indent, int) and indent > 16:
        raise RenderLimitExceeded("tojson's indent may be at most 16")
    budget.allow_as_text(value)
    return value


def _filter_list(budget: Budget, environment: Any, value: Any) -> Any:
    if isinstance(value, str | bytes | list | tuple | dict):
        budget.allow_text(len(value))
    return value


# Each check takes the budget, the environment and the filter's own arguments, and returns the value to
# filter (a generator it had to read to measure comes back as a list).
_FILTER_CHECKS: dict[str, Callable[..., Any]] = {
    "join": _filter_join,
    "sum": _filter_sum,
    "center": _filter_center,
    "indent": _filter_indent,
    "format": _filter_format,
    "replace": _filter_replace,
    "wordwrap": _filter_wordwrap,
    "batch": _filter_count_argument,
    "slice": _filter_count_argument,
    "tojson": _filter_tojson,
    "list": _filter_list,
}


def _guard_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    check = _FILTER_CHECKS.get(name)
    passes_context = getattr(function, "jinja_pass_arg", None) is not None

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        budget.check_time()
        head, value, rest = (args[:1], args[1], args[2:]) if passes_context else ((), args[0], args[1:])
        if check is not None:
            environment = getattr(head[0], "environment", head[0]) if head else None
            value = check(budget, environment, value, *rest, **kwargs)
        elif name in _COMPARING_FILTERS:
            budget.allow_compare(value)
        elif name not in _CONTAINER_FILTERS:
            budget.allow_as_text(value)
        return budget.measured(function(*head, value, *rest, **kwargs))

    return guarded


def _guard_test(function: Any) -> Callable[..., Any]:
    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        for argument in (*args, *kwargs.values()):
            budget.allow_compare(argument)
        return function(*args, **kwargs)

    return guarded


# The guards take the context, which is what keeps Jinja2 from folding them into constants at compile time.


@pass_context
def _counted(context: Any, iterable: Iterable[Any]) -> Iterator[Any]:
    budget = current_budget()
    for item in iterable:
        budget.iterate()
        yield item


@pass_context
def _emit(context: Any, value: Any) -> Any:
    budget = current_budget()
    budget.emit(budget.allow_as_text(value))
    return value


@pass_context
def _concat(context: Any, *values: Any) -> str:
    budget = current_budget()
    budget.check_time()
    budget.allow_text(sum(budget.text_size(value) for value in values))
    return "".join(str(value) for value in values)


@pass_context
def _operand(context: Any, value: Any) -> Any:
    return current_budget().allow_compare(value)


@pass_context
def _built(context: Any, value: Any) -> Any:
    return current_budget().measured(value)


def _range(*args: int) -> range:
    numbers = range(*args)
    budget = current_budget()
    try:
        count = len(numbers)
    except OverflowError:
        count = budget.limits.max_iterations + 1
    if count > budget.limits.max_iterations:
        raise RenderLimitExceeded(
            f"range of {count:,} numbers is more than the {budget.limits.max_iterations:,} loop iterations "
            "a render may make (HUB_TEMPLATE_MAX_ITERATIONS)"
        )
    return numbers


_GUARDS: dict[str, Callable[..., Any]] = {
    "_emit": _emit,
    "_concat": _concat,
    "_operand": _operand,
    "_built": _built,
    "_counted": _counted,
}


def _guarded(node: nodes.Expr, guard: str, *args: nodes.Expr) -> nodes.Filter:
    return nodes.Filter(node, guard, list(args), [], None, None, lineno=node.lineno)


class _Guards(NodeTransformer):
    """Rewrites a parsed template so that its loops, output, ``~``, comparisons, keys and slices are checked."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _guarded(cast(nodes.Expr, node.iter), "_counted")
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        self.generic_visit(node)
        node.nodes = [
            _guarded(nodes.Const(child.data, lineno=child.lineno) if isinstance(child, nodes.TemplateData) else child,
                     "_emit")
            for child in node.nodes
        ]  # fmt: skip
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        first, *rest = node.nodes
        return _guarded(first, "_concat", *rest)

    def visit_Compare(self, node: nodes.Compare) -> nodes.Node:
        self.generic_visit(node)
        node.expr = _guarded(node.expr, "_operand")
        for operand in node.ops:
            operand.expr = _guarded(operand.expr, "_operand")
        return node

    def visit_Pair(self, node: nodes.Pair) -> nodes.Node:
        self.generic_visit(node)
        node.key = _guarded(node.key, "_operand")
        return node

    def visit_Getitem(self, node: nodes.Getitem) -> nodes.Node:
        self.generic_visit(node)
        return _guarded(node, "_built") if isinstance(node.arg, nodes.Slice) else node


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with every operation that can build a large value or run long checked first."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def __init__(self, **options: Any) -> None:
        # Constant folding would run filters and operators at compile time, outside any budget.
        super().__init__(optimized=False, **options)
        self.filters = {name: _guard_filter(name, function) for name, function in self.filters.items()}
        self.filters.update(_GUARDS)
        self.tests = {name: _guard_test(function) for name, function in self.tests.items()}
        self.globals.pop("lipsum", None)
        self.globals["range"] = _range

    def _generate(
        self, source: nodes.Template, name: str | None, filename: str | None, defer_init: bool = False
    ) -> str:
        return super()._generate(_Guards().visit(source), name, filename, defer_init=defer_init)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        budget = current_budget()
        budget.check_time()
        _check_binop(budget, operator, left, right)
        return budget.measured(super().call_binop(context, operator, left, right))

    def getitem(self, obj: Any, argument: Any) -> Any:
        current_budget().allow_compare(argument)
        return super().getitem(obj, argument)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - as Jinja2 names it
        budget = current_budget()
        budget.check_time()
        if isinstance(__obj, LoopContext) and args:
            # A recursive loop's inner loops count their iterations like the outer one.
            args = (_counted(__context, args[0]), *args[1:])
        args = _check_method(budget, __obj, args, kwargs)
        return budget.measured(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        if not isinstance(getattr(value, "__self__", None), str) or getattr(value, "__name__", "") not in (
            "format",
            "format_map",
        ):
            return None
        text: str = value.__self__
        is_format_map = value.__name__ == "format_map"
        environment = self

        def formatted(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                return _BoundedFormatter(environment, current_budget()).vformat(text, (), args[0])
            return _BoundedFormatter(environment, current_budget()).vformat(text, args, kwargs)

        return functools.update_wrapper(formatted, value)


def _check_binop(budget: Budget, operator: str, left: Any, right: Any) -> None:
    both_int = isinstance(left, int) and isinstance(right, int)
    if operator == "**" and both_int and right > 0:
        budget.allow_bits(max(left.bit_length(), 1) * right if abs(left) > 1 else 1)
    elif operator == "*":
        if both_int:
            budget.allow_bits(left.bit_length() + right.bit_length())
        for sequence, count in ((left, right), (right, left)):
            if isinstance(sequence, str | bytes | list | tuple) and isinstance(count, int):
                budget.allow_text(len(sequence) * max(count, 0))
    elif operator == "+":
        if isinstance(left, str | bytes | list | tuple) and isinstance(right, str | bytes | list | tuple):
            budget.allow_text(len(left) + len(right))
    elif operator == "%" and isinstance(left, str | bytes):
        _check_percent(budget, left, right)
