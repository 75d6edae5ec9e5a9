"""``PUT`` and ``GET /api/workflows/{id}``: stored workflow definitions."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api import schemas
from hub.api._request import Body, BodyField, json_object
from hub.api.openapi import ApiRoute, Operation
from hub.errors import NotFound
from hub.services import services

DEFINITION = Body(
    (BodyField("organizationId", "text", "The organization that owns the workflow"),),
    "A workflow definition; the path's id wins over the body's",
    extends=schemas.Workflow,
    example={
        "name": "Hello",
        "nodes": [{"id": "start", "type": "trigger"}, {"id": "done", "type": "output", "config": {}}],
        "connections": [{"fromNodeId": "start", "toNodeId": "done"}],
        "organizationId": "acme",
    },
)


async def put_workflow(request: Request) -> Response:
    workflow_id = request.path_params["workflow_id"]
    body = await json_object(request)
    fields = DEFINITION.read(body)
    organization_id = fields.text("organizationId")
    fields.check()
    # Compiling every template of a large workflow takes a while: off the event loop.
    workflow = await asyncio.to_thread(services(request).parse_new_workflow, body, workflow_id)
    stored = await services(request).store.put_workflow(workflow, organization_id)
    return JSONResponse(stored)


async def get_workflow(request: Request) -> Response:
    workflow_id = request.path_params["workflow_id"]
    stored = await services(request).store.get_workflow(workflow_id)
    if stored is None:
        raise NotFound(f"No workflow with id {workflow_id!r}")
    return JSONResponse(stored)


routes = [
    ApiRoute(
        "/api/workflows/{workflow_id}",
        put_workflow,
        method="PUT",
        operation=Operation("Store a workflow", {200: schemas.StoredWorkflow}, DEFINITION, tags=("workflows",)),
    ),
    ApiRoute(
        "/api/workflows/{workflow_id}",
        get_workflow,
        method="GET",
        operation=Operation(
            "A stored workflow", {200: schemas.StoredWorkflow, 404: schemas.Error}, tags=("workflows",)
        ),
    ),
]
