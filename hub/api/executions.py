"""Starting executions and reading them: execute, status, events, list, cancel, retry, resume, hooks."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api import schemas
from hub.api._idempotency import PARAMETER as IDEMPOTENCY
from hub.api._idempotency import REPLAYED_HEADER, idempotency_key
from hub.api._request import Body, BodyField, QueryInt, QueryText, check_egress, json_body, json_object, parse_json
from hub.api.openapi import ANY_JSON, ApiRoute, Content, Operation
from hub.errors import Conflict, NotFound, Problem
from hub.events import ExecutionStatus, dumps
from hub.services import Services, services
from hub.workflow import Workflow, parse_workflow

EXECUTE = Body(
    (
        BodyField("workflowId", "text", "The stored workflow to run, or the id of the inline one"),
        BodyField("workflow", "object", "A workflow to run inline instead of a stored one", shape=schemas.Workflow),
        BodyField("inputs", "object", "Inputs keyed by node id"),
        BodyField("organizationId", "text", "Whose execution this is; by default the stored workflow's"),
        BodyField("maxDurationSeconds", "number", "The execution fails past this many seconds", minimum=0.001),
        BodyField("callbackUrl", "url", "Receives a signed POST when the execution ends"),
    ),
    "workflowId, or an inline workflow with an id",
    example={
        "workflowId": "hello",
        "workflow": {"id": "hello", "nodes": [{"id": "start", "type": "trigger", "config": {}}]},
        "inputs": {"start": {"name": "Ada"}},
    },
)
AFTER = QueryInt("after", "Only events with seq greater than this", default=0, minimum=0, maximum=2**62)
EVENT_LIMIT = QueryInt("limit", "At most this many events", default=1000, minimum=1, maximum=1000)
LIST_LIMIT = QueryInt("limit", "At most this many executions", default=50, minimum=1, maximum=500)
WORKFLOW_ID = QueryText("workflowId", "Only this workflow's executions")
STATUS = QueryText("status", "Only executions in this status", choices=tuple(s.value for s in ExecutionStatus))
ORGANIZATION_ID = QueryText("organizationId", "Only this organization's executions")
HOOK_BODY = Content(
    {
        "application/json": {"schema": {}},
        "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
        "text/plain": {"schema": {"type": "string"}},
    },
    "Any body; it becomes the execution's trigger data",
)


def _accepted(
    execution_id: str, workflow_id: str, message: str, retry_of: str | None = None, *, replayed: bool = False
) -> JSONResponse:
    body = schemas.Accepted(
        executionId=execution_id,
        workflowId=workflow_id,
        status=ExecutionStatus.PENDING,
        message=message,
        backgroundExecution=True,
        statusUrl=f"/api/executions/{execution_id}",
        eventsUrl=f"/api/executions/{execution_id}/events",
        websocketUrl=f"/ws/executions/{execution_id}",
    )
    if retry_of is not None:
        body["retryOf"] = retry_of
    return JSONResponse(body, status_code=202, headers={REPLAYED_HEADER: "true"} if replayed else None)


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
    fields = EXECUTE.read(body)
    workflow_id = fields.text("workflowId")
    inline = fields.mapping("workflow")
    inputs = fields.mapping("inputs") or {}
    organization_id = fields.text("organizationId")
    max_duration = fields.number("maxDurationSeconds")
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
    after = AFTER.read(request)
    limit = EVENT_LIMIT.read(request)
    store = services(request).store
    status = await store.status(execution_id)
    events = await store.events_after(execution_id, after, limit)
    body = (
        f'{{"executionId":{dumps(execution_id)},"status":"{status.value}","after":{after},'
        f'"events":[{",".join(event.json for event in events)}]}}'
    )
    return Response(body, media_type="application/json")


async def list_executions(request: Request) -> Response:
    executions = await services(request).store.list_executions(
        workflow_id=WORKFLOW_ID.read(request),
        status=STATUS.read(request),
        organization_id=ORGANIZATION_ID.read(request),
        limit=LIST_LIMIT.read(request),
    )
    return JSONResponse({"executions": executions, "count": len(executions)})


async def cancel(request: Request) -> Response:
    hub = services(request)
    execution_id = request.path_params["execution_id"]
    status, events = await hub.store.request_cancel(execution_id)
    await hub.bus.publish(events)
    if status is ExecutionStatus.CANCELLED:
        return JSONResponse(schemas.Cancelled(executionId=execution_id, status=status, message="Execution cancelled"))
    await hub.bus.request_cancel(execution_id)
    return JSONResponse(
        schemas.Cancelled(
            executionId=execution_id,
            status=status,
            cancelRequested=True,
            message="Cancellation requested; the running node is being stopped",
        ),
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
    return _accepted(started.execution_id, workflow.id, "Retry started from the failed node", retry_of=original_id)


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
        schemas.Resumed(executionId=execution_id, nodeId=node_id, status="resuming", message="Node resumed"),
        status_code=202,
    )


_TAGS = ("executions",)

routes = [
    ApiRoute(
        "/api/workflows/execute",
        execute,
        method="POST",
        operation=Operation(
            "Start an execution of a stored or inline workflow",
            {202: schemas.Accepted, 404: schemas.Error},
            body=EXECUTE,
            headers=(IDEMPOTENCY,),
            tags=_TAGS,
        ),
    ),
    ApiRoute(
        "/api/hooks/{workflow_id}",
        trigger_hook,
        method="POST",
        operation=Operation(
            "Start a stored workflow from a webhook",
            {202: schemas.Accepted},
            HOOK_BODY,
            headers=(IDEMPOTENCY,),
            tags=_TAGS,
        ),
    ),
    ApiRoute(
        "/api/executions",
        list_executions,
        method="GET",
        operation=Operation(
            "Recent executions, newest first",
            {200: schemas.ExecutionList},
            query=(WORKFLOW_ID, STATUS, ORGANIZATION_ID, LIST_LIMIT),
            tags=_TAGS,
        ),
    ),
    ApiRoute(
        "/api/executions/{execution_id}",
        get_execution,
        method="GET",
        operation=Operation("One execution", {200: schemas.ExecutionDetail}, tags=_TAGS),
    ),
    ApiRoute(
        "/api/executions/{execution_id}/events",
        list_events,
        method="GET",
        operation=Operation(
            "The stored events after a cursor", {200: schemas.EventPage}, query=(AFTER, EVENT_LIMIT), tags=_TAGS
        ),
    ),
    ApiRoute(
        "/api/executions/{execution_id}/cancel",
        cancel,
        method="POST",
        operation=Operation(
            "Cancel an execution; repeating it is harmless",
            {200: schemas.Cancelled, 202: schemas.Cancelled, 409: schemas.Error},
            tags=_TAGS,
        ),
    ),
    ApiRoute(
        "/api/executions/{execution_id}/retry",
        retry,
        method="POST",
        operation=Operation(
            "Run a failed or cancelled execution again from its failed node",
            {202: schemas.Accepted, 409: schemas.Error},
            tags=_TAGS,
        ),
    ),
    ApiRoute(
        "/api/executions/{execution_id}/resume/{node_id}",
        resume,
        method="POST",
        operation=Operation(
            "Resume a waiting webhook node; the body becomes its output",
            {202: schemas.Resumed, 409: schemas.Error},
            ANY_JSON,
            tags=_TAGS,
        ),
    ),
]
