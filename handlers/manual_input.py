"""``manualInput``: the value the request sent for this node, or ``config.defaultValue``."""

from __future__ import annotations

from handlers.contract import NodeContext, NodeResult


async def run(ctx: NodeContext) -> NodeResult:
    if ctx.node_id in ctx.scope.inputs:
        return NodeResult(True, "Input provided", ctx.scope.inputs[ctx.node_id])
    return NodeResult(True, "Default value used", ctx.config.get("defaultValue"))
