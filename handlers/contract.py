"""The contract between the graph runner and a node type.

A node type is a module with an async ``run(ctx) -> NodeResult`` and, when its config can be wrong,
a ``validate(config) -> list[ConfigProblem]`` that the hub calls before anything is queued. Handlers
know nothing of Redis, SQLite or Prefect: everything they may touch arrives on the ``NodeContext``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import httpx

    from handlers.settings import NodeSettings


class NodeError(Exception):
    """Raised by a handler when its node fails; the message is shown to the person who runs the workflow."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with a node's config; ``path`` is relative to the config (``url``, ``fields.a``)."""

    path: str
    message: str


@dataclass(frozen=True, slots=True)
class Suspend:
    """Asks the runner to park the node: until ``resume_at``, or until a resume call when it is ``None``."""

    resume_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NodeResult:
    """What a node produced. ``branch`` names the outgoing connections to follow (a condition's true/false)."""

    success: bool
    message: str
    output_data: Any = None
    branch: str | None = None
    suspend: Suspend | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"success": self.success, "message": self.message, "outputData": self.output_data}


@dataclass(frozen=True, slots=True)
class Scope:
    """What templates and expressions may read: the node's input, the request inputs, earlier outputs."""

    input: Any
    inputs: Mapping[str, Any]
    nodes: Mapping[str, Any]
    execution: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"input": self.input, "inputs": self.inputs, "nodes": self.nodes, "execution": self.execution}


LogFunction = Callable[[str, str], Awaitable[None]]
ProgressFunction = Callable[[Mapping[str, Any]], Awaitable[None]]


RECORD_FIELD = re.compile(r"^\w[\w \-]{0,127}$")
"""A field name that saveRecords and fetchData accept: letters, digits, ``_``, spaces and ``-``, at most 128."""

FILTER_OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "contains", "in")


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """``field op value``; ``value`` is a JSON scalar (a list of them for ``in``)."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class RecordOrder:
    field: str
    descending: bool = False


@dataclass(frozen=True, slots=True)
class SavedRecords:
    inserted: int
    updated: int


class RecordStore(Protocol):
    """The records table that saveRecords and fetchData share, scoped to the execution's organization.

    Field names must match ``RECORD_FIELD``; a store raises ``ValueError`` for any other.
    """

    async def save(
        self, entity: str, records: Sequence[Mapping[str, Any]], *, upsert_key: str | None = None
    ) -> SavedRecords:
        """Inserts every record; with ``upsert_key``, replaces the record whose field has the same value."""
        ...

    async def fetch(
        self,
        entity: str,
        *,
        filters: Sequence[RecordFilter] = (),
        order_by: Sequence[RecordOrder] = (),
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The records matching every filter, in ``order_by`` order (then oldest first)."""
        ...


@dataclass(frozen=True, slots=True)
class StoredFile:
    """An uploaded file as a handler sees it: a local path to read in a thread, never the bytes in memory.

    The path is good only inside the ``FileStore.open`` block that gave it (it may be a spooled copy)."""

    file_id: str
    name: str
    content_type: str
    size: int
    path: str


class FileStore(Protocol):
    """Uploaded files of the execution's organization."""

    def open(self, file_id: str) -> AbstractAsyncContextManager[StoredFile]:
        """The file, readable while the block runs; raises ``NodeError`` naming the id when the organization
        has no such file or the file store cannot give its content."""
        ...


class Resources(Protocol):
    """Long-lived clients a worker keeps between executions (a MySQL pool, an OpenAI client)."""

    async def get(self, key: str, open_resource: Callable[[], Awaitable[Any]]) -> Any: ...


@dataclass(frozen=True, slots=True)
class NodeContext:
    """Everything a handler may use while its node runs."""

    execution_id: str
    organization_id: str | None
    node_id: str
    node_type: str
    label: str
    config: Mapping[str, Any]
    input: Any
    scope: Scope
    settings: NodeSettings
    http: httpx.AsyncClient
    log: LogFunction
    progress: ProgressFunction
    resources: Resources
    records: RecordStore | None = None
    files: FileStore | None = None
    attempt: int = 1
    branches: tuple[Any, ...] = ()
    """The outputs of every incoming connection that was taken, in connection order."""


class NodeRun(Protocol):
    def __call__(self, ctx: NodeContext, /) -> Awaitable[NodeResult]: ...


class ConfigValidator(Protocol):
    def __call__(self, config: Mapping[str, Any], /) -> list[ConfigProblem]: ...


class SettingsValidator(Protocol):
    """Checks a config against the hub's settings (a named connection exists), when the hub knows them."""

    def __call__(self, config: Mapping[str, Any], settings: NodeSettings, /) -> list[ConfigProblem]: ...
