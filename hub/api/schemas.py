"""The shapes of the API's JSON bodies, as typed dicts: the handlers build their answers with them (so mypy
checks every field), and ``hub.api.openapi`` turns the same classes into the document's JSON Schemas.

Answers are closed (``extra="forbid"``): a field a handler adds without adding it here fails the contract
tests, since the document would not say it exists.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import ConfigDict, WithJsonSchema, with_config
from typing_extensions import TypedDict

from handlers.registry import NODE_TYPES
from hub.events import EventType, ExecutionStatus

_CLOSED = ConfigDict(extra="forbid")

NodeTypeName = Annotated[str, WithJsonSchema({"type": "string", "enum": sorted(NODE_TYPES)})]
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "description": "ISO 8601 in UTC"})]


@with_config(_CLOSED)
class Problem(TypedDict):
    """One thing wrong with a request, at a path such as ``nodes[3].config.url``."""

    path: str
    message: str


@with_config(_CLOSED)
class Error(TypedDict):
    """Every 4xx answer; a 422 also lists each problem with its path."""

    error: str
    problems: NotRequired[list[Problem]]


@with_config(_CLOSED)
class Invalid(TypedDict):
    """A 422: the request or workflow has problems, all of them listed."""

    error: str
    problems: list[Problem]


class WorkflowNodeData(TypedDict):
    """React Flow's ``data``: the label, config and (optionally) the type live here in that shape."""

    type: NotRequired[NodeTypeName]
    label: NotRequired[str]
    config: NotRequired[dict[str, Any]]


class WorkflowNode(TypedDict):
    """One node. ``config`` is checked by its node type (see the README's node reference)."""

    id: str
    type: NodeTypeName
    label: NotRequired[str]
    config: NotRequired[dict[str, Any] | None]
    data: NotRequired[WorkflowNodeData]


class Connection(TypedDict):
    fromNodeId: str
    toNodeId: str
    outputType: NotRequired[str | None]


class Edge(TypedDict):
    """React Flow's form of a connection."""

    source: str
    target: str
    sourceHandle: NotRequired[str | None]


class Workflow(TypedDict):
    """A workflow definition, in ours (``connections``) or React Flow's (``edges``) shape."""

    id: NotRequired[str]
    name: NotRequired[str]
    nodes: list[WorkflowNode]
    connections: NotRequired[list[Connection]]
    edges: NotRequired[list[Edge]]


class StoredWorkflow(TypedDict):
    """A stored definition, normalised to our shape."""

    id: str
    name: str
    nodes: list[WorkflowNode]
    connections: list[Connection]
    organizationId: str | None
    createdAt: Timestamp
    updatedAt: Timestamp


@with_config(_CLOSED)
class Accepted(TypedDict):
    """An execution was stored and queued; watch it on ``websocketUrl`` or poll ``eventsUrl``."""

    executionId: str
    workflowId: str
    status: Literal[ExecutionStatus.PENDING]
    message: str
    backgroundExecution: bool
    statusUrl: str
    eventsUrl: str
    websocketUrl: str
    retryOf: NotRequired[str]


@with_config(_CLOSED)
class Progress(TypedDict):
    totalNodes: int
    completedNodes: int
    failedNodes: int
    skippedNodes: int
    percentage: int


@with_config(_CLOSED)
class ExecutionSummary(TypedDict):
    """An execution in a list: no logs, no outputs."""

    executionId: str
    workflowId: str
    workflowName: str | None
    organizationId: str | None
    status: ExecutionStatus
    currentNodeId: str | None
    progress: Progress
    createdAt: Timestamp
    startedAt: Timestamp | None
    completedAt: Timestamp | None
    error: str | None
    retryOf: str | None
    lastSeq: int


@with_config(_CLOSED)
class NodeState(TypedDict):
    nodeId: str
    nodeType: str
    label: str
    status: str
    duration: float | None
    attempts: int
    error: str | None


@with_config(_CLOSED)
class NodeLog(TypedDict):
    """One node's stored run."""

    nodeId: str
    nodeType: str
    nodeLabel: str | None
    status: str
    message: str | None
    duration: float | None
    timestamp: Timestamp | None
    attempts: int
    error: str | None


@with_config(_CLOSED)
class ExecutionDetail(ExecutionSummary):
    """One execution: the summary plus its final output, logs and every node's state."""

    finalOutput: Any
    resumeAt: Timestamp | None
    engine: str
    nodes: list[NodeState]
    logs: list[NodeLog]


@with_config(_CLOSED)
class Event(TypedDict):
    """One event of an execution; seq starts at 1 and rises by one, with no gap. ``data`` depends on
    ``type``, as the README's Live channel table says."""

    seq: int
    type: EventType
    executionId: str
    nodeId: NotRequired[str]
    timestamp: Timestamp
    data: dict[str, Any]


@with_config(_CLOSED)
class EventPage(TypedDict):
    """The stored events with seq greater than ``after``, in order."""

    executionId: str
    status: ExecutionStatus
    after: int
    events: list[Event]


@with_config(_CLOSED)
class ExecutionList(TypedDict):
    executions: list[ExecutionSummary]
    count: int


@with_config(_CLOSED)
class Cancelled(TypedDict):
    """200 when nothing was running; 202 with ``cancelRequested`` while the worker stops the running node."""

    executionId: str
    status: ExecutionStatus
    message: str
    cancelRequested: NotRequired[bool]


@with_config(_CLOSED)
class Resumed(TypedDict):
    executionId: str
    nodeId: str
    status: Literal["resuming"]
    message: str


@with_config(_CLOSED)
class StoredFile(TypedDict):
    """An uploaded file's metadata; ``contentType`` is the type its content shows."""

    fileId: str
    name: str
    size: int
    contentType: str
    organizationId: str | None
    createdAt: Timestamp


@with_config(_CLOSED)
class Example(TypedDict):
    id: str
    name: str
    description: str
    inputs: dict[str, Any]
    workflow: dict[str, Any]


@with_config(_CLOSED)
class ExampleList(TypedDict):
    examples: list[Example]
    count: int


@with_config(_CLOSED)
class Health(TypedDict):
    """Whether the hub can run workflows now; 503 with ``available: false`` and what is down."""

    available: bool
    redis: bool
    database: bool
    workers: int
    engine: str
    liveSockets: int
    message: str


@with_config(_CLOSED)
class VapidPublicKey(TypedDict):
    publicKey: str


class PushKeys(TypedDict):
    p256dh: Annotated[str, WithJsonSchema({"type": "string", "description": "65 bytes, base64url"})]
    auth: Annotated[str, WithJsonSchema({"type": "string", "description": "16 bytes, base64url"})]


class PushSubscription(TypedDict):
    """The browser's ``PushSubscription.toJSON()``."""

    endpoint: Annotated[str, WithJsonSchema({"type": "string", "format": "uri", "pattern": "^https?://"})]
    keys: PushKeys
    expirationTime: NotRequired[float | None]


@with_config(_CLOSED)
class Subscribed(TypedDict):
    subscriptionId: str
    executionId: str | None
    organizationId: str | None
    scope: str


@with_config(_CLOSED)
class Unsubscribed(TypedDict):
    removed: int
    scope: str


@with_config(_CLOSED)
class Snapshot(TypedDict):
    """The socket's first message when it is opened without ``after``."""

    type: Literal["snapshot"]
    execution: ExecutionDetail
