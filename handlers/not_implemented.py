"""A registered type without its handler yet: passes its input through, as the system we replace did."""

from __future__ import annotations

from handlers.contract import NodeContext, NodeResult


async def run(ctx: NodeContext) -> NodeResult:
    await ctx.log("Node type not implemented yet", "warning")
    return NodeResult(True, "Node type not implemented yet", ctx.input)
