"""Runs one node type as the graph runner would (config checked, rendered, then ``run(ctx)``), without the hub.

The node talks to real servers; only the runner around it is left out, so a test can look at one node.
"""

from __future__ import annotations

import mimetypes
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from handlers.contract import ConfigProblem, NodeContext, NodeResult, Scope, StoredFile
from handlers.egress import guarded_client
from handlers.registry import NODE_TYPES, RUNNER_KEYS
from handlers.settings import NodeSettings
from handlers.templating import render
from jobs.resources import ResourceCache


class DiskFiles:
    """A FileStore over real files in a folder: what the sendEmail node reads its attachments through."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._files: dict[str, StoredFile] = {}

    def add(self, name: str, data: bytes, content_type: str | None = None) -> str:
        file_id = uuid.uuid4().hex
        path = self.folder / file_id
        path.write_bytes(data)
        kind = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        self._files[file_id] = StoredFile(file_id, name, kind, len(data), str(path))
        return file_id

    @asynccontextmanager
    async def open(self, file_id: str) -> AsyncIterator[StoredFile]:
        if file_id not in self._files:
            raise LookupError(file_id)
        yield self._files[file_id]


@dataclass
class NodeRunner:
    settings: NodeSettings
    http: httpx.AsyncClient
    resources: ResourceCache
    files: DiskFiles | None = None
    logs: list[tuple[str, str]] = field(default_factory=list)

    def problems(self, node_type: str, config: Mapping[str, Any]) -> list[ConfigProblem]:
        """What the hub would answer 422 with, settings checks included."""
        return NODE_TYPES.validate(node_type, config, self.settings)

    async def run(
        self, node_type: str, config: Mapping[str, Any], node_input: Any = None, nodes: Mapping[str, Any] | None = None
    ) -> NodeResult:
        problems = self.problems(node_type, config)
        assert not problems, problems
        scope = Scope(input=node_input, inputs={}, nodes=nodes or {}, execution={"id": "exec-1"})
        config = {key: value for key, value in config.items() if key not in RUNNER_KEYS}

        async def log(message: str, level: str = "info") -> None:
            self.logs.append((level, message))

        async def progress(data: Mapping[str, Any]) -> None:
            return None

        ctx = NodeContext(
            execution_id="exec-1",
            organization_id=None,
            node_id="n1",
            node_type=node_type,
            label=node_type,
            config=await render(config, scope, self.settings.templates, raw_keys=NODE_TYPES.get(node_type).raw_keys),
            input=node_input,
            scope=scope,
            settings=self.settings,
            http=self.http,
            log=log,
            progress=progress,
            resources=self.resources,
            files=self.files,
        )
        return await NODE_TYPES.get(node_type).run(ctx)


@asynccontextmanager
async def node_runner(settings: NodeSettings, files: DiskFiles | None = None) -> AsyncIterator[NodeRunner]:
    """A runner with its own http client and resource cache, both closed afterwards (pools included)."""
    resources = ResourceCache()
    async with guarded_client(settings.egress_policy(), timeout=settings.http_timeout_seconds) as http:
        try:
            yield NodeRunner(settings, http, resources, files)
        finally:
            await resources.close()
