"""The browser viewer: ``/ui`` (recent executions and the Run form), ``/ui/executions/{id}``, and the examples.

The pages are plain files under ``static/ui``; they read everything through the public REST API and
``static/hub-client.js``, like any other client.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from hub.api import schemas
from hub.api.openapi import ApiRoute, Content, Operation, html_page

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "static" / "ui"
SERVICE_WORKER = ROOT / "static" / "sw.js"
EXAMPLES = ROOT / "examples"

_NOT_WORKFLOW_KEYS = ("description", "sampleInputs")


async def home(request: Request) -> Response:
    return FileResponse(PAGES / "index.html", headers={"cache-control": "no-cache"})


async def execution_page(request: Request) -> Response:
    return FileResponse(PAGES / "execution.html", headers={"cache-control": "no-cache"})


async def service_worker(request: Request) -> Response:
    # Served under /ui/ so that its scope covers the viewer pages.
    return FileResponse(SERVICE_WORKER, media_type="text/javascript", headers={"cache-control": "no-cache"})


def read_examples(folder: Path) -> list[schemas.Example]:
    """Every ``*.json`` workflow in ``folder``, with its description and sample inputs set apart."""
    examples: list[schemas.Example] = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            logger.warning("skipping example %s: %s", path.name, error)
            continue
        if not isinstance(data, dict):
            logger.warning("skipping example %s: not a JSON object", path.name)
            continue
        examples.append(
            schemas.Example(
                id=data.get("id") or path.stem,
                name=data.get("name") or path.stem,
                description=data.get("description", ""),
                inputs=data.get("sampleInputs", {}),
                workflow={key: value for key, value in data.items() if key not in _NOT_WORKFLOW_KEYS},
            )
        )
    return examples


async def list_examples(request: Request) -> Response:
    examples = await asyncio.to_thread(read_examples, EXAMPLES)
    return JSONResponse(schemas.ExampleList(examples=examples, count=len(examples)))


_SCRIPT = Content({"text/javascript": {"schema": {"type": "string"}}}, "The viewer's service worker (Web Push)")

routes = [
    ApiRoute("/ui", home, method="GET", operation=Operation("The viewer", {200: html_page("Recent executions")})),
    ApiRoute(
        "/ui/executions/{execution_id}",
        execution_page,
        method="GET",
        operation=Operation("The viewer, on one execution", {200: html_page("One execution, live")}),
    ),
    ApiRoute("/ui/sw.js", service_worker, method="GET", operation=Operation("The service worker", {200: _SCRIPT})),
    ApiRoute(
        "/api/examples",
        list_examples,
        method="GET",
        operation=Operation("The workflows in examples/", {200: schemas.ExampleList}, tags=("workflows",)),
    ),
]
