"""Execution events: the types, the one serialised form, and the status lifecycle they report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson


class EventType(StrEnum):
    EXECUTION_STARTED = "execution.started"
    EXECUTION_COMPLETED = "execution.completed"
    EXECUTION_FAILED = "execution.failed"
    EXECUTION_CANCELLED = "execution.cancelled"
    EXECUTION_WAITING = "execution.waiting"
    EXECUTION_RESUMED = "execution.resumed"
    EXECUTION_RECOVERED = "execution.recovered"
    NODE_STARTED = "node.started"
    NODE_PROGRESS = "node.progress"
    NODE_COMPLETED = "node.completed"
    NODE_FAILED = "node.failed"
    NODE_SKIPPED = "node.skipped"
    NODE_RETRYING = "node.retrying"
    NODE_TIMEOUT = "node.timeout"
    NODE_WAITING = "node.waiting"
    LOG = "log"
    WEBHOOK_DELIVERY = "webhook.delivery"


TERMINAL_EVENTS = frozenset({EventType.EXECUTION_COMPLETED, EventType.EXECUTION_FAILED, EventType.EXECUTION_CANCELLED})


class ExecutionStatus(StrEnum):
    """An execution's lifecycle. Terminal states are final: nothing, recovery included, leaves them."""

    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL

    def can_become(self, other: ExecutionStatus) -> bool:
        return other in _TRANSITIONS[self]


_TERMINAL = frozenset({ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED})
_TRANSITIONS: dict[ExecutionStatus, frozenset[ExecutionStatus]] = {
    ExecutionStatus.PENDING: frozenset({ExecutionStatus.RUNNING, ExecutionStatus.CANCELLED, ExecutionStatus.FAILED}),
    ExecutionStatus.RUNNING: frozenset(
        {
            ExecutionStatus.RUNNING,
            ExecutionStatus.WAITING,
            ExecutionStatus.COMPLETED,
            ExecutionStatus.FAILED,
            ExecutionStatus.CANCELLED,
        }
    ),
    ExecutionStatus.WAITING: frozenset({ExecutionStatus.RUNNING, ExecutionStatus.CANCELLED, ExecutionStatus.FAILED}),
    ExecutionStatus.COMPLETED: frozenset(),
    ExecutionStatus.FAILED: frozenset(),
    ExecutionStatus.CANCELLED: frozenset(),
}


def utc_now() -> str:
    """The hub's one timestamp format: ISO 8601 in UTC with milliseconds, sortable as text."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def dumps(value: Any) -> str:
    """JSON text for storage and the wire; any value that is not JSON becomes its string form."""
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def loads(text: str | bytes | None) -> Any:
    return None if text is None else orjson.loads(text)


@dataclass(frozen=True, slots=True)
class Event:
    """One stored event. ``json`` is its wire form, made once and sent as is to every socket."""

    execution_id: str
    seq: int
    type: str
    node_id: str | None
    timestamp: str
    json: str

    @property
    def terminal(self) -> bool:
        return self.type in TERMINAL_EVENTS

    @staticmethod
    def wire(execution_id: str, seq: int, type: str, node_id: str | None, timestamp: str, data: str) -> str:
        """The wire form, built around already serialised ``data`` so nothing is encoded twice."""
        node = f',"nodeId":{dumps(node_id)}' if node_id is not None else ""
        return (
            f'{{"seq":{seq},"type":"{type}","executionId":{dumps(execution_id)}{node},'
            f'"timestamp":"{timestamp}","data":{data}}}'
        )

    @classmethod
    def parse(cls, text: str | bytes) -> Event:
        body = orjson.loads(text)
        raw = text.decode() if isinstance(text, bytes) else text
        return cls(body["executionId"], body["seq"], body["type"], body.get("nodeId"), body["timestamp"], raw)
