"""Rows of the store rendered as the API's camelCase JSON bodies."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hub.events import loads
from hub.storage._engine import Row

_NODE_FIELDS = ("nodeId", "nodeType", "nodeLabel", "status", "message", "duration", "timestamp", "attempts", "error")


def progress(row: Row) -> dict[str, Any]:
    total = row["totalNodes"]
    finished = row["completedNodes"] + row["failedNodes"] + row["skippedNodes"]
    if row["status"] == "completed":
        percentage = 100
    else:
        percentage = min(100, round(finished * 100 / total)) if total else 0
    return {
        "totalNodes": total,
        "completedNodes": row["completedNodes"],
        "failedNodes": row["failedNodes"],
        "skippedNodes": row["skippedNodes"],
        "percentage": percentage,
    }


def execution_summary(row: Row) -> dict[str, Any]:
    """The list view of an execution: no logs, no outputs."""
    return {
        "executionId": row["id"],
        "workflowId": row["workflowId"],
        "workflowName": row["workflowName"],
        "organizationId": row["organizationId"],
        "status": row["status"],
        "currentNodeId": row["currentNodeId"],
        "progress": progress(row),
        "createdAt": row["createdAt"],
        "startedAt": row["startedAt"],
        "completedAt": row["completedAt"],
        "error": row["error"],
        "retryOf": row["retryOf"],
        "lastSeq": row["lastSeq"],
    }


def execution_detail(row: Row, node_rows: Iterable[Row]) -> dict[str, Any]:
    """``GET /api/executions/{id}``: the summary plus final output, logs and every node's state."""
    logs = [{field: node[field] for field in _NODE_FIELDS} for node in node_rows]
    by_id = {log["nodeId"]: log for log in logs}
    workflow = loads(row["workflow"])
    nodes = []
    for node in workflow["nodes"]:
        log = by_id.get(node["id"], {})
        nodes.append(
            {
                "nodeId": node["id"],
                "nodeType": node["type"],
                "label": node["label"],
                "status": log.get("status", "pending"),
                "duration": log.get("duration"),
                "attempts": log.get("attempts", 0),
                "error": log.get("error"),
            }
        )
    body = execution_summary(row)
    body.update(
        {
            "finalOutput": loads(row["finalOutput"]),
            "resumeAt": row["resumeAt"],
            "engine": row["engine"],
            "nodes": nodes,
            "logs": logs,
        }
    )
    return body
