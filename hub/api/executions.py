"""Starting executions and reading them: execute, status, events, list, cancel, retry, resume, hooks."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.api._idempotency import REPLAYED_HEADER, idempotency_key
from hub.api._request import Fields, check_egress, json_body, json_object, parse_json, query_int
from hub.errors import Conflict, InvalidRequest, NotFound, Problem
from hub.events import ExecutionStatus, dumps
from hub.services import Services, services
from hub.workflow import Workflow, parse_workflow


def _accepted(
    execution_id: str, workflow_id: str, message: str, *, replayed: bool = False, **extra: Any
) -> JSONResponse:
    return JSONResponse(
        {
            "executionId": execution_id,
            "workflowId": workflow_id,
            "status": ExecutionStatus.PENDING.value,
            "message": message,
            "backgroundExecution": True,
            "statusUrl": f"/api/executions/{execution_id}",
            "eventsUrl": f"/api/executions/{execution_id}/events",
            "websocketUrl": f"/ws/executions/{execution_id}",
            **extra,
        },
        status_code=202,
        headers={REPLAYED_HEADER: "true"} if replayed else None,
    )


async def _stored_workflow(hub: Services, workflow_id: str) -> tuple[Workflow, str | None]:
    stored = await hub.store.get_workflow(workflow_id)
    if stored is None:
        raise NotFound(
            f"No workflow with id {workflow_id!r}; store it with PUT /api/workflows/{workflow_id} or send it inline"
        )
    return parse_workflow(stored, workflow_id=workflow_id), stored.get("organizationId")


async def execute(request: Request) -> Response:
    hub = services(request)
    body = await json_object(request)
    fields = Fields(body)
    workflow_id = fields.text("workflowId")
    inline = fields.mapping("workflow")
    inputs = fields.mapping("inputs") or {}
    organization_id = fields.text("organizationId")
    max_duration = fields.number("maxDurationSeconds", minimum=0.001)
    callback_url = fields.url("callbackUrl")
    if workflow_id is None and not (inline and isinstance(inline.get("id"), str) and inline["id"]):
        if not any(problem.path == "workflowId" for problem in fields.problems):
            fields.problems.append(Problem("workflowId", "workflowId is required (or an inline workflow with an id)"))
    fields.check()
    if callback_url is not None:
        await check_egress(hub.settings.nodes.egress_policy(), "callbackUrl", callback_url)
    if inline is not None:
        # Compiling every template of a large workflow takes a while: off the event loop.
        workflow = await asyncio.to_thread(hub.parse_new_workflow, inline, workflow_id)
    else:
        assert workflow_id is not None, "fields.check() refused a request with neither"
        workflow, stored_organization = await _stored_workflow(hub, workflow_id)
        organization_id = organization_id or stored_organization
    key = idempotency_key(
        request,
        organization_id=organization_id,
        content=orjson.dumps(body, option=orjson.OPT_SORT_KEYS),
        ttl_seconds=hub.settings.idempotency_ttl_hours * 3600,
    )
    started = await hub.start_execution(
        workflow,
        organization_id=organization_id,
        inputs=inputs,
        trigger_data=inputs,
        max_duration_seconds=max_duration,
        callback_url=callback_url,
        key=key,
    )
    return _accepted(
        started.execution_id, workflow.id, "Workflow execution started in background", replayed=started.replayed
    )


async def trigger_hook(request: Request) -> Response:
    hub = services(request)
    workflow, organization_id = await _stored_workflow(hub, request.path_params["workflow_id"])
    body = await request.body()
    content_type = request.headers.get("content-type")
    if not body.strip():
        payload: Any = {}
    elif content_type is None or "json" in content_type.lower():
        payload = await parse_json(body, "webhook body")
    elif content_type.startswith("application/x-www-form-urlencoded"):
        payload = dict((await request.form()).items())
    else:
        payload = body.decode(errors="replace")
    key = idempotency_key(
        request,
        organization_id=organization_id,
        content=(content_type or "").encode() + b"\0" + body,
        ttl_seconds=hub.settings.idempotency_ttl_hours * 3600,
    )
    started = await hub.start_execution(
        workflow, organization_id=organization_id, inputs={}, trigger_data=payload, key=key
    )
    return _accepted(
        started.execution_id,
        workflow.id,
        "Webhook accepted; workflow execution started in background",
        replayed=started.replayed,
    )


async def get_execution(request: Request) -> Response:
    return JSONResponse(await services(request).store.execution(request.path_params["execution_id"]))


async def list_events(request: Request) -> Response:
    execution_id = request.path_params["execution_id"]
    after = query_int(request, "after", default=0, minimum=0, maximum=2**62)
    limit = query_int(request, "limit", default=1000, minimum=1, maximum=1000)
    store = services(request).store
    status = await store.status(execution_id)
    events = await store.events_after(execution_id, after, limit)
    body = (
        f'{{"executionId":{dumps(execution_id)},"status":"{status.value}","after":{after},'
        f'"events":[{",".join(event.json for event in events)}]}}'
    )
    return Response(body, media_type="application/json")


async def list_executions(request: Request) -> Response:
    status = request.query_params.get("status") or None
    if status is not None and status not in {s.value for s in ExecutionStatus}:
        choices = ", ".join(s.value for s in ExecutionStatus)
        raise InvalidRequest("Invalid query parameter status", [Problem("status", f"status must be one of {choices}")])
    executions = await services(request).store.list_executions(
        workflow_id=request.query_params.get("workflowId") or None,
        status=status,
        organization_id=request.query_params.get("organizationId") or None,
        limit=query_int(request, "limit", default=50, minimum=1, maximum=500),
    )
    return JSONResponse({"executions": executions, "count": len(executions)})


async def cancel(request: Request) -> Response:
    hub = services(request)
    execution_id = request.path_params["execution_id"]
    status, events = await hub.store.request_cancel(execution_id)
    await hub.bus.publish(events)
    if status is ExecutionStatus.CANCELLED:
        return JSONResponse({"executionId": execution_id, "status": status.value, "message": "Execution cancelled"})
    await hub.bus.request_cancel(execution_id)
    return JSONResponse(
        {
            "executionId": execution_id,
            "status": status.value,
            "cancelRequested": True,
            "message": "Cancellation requested; the running node is being stopped",
        },
        status_code=202,
    )


async def retry(request: Request) -> Response:
    hub = services(request)
    original_id = request.path_params["execution_id"]
    original = await hub.store.run_parameters(original_id)
    if original["status"] not in (ExecutionStatus.FAILED.value, ExecutionStatus.CANCELLED.value):
        raise Conflict(f"Only a failed or cancelled execution can be retried; {original_id} is {original['status']}")
    workflow = parse_workflow(original["workflow"])
    started = await hub.start_execution(
        workflow,
        organization_id=original["organizationId"],
        inputs=original["inputs"],
        trigger_data=original["triggerData"],
        max_duration_seconds=original["maxDurationSeconds"],
        callback_url=original["callbackUrl"],
        retry_of=original_id,
        seeded=await hub.store.completed_nodes(original_id),
        engine=original["engine"],
    )
    return _accepted(started.execution_id, workflow.id, "Retry started from the failed node", retryOf=original_id)


async def resume(request: Request) -> Response:
    hub = services(request)
    execution_id = request.path_params["execution_id"]
    node_id = request.path_params["node_id"]
    body = await json_body(request, what="resume body")
    if body is None:
        body = {}
    await hub.store.resume_node(execution_id, node_id, body)
    await hub.queue.enqueue(execution_id, reason=f"resume:{node_id}")
    return JSONResponse(
        {"executionId": execution_id, "nodeId": node_id, "status": "resuming", "message": "Node resumed"},
        status_code=202,
    )


routes = [
    Route("/api/workflows/execute", execute, methods=["POST"]),
    Route("/api/hooks/{workflow_id}", trigger_hook, methods=["POST"]),
    Route("/api/executions", list_executions, methods=["GET"]),
    Route("/api/executions/{execution_id}", get_execution, methods=["GET"]),
    Route("/api/executions/{execution_id}/events", list_events, methods=["GET"]),
    Route("/api/executions/{execution_id}/cancel", cancel, methods=["POST"]),
    Route("/api/executions/{execution_id}/retry", retry, methods=["POST"]),
    Route("/api/executions/{execution_id}/resume/{node_id}", resume, methods=["POST"]),
]
