"""The storage contract: one Protocol per concern, the values they take and return, and the aggregate.

Code outside ``hub.storage`` sees only these names: no connection, cursor, SQL or backend. Every write
that moves an execution to a terminal state (``finish``, ``stop``, ``request_cancel``, ``fail_overdue``,
a claim that gives up) is one unit of work: the state, its event and its outbox deliveries commit in
one transaction, or none of them do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from handlers.contract import RecordStore
from hub.events import Event, EventType, ExecutionStatus
from hub.workflow import Workflow


@dataclass(frozen=True, slots=True)
class NewExecution:
    """What the hub knows about an execution when it is created."""

    workflow: Workflow
    organization_id: str | None
    inputs: Mapping[str, Any]
    trigger_data: Any
    engine: str
    max_duration_seconds: float | None = None
    callback_url: str | None = None
    retry_of: str | None = None


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A client's ``Idempotency-Key``, scoped to an organization, with a fingerprint of its request.

    A key is recorded for ``ttl_seconds``; after that, the same key starts a new execution.
    """

    key: str
    organization_id: str | None
    fingerprint: str
    ttl_seconds: float


@dataclass(frozen=True, slots=True)
class KeyedExecution:
    """The execution an idempotency key names; ``created`` is False when the key was already recorded,
    and then ``fingerprint`` is the one recorded with it (compare it with the request's)."""

    execution_id: str
    created: bool
    fingerprint: str


@dataclass(frozen=True, slots=True)
class NodeState:
    """A node's stored state, as a worker resuming an execution needs it."""

    status: str
    output: Any = None
    branch: str | None = None
    resume_at: float | None = None
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class RunState:
    """Everything a worker needs to run (or resume) an execution."""

    execution_id: str
    workflow: dict[str, Any]
    organization_id: str | None
    inputs: dict[str, Any]
    trigger_data: Any
    engine: str
    deadline_at: float | None
    nodes: dict[str, NodeState] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Claim:
    """A worker's successful claim: the events it produced and whether it took over from another worker."""

    events: list[Event]
    recovered: bool = False
    resumed: bool = False
    runnable: bool = True
    previous_job_id: str | None = None


@dataclass(frozen=True, slots=True)
class Renewal:
    alive: bool
    cancel_requested: bool


@dataclass(frozen=True, slots=True)
class Sweep:
    """Executions that need a worker's attention: ``(execution id, reason)`` pairs."""

    expired_leases: list[tuple[str, float]]
    due_waits: list[tuple[str, float]]
    stale_pending: list[str]


class DeliveryKind(StrEnum):
    WEBHOOK = "webhook"
    PUSH = "push"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    GONE = "gone"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One claimed delivery. ``target`` is the callback URL, or the push subscription's id."""

    id: str
    execution_id: str
    kind: DeliveryKind
    target: str
    body: str
    attempts: int


@dataclass(frozen=True, slots=True)
class PushTarget:
    """Whom a subscription is for: one execution, one organization, or (neither) every execution."""

    execution_id: str | None = None
    organization_id: str | None = None

    @property
    def scope(self) -> str:
        if self.execution_id is not None:
            return f"execution:{self.execution_id}"
        if self.organization_id is not None:
            return f"organization:{self.organization_id}"
        return "all"


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One uploaded file's metadata, as ``GET /api/files/{id}`` shows it."""

    file_id: str
    organization_id: str | None
    name: str
    size: int
    content_type: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "fileId": self.file_id,
            "name": self.name,
            "size": self.size,
            "contentType": self.content_type,
            "organizationId": self.organization_id,
            "createdAt": self.created_at,
        }


class Workflows(Protocol):
    """Stored workflow definitions."""

    async def put_workflow(self, workflow: Workflow, organization_id: str | None) -> dict[str, Any]:
        """Creates or replaces a workflow; returns it as ``GET /api/workflows/{id}`` shows it."""
        ...

    async def get_workflow(self, workflow_id: str) -> dict[str, Any] | None: ...


class Executions(Protocol):
    """Executions as the API creates, reads, cancels and resumes them."""

    async def create_execution(self, new: NewExecution, seeded: Mapping[str, NodeState] | None = None) -> str:
        """Inserts a pending execution (and, for a retry, the node results it reuses); returns its id."""
        ...

    async def create_keyed_execution(self, new: NewExecution, key: IdempotencyKey) -> KeyedExecution:
        """Like ``create_execution``, unless ``key`` is recorded and younger than its ttl: then the execution
        it names, and nothing is created. The execution and its key commit in one transaction, so requests
        racing with one key (from any number of hub processes) create one execution."""
        ...

    async def execution(self, execution_id: str) -> dict[str, Any]:
        """The ``GET /api/executions/{id}`` body, read in one snapshot so ``lastSeq`` matches the state."""
        ...

    async def status(self, execution_id: str) -> ExecutionStatus: ...

    async def list_executions(
        self, *, workflow_id: str | None, status: str | None, organization_id: str | None, limit: int
    ) -> list[dict[str, Any]]: ...

    async def node_output(self, execution_id: str, node_id: str) -> Any: ...

    async def completed_nodes(self, execution_id: str) -> dict[str, NodeState]:
        """The nodes that completed, for a retry to reuse (skipped ones are decided again)."""
        ...

    async def run_parameters(self, execution_id: str) -> dict[str, Any]:
        """What an execution was started with, so that a retry can start the same way."""
        ...

    async def request_cancel(self, execution_id: str) -> tuple[ExecutionStatus, list[Event]]:
        """Cancels at once what no worker runs; flags a running execution for its worker to stop."""
        ...

    async def resume_node(self, execution_id: str, node_id: str, body: Any) -> ExecutionStatus:
        """Records the call a waiting webhook node was waiting for; its body becomes the node's output."""
        ...


