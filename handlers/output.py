"""``output``: marks a final result; the execution's ``finalOutput`` collects every output node."""

from __future__ import annotations

from handlers.contract import NodeContext, NodeResult


async def run(ctx: NodeContext) -> NodeResult:
    value = ctx.config["value"] if "value" in ctx.config else ctx.input
    return NodeResult(True, "Output recorded", value)
