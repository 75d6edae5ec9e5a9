"""Small checks that node validators compose; each returns the problems it found."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.contract import ConfigProblem, NodeError
from handlers.templating import is_template


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _templated(value: Any) -> bool:
    return isinstance(value, str) and is_template(value)


def positive_integer(value: Any) -> int | None:
    """A positive whole number given as a number or as digits (a rendered template); anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return value if isinstance(value, int) and value > 0 else None


def required_string(config: Mapping[str, Any], key: str) -> list[ConfigProblem]:
    value = config.get(key)
    if not isinstance(value, str) or not value.strip():
        return [ConfigProblem(key, f"{key} is required and must be a non-empty string")]
    return []


def optional_string(config: Mapping[str, Any], key: str) -> list[ConfigProblem]:
    value = config.get(key)
    if value is not None and not isinstance(value, str):
        return [ConfigProblem(key, f"{key} must be a string")]
    return []


def optional_number(
    config: Mapping[str, Any], key: str, *, minimum: float | None = None, maximum: float | None = None
) -> list[ConfigProblem]:
    value = config.get(key)
    if value is None or _templated(value):
        return []
    if not _is_number(value):
        return [ConfigProblem(key, f"{key} must be a number")]
    if minimum is not None and value < minimum:
        return [ConfigProblem(key, f"{key} must be at least {minimum:g}")]
    if maximum is not None and value > maximum:
        return [ConfigProblem(key, f"{key} must be at most {maximum:g}")]
    return []


def optional_integer(
    config: Mapping[str, Any], key: str, *, minimum: int | None = None, maximum: int | None = None
) -> list[ConfigProblem]:
    value = config.get(key)
    if value is None or _templated(value):
        return []
    if not isinstance(value, int) or isinstance(value, bool):
        return [ConfigProblem(key, f"{key} must be an integer")]
    return optional_number(config, key, minimum=minimum, maximum=maximum)


def optional_bool(config: Mapping[str, Any], key: str) -> list[ConfigProblem]:
    value = config.get(key)
    if value is not None and not isinstance(value, bool):
        return [ConfigProblem(key, f"{key} must be true or false")]
    return []


def optional_mapping(config: Mapping[str, Any], key: str, *, required: bool = False) -> list[ConfigProblem]:
    value = config.get(key)
    if value is None:
        return [ConfigProblem(key, f"{key} is required and must be an object")] if required else []
    if not isinstance(value, Mapping) and not _templated(value):
        return [ConfigProblem(key, f"{key} must be an object")]
    return []


def one_of(
    config: Mapping[str, Any], key: str, choices: tuple[str, ...], *, default: str | None = None
) -> list[ConfigProblem]:
    value = config.get(key, default)
    if value is None or _templated(value):
        return []
    if value not in choices:
        return [ConfigProblem(key, f"{key} must be one of {', '.join(choices)}; got {value!r}")]
    return []


def raise_problems(problems: list[ConfigProblem]) -> None:
    """At run time, for a config whose templates rendered to values its validator refuses."""
    if problems:
        raise NodeError("; ".join(f"config.{problem.path}: {problem.message}" for problem in problems))
