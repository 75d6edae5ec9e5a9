"""The REST contract: shapes the Node server reads, and clear 4xx answers for anything a user can send."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support import HubClient, linear


async def test_execute_answers_202_with_the_fields_the_node_server_reads(client: HubClient) -> None:
    response = await client.http.post(
        "/api/workflows/execute",
        json={"workflowId": "wf1", "inputs": {}, "organizationId": "org1", "workflow": linear(("a", "trigger", {}))},
    )
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending" and body["backgroundExecution"] is True
    assert body["executionId"] and body["message"]
    execution = await client.wait_for(body["executionId"])
    assert execution["organizationId"] == "org1" and execution["workflowId"] == "wf1"
    assert set(execution) >= {
        "executionId",
        "workflowId",
        "organizationId",
        "status",
        "currentNodeId",
        "progress",
        "startedAt",
        "completedAt",
        "finalOutput",
        "error",
        "logs",
        "lastSeq",
    }


async def test_a_stored_workflow_runs_by_its_id(client: HubClient) -> None:
    workflow_id = f"stored-{uuid.uuid4().hex[:8]}"
    put = await client.http.put(f"/api/workflows/{workflow_id}", json=linear(("a", "trigger", {})))
    assert put.status_code == 200
    assert (await client.http.get(f"/api/workflows/{workflow_id}")).json()["nodes"][0]["id"] == "a"
    response = await client.http.post("/api/workflows/execute", json={"workflowId": workflow_id, "inputs": {"x": 1}})
    assert response.status_code == 202
    body = await client.wait_for(response.json()["executionId"])
    assert body["finalOutput"] == {"a": {"x": 1}}


async def test_the_react_flow_shape_is_accepted(client: HubClient) -> None:
    workflow = {
        "id": "rf",
        "nodes": [
            {"id": "t", "type": "trigger", "position": {"x": 0, "y": 0}, "data": {"label": "Start", "config": {}}},
            {"id": "c", "type": "condition", "data": {"label": "Big?", "config": {"expression": "input.n > 1"}}},
            {"id": "y", "type": "addField", "data": {"label": "Yes", "config": {"fields": {"big": True}}}},
        ],
        "edges": [
            {"id": "e1", "source": "t", "target": "c"},
            {"id": "e2", "source": "c", "target": "y", "sourceHandle": "true"},
        ],
    }
    body = await client.wait_for(await client.execute(workflow, {"n": 5}))
    assert body["finalOutput"] == {"y": {"n": 5, "big": True}}
    assert [node["label"] for node in body["nodes"]] == ["Start", "Big?", "Yes"]


async def test_webhook_starts_the_stored_workflow_with_the_request_body(client: HubClient) -> None:
    workflow_id = f"hook-{uuid.uuid4().hex[:8]}"
    workflow = linear(("hook", "webhook", {}), ("out", "output", {}))
    assert (await client.http.put(f"/api/workflows/{workflow_id}", json=workflow)).status_code == 200
    response = await client.http.post(f"/api/hooks/{workflow_id}", json={"order": 42})
    assert response.status_code == 202
    body = await client.wait_for(response.json()["executionId"])
    assert body["finalOutput"] == {"out": {"order": 42}}


async def test_a_bad_workflow_gets_422_listing_every_problem_with_its_path(client: HubClient) -> None:
    workflow = {
        "id": "bad",
        "nodes": [
            {"id": "a", "type": "trigger", "config": {}},
            {"id": "b", "type": "teleport", "config": {}},
            {"id": "c", "type": "http", "config": {"url": "ftp://example.com", "method": "FETCH"}},
            {"id": "d", "type": "addField", "config": {"fields": {"x": "{{ input.x "}}},
        ],
        "connections": [{"fromNodeId": "a", "toNodeId": "zz"}],
    }
    response = await client.http.post("/api/workflows/execute", json={"workflowId": "bad", "workflow": workflow})
    assert response.status_code == 422
    problems = {problem["path"]: problem["message"] for problem in response.json()["problems"]}
    assert "teleport" in problems["nodes[1].type"]
    assert "http" in problems["nodes[2].config.url"]
    assert "method" in problems["nodes[2].config.method"]
    assert "template" in problems["nodes[3].config.fields.x"]
    assert "zz" in problems["connections[0].toNodeId"]


async def test_a_cycle_gets_422(client: HubClient) -> None:
    workflow = {
        "id": "cycle",
        "nodes": [{"id": n, "type": "addField", "config": {"fields": {}}} for n in ("s", "a", "b")],
        "connections": [
            {"fromNodeId": "s", "toNodeId": "a"},
            {"fromNodeId": "a", "toNodeId": "b"},
            {"fromNodeId": "b", "toNodeId": "a"},
        ],
    }
    response = await client.http.post("/api/workflows/execute", json={"workflowId": "c", "workflow": workflow})
    assert response.status_code == 422
    assert any("cycle" in p["message"] for p in response.json()["problems"])


async def test_a_graph_without_a_start_node_gets_422(client: HubClient) -> None:
    workflow = {
        "id": "loop",
        "nodes": [{"id": n, "type": "comment", "config": {}} for n in ("a", "b")],
        "connections": [{"fromNodeId": "a", "toNodeId": "b"}, {"fromNodeId": "b", "toNodeId": "a"}],
    }
    response = await client.http.post("/api/workflows/execute", json={"workflowId": "l", "workflow": workflow})
    assert response.status_code == 422
    assert any("no start node" in p["message"] for p in response.json()["problems"])


async def test_malformed_json_gets_400_with_a_message(client: HubClient) -> None:
    response = await client.http.post(
        "/api/workflows/execute", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


async def test_fields_of_the_wrong_type_get_422_naming_each_field(client: HubClient) -> None:
    response = await client.http.post(
        "/api/workflows/execute", json={"workflowId": 7, "inputs": [], "maxDurationSeconds": "soon"}
    )
    assert response.status_code == 422
    paths = {problem["path"] for problem in response.json()["problems"]}
    assert paths == {"workflowId", "inputs", "maxDurationSeconds"}


async def test_a_null_workflow_id_without_a_workflow_gets_422_naming_workflow_id(client: HubClient) -> None:
    response = await client.http.post("/api/workflows/execute", json={"workflowId": None, "workflow": None})
    assert response.status_code == 422
    assert [problem["path"] for problem in response.json()["problems"]] == ["workflowId"]


async def test_unknown_ids_get_404_with_a_json_error(client: HubClient) -> None:
    for path in (
        f"/api/executions/{uuid.uuid4()}",
        f"/api/executions/{uuid.uuid4()}/events",
        f"/api/workflows/{uuid.uuid4()}",
    ):
        response = await client.http.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]
    response = await client.http.post("/api/workflows/execute", json={"workflowId": "never-stored"})
    assert response.status_code == 404


async def test_executions_list_newest_first_and_filters(client: HubClient) -> None:
    workflow_id = f"list-{uuid.uuid4().hex[:8]}"
    ids = [await client.execute(linear(("a", "trigger", {}), workflow_id=workflow_id)) for _ in range(3)]
    for execution_id in ids:
        await client.wait_for(execution_id)
    response = await client.http.get("/api/executions", params={"workflowId": workflow_id, "limit": 2})
    listed = response.json()["executions"]
    assert [item["executionId"] for item in listed] == ids[::-1][:2]
    response = await client.http.get("/api/executions", params={"status": "finished"})
    assert response.status_code == 422
    response = await client.http.get("/api/executions", params={"limit": "many"})
    assert response.status_code == 400


async def test_health_reports_redis_database_workers_and_engine(client: HubClient) -> None:
    body = (await client.http.get("/api/health")).json()
    assert body["available"] is True and body["redis"] is True and body["database"] is True
    assert body["workers"] >= 1 and body["engine"] == client.stack.engine
    assert (await client.http.get("/")).json()["available"] is True


async def test_the_existing_systems_queries_run_unchanged(client: HubClient) -> None:
    execution_id = await client.execute(linear(("a", "trigger", {}), ("b", "addField", {"fields": {"y": 2}})))
    await client.wait_for(execution_id)
    recent = await client.stack.query(
        "SELECT id, workflowId, status, createdAt, completedAt FROM workflow_executions "
        "ORDER BY createdAt DESC LIMIT 10;"
    )
    logs: list[Any] = await client.stack.query(
        "SELECT nodeType, nodeLabel, status, duration, timestamp FROM execution_logs "
        f"WHERE executionId = '{execution_id}' ORDER BY timestamp;"
    )
    assert execution_id in [row[0] for row in recent]
    assert [(row[0], row[2]) for row in logs] == [("trigger", "completed"), ("addField", "completed")]
