"""The shared clients the endpoints use, created once in the app's lifespan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from starlette.requests import HTTPConnection

from hub.bus import EventBus
from hub.fanout import EventFanout
from hub.files import FileCatalog
from hub.queue import ExecutionQueue
from hub.settings import Settings
from hub.storage import NewExecution, NodeState, Storage
from hub.workflow import Workflow, WorkflowLimits, parse_workflow


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    store: Storage
    redis: Redis
    bus: EventBus
    queue: ExecutionQueue
    fanout: EventFanout
    files: FileCatalog

    def parse_new_workflow(self, data: Any, workflow_id: str | None) -> Workflow:
        """A definition a client sent: checked against the node settings and held to the size limits."""
        limits = WorkflowLimits(self.settings.max_nodes, self.settings.max_connections)
        return parse_workflow(data, workflow_id=workflow_id, settings=self.settings.nodes, limits=limits)

    async def start_execution(
        self,
        workflow: Workflow,
        *,
        organization_id: str | None,
        inputs: Mapping[str, Any],
        trigger_data: Any,
        max_duration_seconds: float | None = None,
        callback_url: str | None = None,
        retry_of: str | None = None,
        seeded: Mapping[str, NodeState] | None = None,
        engine: str | None = None,
    ) -> str:
        """Stores a pending execution, then queues it: the row always exists before the job does."""
        execution_id = await self.store.create_execution(
            NewExecution(
                workflow=workflow,
                organization_id=organization_id,
                inputs=inputs,
                trigger_data=trigger_data,
                engine=engine or self.settings.engine.value,
                max_duration_seconds=max_duration_seconds,
                callback_url=callback_url,
                retry_of=retry_of,
            ),
            seeded,
        )
        await self.queue.enqueue(execution_id)
        return execution_id


def services(connection: HTTPConnection) -> Services:
    found: Services = connection.app.state.services
    return found
