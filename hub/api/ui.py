"""The browser viewer: ``/ui`` (recent executions and the Run form), ``/ui/executions/{id}``, and the examples.

The pages are plain files under ``static/ui``; they read everything through the public REST API and
``static/hub-client.js``, like any other client.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

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


def read_examples(folder: Path) -> list[dict[str, Any]]:
    """Every ``*.json`` workflow in ``folder``, with its description and sample inputs set apart."""
    examples = []
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
            {
                "id": data.get("id") or path.stem,
                "name": data.get("name") or path.stem,
                "description": data.get("description", ""),
                "inputs": data.get("sampleInputs", {}),
                "workflow": {key: value for key, value in data.items() if key not in _NOT_WORKFLOW_KEYS},
            }
        )
    return examples


async def list_examples(request: Request) -> Response:
    examples = await asyncio.to_thread(read_examples, EXAMPLES)
    return JSONResponse({"examples": examples, "count": len(examples)})


routes = [
    Route("/ui", home, methods=["GET"]),
    Route("/ui/executions/{execution_id}", execution_page, methods=["GET"]),
    Route("/ui/sw.js", service_worker, methods=["GET"]),
    Route("/api/examples", list_examples, methods=["GET"]),
]
