"""Workflows run end to end on a real hub, worker and Redis, under both engines on SQLite, and on PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.fakes import TargetService
from tests.support import HubClient, linear

pytestmark = pytest.mark.postgres


def _types(events: list[dict[str, Any]], node_id: str | None = None) -> list[str]:
    return [e["type"] for e in events if node_id is None or e.get("nodeId") == node_id]


async def test_linear_graph_runs_every_node_in_order(client: HubClient, target: tuple[TargetService, str]) -> None:
    workflow = linear(
        ("start", "trigger", {}),
        ("fetch", "http", {"url": f"{target[1]}/echo?units=metric", "query": {"city": "{{ input.city }}"}}),
        ("mark", "addField", {"fields": {"city": "{{ nodes.fetch.body.query.city }}", "checked": True}}),
        ("result", "output", {}),
    )
    execution_id = await client.execute(workflow, {"city": "Madrid"})
    body = await client.wait_for(execution_id)
    assert body["status"] == "completed", body
    assert body["finalOutput"] == {
        "result": {
            "status": 200,
            "headers": body["finalOutput"]["result"]["headers"],
            "body": body["finalOutput"]["result"]["body"],
            "city": "Madrid",
            "checked": True,
        }
    }
    assert body["progress"] == {
        "totalNodes": 4,
        "completedNodes": 4,
        "failedNodes": 0,
        "skippedNodes": 0,
        "percentage": 100,
    }
    assert body["finalOutput"]["result"]["body"]["query"] == {"units": "metric", "city": "Madrid"}
    events = await client.events(execution_id)
    started = [e["nodeId"] for e in events if e["type"] == "node.started"]
    assert started == ["start", "fetch", "mark", "result"]
    assert events[0]["type"] == "execution.started" and events[-1]["type"] == "execution.completed"
    assert [log["nodeId"] for log in body["logs"]] == ["start", "fetch", "mark", "result"]


async def test_condition_follows_the_true_branch_and_skips_the_other(client: HubClient) -> None:
    execution_id = await client.execute(_weather_alert(), {"temperature": 35})
    body = await client.wait_for(execution_id)
    assert body["status"] == "completed"
    assert body["finalOutput"] == {"hot_out": {"temperature": 35, "alert": "heat"}}
    events = await client.events(execution_id)
    assert _types(events, "cold") == ["node.skipped"]
    assert _types(events, "cold_out") == ["node.skipped"]
    assert body["progress"]["percentage"] == 100


async def test_condition_follows_the_false_branch_and_skips_the_other(client: HubClient) -> None:
    execution_id = await client.execute(_weather_alert(), {"temperature": 12})
    body = await client.wait_for(execution_id)
    assert body["status"] == "completed"
    assert body["finalOutput"] == {"cold_out": {"temperature": 12, "alert": "none"}}
    events = await client.events(execution_id)
    assert _types(events, "hot") == ["node.skipped"]


def _weather_alert() -> dict[str, Any]:
    return {
        "id": "weather",
        "name": "Weather alert",
        "nodes": [
            {"id": "start", "type": "trigger", "label": "Start", "config": {}},
            {"id": "check", "type": "condition", "label": "Hot?", "config": {"expression": "input.temperature > 30"}},
            {"id": "hot", "type": "addField", "label": "Heat", "config": {"fields": {"alert": "heat"}}},
            {"id": "cold", "type": "addField", "label": "Calm", "config": {"fields": {"alert": "none"}}},
            {"id": "hot_out", "type": "output", "label": "Hot result", "config": {}},
            {"id": "cold_out", "type": "output", "label": "Cold result", "config": {}},
        ],
        "connections": [
            {"fromNodeId": "start", "toNodeId": "check"},
            {"fromNodeId": "check", "toNodeId": "hot", "outputType": "true"},
            {"fromNodeId": "check", "toNodeId": "cold", "outputType": "false"},
            {"fromNodeId": "hot", "toNodeId": "hot_out"},
            {"fromNodeId": "cold", "toNodeId": "cold_out"},
        ],
    }


async def test_parallel_branches_run_concurrently_and_meet_in_a_join(
    client: HubClient, target: tuple[TargetService, str]
) -> None:
    key = uuid.uuid4().hex
    workflow = {
        "id": "parallel",
        "nodes": [
            {"id": "start", "type": "trigger", "config": {}},
            {"id": "left", "type": "http", "config": {"url": f"{target[1]}/slow/{key}-l?seconds=1"}},
            {"id": "right", "type": "http", "config": {"url": f"{target[1]}/slow/{key}-r?seconds=1"}},
            {"id": "both", "type": "join", "config": {"mode": "merge"}},
            {"id": "out", "type": "output", "config": {"value": "{{ input }}"}},
        ],
        "connections": [
            {"fromNodeId": "start", "toNodeId": "left"},
            {"fromNodeId": "start", "toNodeId": "right"},
            {"fromNodeId": "left", "toNodeId": "both"},
            {"fromNodeId": "right", "toNodeId": "both"},
            {"fromNodeId": "both", "toNodeId": "out"},
        ],
    }
    execution_id = await client.execute(workflow)
    body = await client.wait_for(execution_id)
    assert body["status"] == "completed", body
    events = await client.events(execution_id)
    branch_events = [(e["type"], e["nodeId"]) for e in events if e.get("nodeId") in ("left", "right")]
    first_completion = next(i for i, (kind, _) in enumerate(branch_events) if kind == "node.completed")
    assert {node for kind, node in branch_events[:first_completion] if kind == "node.started"} == {"left", "right"}
    assert body["finalOutput"]["out"]["body"] == {"key": f"{key}-r", "slept": True}


async def test_join_waits_only_for_branches_that_were_not_skipped(client: HubClient) -> None:
    workflow = {
        "id": "join-skip",
        "nodes": [
            {"id": "start", "type": "trigger", "config": {}},
            {"id": "check", "type": "condition", "config": {"expression": "input.go"}},
            {"id": "yes", "type": "addField", "config": {"fields": {"branch": "yes"}}},
            {"id": "no", "type": "addField", "config": {"fields": {"branch": "no"}}},
            {"id": "both", "type": "join", "config": {"mode": "merge"}},
        ],
        "connections": [
            {"fromNodeId": "start", "toNodeId": "check"},
            {"fromNodeId": "check", "toNodeId": "yes", "outputType": "true"},
            {"fromNodeId": "check", "toNodeId": "no", "outputType": "false"},
            {"fromNodeId": "yes", "toNodeId": "both"},
            {"fromNodeId": "no", "toNodeId": "both"},
        ],
    }
    body = await client.wait_for(await client.execute(workflow, {"go": True}))
    assert body["status"] == "completed"
    assert body["finalOutput"] == {"both": {"go": True, "branch": "yes"}}


async def test_failing_node_fails_the_execution_and_skips_the_nodes_after_it(
    client: HubClient, target: tuple[TargetService, str]
) -> None:
    workflow = linear(
        ("start", "trigger", {}),
        ("broken", "http", {"url": f"{target[1]}/status/500"}),
        ("after", "addField", {"fields": {"x": 1}}),
        ("out", "output", {}),
    )
    execution_id = await client.execute(workflow)
    body = await client.wait_for(execution_id)
    assert body["status"] == "failed"
    assert "500" in body["error"] and "broken" in body["error"]
    events = await client.events(execution_id)
    assert _types(events, "broken") == ["node.started", "node.failed"]
    assert _types(events, "after") == ["node.skipped"]
    assert _types(events, "out") == ["node.skipped"]
    assert events[-1]["type"] == "execution.failed"
    assert body["progress"]["failedNodes"] == 1


async def test_node_that_fails_twice_succeeds_on_its_third_attempt_with_two_retries(
    client: HubClient, target: tuple[TargetService, str]
) -> None:
    service, url = target
    key = uuid.uuid4().hex
    workflow = linear(
        ("start", "trigger", {}),
        ("flaky", "http", {"url": f"{url}/flaky/{key}?failures=2", "retries": 2, "retryDelaySeconds": 0.1}),
    )
    execution_id = await client.execute(workflow)
    body = await client.wait_for(execution_id)
    assert body["status"] == "completed", body
    assert service.calls[key] == 3
    events = await client.events(execution_id)
    retries = [e for e in events if e["type"] == "node.retrying"]
    assert [e["data"]["attempt"] for e in retries] == [1, 2]
    assert [e["data"]["attempt"] for e in events if e["type"] == "node.started"][-3:] == [1, 2, 3]
    assert body["finalOutput"]["flaky"]["body"] == {"ok": True, "calls": 3}


async def test_node_that_keeps_failing_fails_after_its_retries(
    client: HubClient, target: tuple[TargetService, str]
) -> None:
    service, url = target
    key = uuid.uuid4().hex
    workflow = linear(
        ("start", "trigger", {}), ("flaky", "http", {"url": f"{url}/flaky/{key}?failures=9", "retries": 1})
    )
    body = await client.wait_for(await client.execute(workflow))
    assert body["status"] == "failed"
    assert service.calls[key] == 2
    assert "503" in body["error"]


async def test_manual_input_takes_the_request_value_or_its_default(client: HubClient) -> None:
    workflow = {
        "id": "inputs",
        "nodes": [
            {"id": "given", "type": "manualInput", "config": {"defaultValue": "unused"}},
            {"id": "fallback", "type": "manualInput", "config": {"defaultValue": {"n": 1}}},
            {"id": "note", "type": "comment", "config": {"text": "does nothing"}},
        ],
        "connections": [],
    }
    body = await client.wait_for(await client.execute(workflow, {"given": [1, 2]}))
    assert body["finalOutput"] == {"given": [1, 2], "fallback": {"n": 1}, "note": {"given": [1, 2]}}
