"""``comment``: a note on the canvas. It does nothing and passes its input along."""

from __future__ import annotations

from handlers.contract import NodeContext, NodeResult


async def run(ctx: NodeContext) -> NodeResult:
    return NodeResult(True, "Comment", ctx.input)
