"""``trigger``: the start of a workflow; its output is the trigger data (request inputs or webhook body)."""

from __future__ import annotations

from handlers.contract import NodeContext, NodeResult


async def run(ctx: NodeContext) -> NodeResult:
    return NodeResult(True, "Workflow triggered", ctx.input)
