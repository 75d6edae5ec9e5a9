"""The shared clients the endpoints use, created once in the app's lifespan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from starlette.requests import HTTPConnection

from hub.bus import EventBus
from hub.errors import InvalidRequest, Problem
from hub.fanout import EventFanout
from hub.files import FileCatalog
from hub.queue import ExecutionQueue
from hub.settings import Settings
from hub.storage import IdempotencyKey, NewExecution, NodeState, Storage
from hub.workflow import Workflow, WorkflowLimits, parse_workflow

IDEMPOTENCY_HEADER = "Idempotency-Key"


@dataclass(frozen=True, slots=True)
class StartedExecution:
    """The execution a start request names; ``replayed`` when its idempotency key had made it before."""

    execution_id: str
    replayed: bool


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
        key: IdempotencyKey | None = None,
    ) -> StartedExecution:
        """Stores a pending execution, then queues it: the row always exists before the job does.

        With an idempotency ``key`` that is already recorded, nothing is stored or queued: the answer names
        the execution the key made (a request with another body under the same key is refused with 422).
        """
        new = NewExecution(
            workflow=workflow,
            organization_id=organization_id,
            inputs=inputs,
            trigger_data=trigger_data,
            engine=engine or self.settings.engine.value,
            max_duration_seconds=max_duration_seconds,
            callback_url=callback_url,
            retry_of=retry_of,
        )
        if key is None:
            execution_id = await self.store.create_execution(new, seeded)
        else:
            keyed = await self.store.create_keyed_execution(new, key)
            if not keyed.created:
                if keyed.fingerprint != key.fingerprint:
                    raise InvalidRequest(
                        f"{IDEMPOTENCY_HEADER} was already used with a different request",
                        [
                            Problem(
                                IDEMPOTENCY_HEADER,
                                f"{IDEMPOTENCY_HEADER} {key.key!r} was sent before with a different body; "
                                "send a fresh key for a new request",
                            )
                        ],
                    )
                return StartedExecution(keyed.execution_id, replayed=True)
            execution_id = keyed.execution_id
        await self.queue.enqueue(execution_id)
        return StartedExecution(execution_id, replayed=False)


def services(connection: HTTPConnection) -> Services:
    found: Services = connection.app.state.services
    return found
