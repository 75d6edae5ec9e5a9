"""``webhook``: a trigger fed by ``POST /api/hooks/{workflowId}``; its output is the request body."""

from __future__ import annotations

from handlers.contract import NodeContext, NodeResult


async def run(ctx: NodeContext) -> NodeResult:
    return NodeResult(True, "Webhook received", ctx.input)
