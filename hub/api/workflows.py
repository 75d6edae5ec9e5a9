"""``PUT`` and ``GET /api/workflows/{id}``: stored workflow definitions."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.api._request import Fields, json_object
from hub.errors import NotFound
from hub.services import services


async def put_workflow(request: Request) -> Response:
    workflow_id = request.path_params["workflow_id"]
    body = await json_object(request)
    fields = Fields(body)
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
    Route("/api/workflows/{workflow_id}", put_workflow, methods=["PUT"]),
    Route("/api/workflows/{workflow_id}", get_workflow, methods=["GET"]),
]
