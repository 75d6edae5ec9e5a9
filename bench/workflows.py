"""The workflows the scenarios run, in the shape the Node server sends them."""

from __future__ import annotations

from typing import Any


def _node(node_id: str, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    return {"id": node_id, "type": kind, "label": node_id, "config": config}


def _linear(workflow_id: str, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": workflow_id,
        "name": workflow_id,
        "nodes": nodes,
        "connections": [{"fromNodeId": a["id"], "toNodeId": b["id"]} for a, b in zip(nodes, nodes[1:], strict=False)],
    }


def chain(length: int, workflow_id: str = "bench-chain") -> dict[str, Any]:
    """trigger, then addField nodes, then output: ``length`` nodes in a row. ``chain(5)`` is scenario 1's graph."""
    fields = [_node(f"add{step}", "addField", {"fields": {"step": step}}) for step in range(1, length - 1)]
    return _linear(workflow_id, [_node("start", "trigger", {}), *fields, _node("result", "output", {})])


def slow_chain(service_url: str, length: int, node_ms: float) -> dict[str, Any]:
    """A long-running execution: http nodes that each wait ``node_ms`` on a slow service, one after another."""
    calls = [_node(f"call{step}", "http", {"url": f"{service_url}/sleep?ms={node_ms:g}"}) for step in range(length)]
    return _linear("bench-slow", [_node("start", "trigger", {}), *calls, _node("result", "output", {})])


def waiting() -> dict[str, Any]:
    """An execution that waits for a webhook, holding no worker: a socket watching it sits idle."""
    return _linear(
        "bench-waiting",
        [_node("start", "trigger", {}), _node("hook", "webhook", {"mode": "wait"}), _node("result", "output", {})],
    )


def execute_body(workflow: dict[str, Any], inputs: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"workflowId": workflow["id"], "workflow": workflow, "inputs": inputs or {"city": "Madrid"}}
