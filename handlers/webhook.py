"""``webhook``: a trigger fed by ``POST /api/hooks/{workflowId}``, or, with ``config.mode: "wait"``, a pause.

As a trigger its output is the request body. In wait mode the execution waits, holding no worker,
until ``POST /api/executions/{id}/resume/{nodeId}`` arrives; that call's JSON body is the output.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers._validation import one_of
from handlers.contract import ConfigProblem, NodeContext, NodeResult, Suspend

MODES = ("trigger", "wait")


def validate(config: Mapping[str, Any]) -> list[ConfigProblem]:
    return one_of(config, "mode", MODES, default="trigger")


async def run(ctx: NodeContext) -> NodeResult:
    if ctx.config.get("mode") == "wait":
        resume = f"/api/executions/{ctx.execution_id}/resume/{ctx.node_id}"
        return NodeResult(True, f"Waiting for POST {resume}", ctx.input, suspend=Suspend(None))
    return NodeResult(True, "Webhook received", ctx.input)
