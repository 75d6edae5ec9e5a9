"""``condition``: evaluates ``config.expression`` in the sandbox and follows the true or false connections."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers._validation import required_string
from handlers.contract import ConfigProblem, NodeContext, NodeResult
from handlers.templating import evaluate

EXPRESSIONS = frozenset({"expression"})
"""Config keys holding an expression: the registry checks their syntax and length as it does templates'."""


def validate(config: Mapping[str, Any]) -> list[ConfigProblem]:
    return required_string(config, "expression")


async def run(ctx: NodeContext) -> NodeResult:
    result = bool(await evaluate(ctx.config["expression"], ctx.scope, ctx.settings.templates))
    branch = "true" if result else "false"
    return NodeResult(True, f"Condition is {branch}", ctx.input, branch=branch)