class EventLog(Protocol):
    """Each execution's gapless sequence of events."""

    async def events_after(self, execution_id: str, after: int, limit: int = 1000) -> list[Event]: ...

    async def last_seqs(self, execution_ids: list[str]) -> dict[str, int]:
        """The stored ``lastSeq`` of each execution (unknown ids are left out)."""
        ...

    async def append_event(
        self,
        execution_id: str,
        event_type: EventType,
        data: Mapping[str, Any],
        *,
        owner: str | None = None,
        node_id: str | None = None,
    ) -> Event:
        """Stores an event that changes no state (a log line, progress, a delivery attempt)."""
        ...


class RunLedger(Protocol):
    """What workers write while they run executions: leases, node states, endings, sweeps.

    Every write with an ``owner`` is fenced: it raises ``LeaseLost`` when another worker holds the lease.
    """

    async def claim(
        self,
        execution_id: str,
        owner: str,
        lease_seconds: float,
        *,
        job_id: str | None = None,
        max_recoveries: int = 5,
    ) -> Claim | None:
        """Takes the lease on a runnable execution. ``None`` when it is finished, owned, or not yet due."""
        ...

    async def renew(self, execution_id: str, owner: str, lease_seconds: float) -> Renewal: ...

    async def hand_back(self, execution_id: str, owner: str, reason: str) -> list[Event]:
        """Gives up the lease on a running execution so that another worker resumes it at once."""
        ...

    async def load_run_state(self, execution_id: str) -> RunState: ...

    def node_started(
        self, execution_id: str, owner: str, node_id: str, node_type: str, label: str, attempt: int
    ) -> asyncio.Future[Event]:
        """Queued at once: the future resolves when the start committed."""
        ...

    async def node_event(
        self,
        execution_id: str,
        owner: str,
        node_id: str,
        event_type: EventType,
        data: Mapping[str, Any],
        *,
        attempts: int | None = None,
    ) -> Event:
        """A node event that changes no counters: progress, log, retrying, timeout."""
        ...

    def node_completed(
        self,
        execution_id: str,
        owner: str,
        node_id: str,
        *,
        output_json: str,
        branch: str | None,
        message: str,
        duration: float,
        data: Mapping[str, Any],
    ) -> asyncio.Future[Event]:
        """Queued at once; ``data`` is read when the write runs, so it must not change meanwhile."""
        ...

    async def node_failed(
        self,
        execution_id: str,
        owner: str,
        node_id: str,
        *,
        error: str,
        duration: float,
        data: Mapping[str, Any],
        status: str = "failed",
    ) -> Event: ...

    async def nodes_skipped(
        self, execution_id: str, owner: str, nodes: Sequence[tuple[str, str, str]], reason: str
    ) -> list[Event]:
        """Marks ``(node id, type, label)`` nodes skipped, one event each, in one transaction."""
        ...

    async def node_waiting(
        self, execution_id: str, owner: str, node_id: str, resume_at: float | None, data: Mapping[str, Any]
    ) -> Event: ...

    async def park(self, execution_id: str, owner: str) -> list[Event]:
        """Ends a run whose remaining nodes all wait; no events when a waiting node is already due."""
        ...

    async def finish(
        self,
        execution_id: str,
        owner: str | None,
        status: ExecutionStatus,
        *,
        final_output: Any = None,
        error: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Event:
        """Moves an execution to a terminal state, releases its lease and writes its deliveries."""
        ...

    async def stop(self, execution_id: str, owner: str, status: ExecutionStatus, reason: str) -> Event:
        """A worker ends the execution it owns early: on a cancel request, or past its deadline."""
        ...

    async def sweep(self, pending_older_than: float) -> Sweep: ...

    async def fail_overdue(self) -> list[Event]:
        """Fails executions that no worker runs and whose ``maxDurationSeconds`` has passed."""
        ...


class Outbox(Protocol):
    """Completion webhooks and push notifications, written with the terminal state and sent by workers."""

    async def claim_due(self, *, lock_seconds: float, limit: int = 20) -> list[Delivery]:
        """Due deliveries, locked for ``lock_seconds`` so that no other worker sends them meanwhile."""
        ...

    async def record(
        self, delivery_id: str, *, status: DeliveryStatus, attempts: int, next_attempt_at: float, error: str | None
    ) -> None: ...


class PushSubscriptions(Protocol):
    """Web Push subscriptions, turned into deliveries when an execution they cover ends."""

    async def add(self, subscription: Mapping[str, Any], target: PushTarget) -> str:
        """Stores a subscription (again, harmlessly); returns its id."""
        ...

    async def remove(self, endpoint: str, target: PushTarget) -> int: ...

    async def forget_endpoint(self, endpoint: str) -> None:
        """Removes every subscription of an endpoint the push service says is gone."""
        ...

    async def get(self, subscription_id: str) -> dict[str, Any] | None: ...


class FileMetadata(Protocol):
    """The metadata of uploaded files; their bytes live elsewhere."""

    async def add(self, record: FileRecord) -> None: ...

    async def get(self, file_id: str) -> FileRecord | None: ...


class Storage(Workflows, Executions, EventLog, RunLedger, Protocol):
    """Everything the hub and the workers store, on one database."""

    @property
    def outbox(self) -> Outbox: ...

    @property
    def push(self) -> PushSubscriptions: ...

    @property
    def files(self) -> FileMetadata: ...

    def records(self, organization_id: str | None) -> RecordStore:
        """The records of one organization (of executions without one, for ``None``)."""
        ...

    async def ping(self) -> None: ...

    async def schema_version(self) -> int:
        """The schema version the database is at (0 for an empty database)."""
        ...

    async def close(self) -> None: ...
