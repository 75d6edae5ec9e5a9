"""``condition``: evaluates ``config.expression`` in the sandbox and follows the true or false connections."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers._validation import required_string
from handlers.contract import ConfigProblem, NodeContext, NodeResult
from handlers.templating import evaluate, expression_problem


def validate(config: Mapping[str, Any]) -> list[ConfigProblem]:
    problems = required_string(config, "expression")
    if not problems:
        problem = expression_problem(config["expression"], "expression")
        problems = [problem] if problem else []
    return problems


async def run(ctx: NodeContext) -> NodeResult:
    result = bool(evaluate(ctx.config["expression"], ctx.scope))
    branch = "true" if result else "false"
    return NodeResult(True, f"Condition is {branch}", ctx.input, branch=branch)
