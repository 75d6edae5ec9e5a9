"""Workflow definitions: both accepted shapes normalised into one, and every problem found before queueing.

Accepted shapes: ours (``nodes[].config``, ``connections[{fromNodeId, toNodeId, outputType}]``) and React
Flow's (``nodes[].data.{label, config}``, ``edges[{source, target, sourceHandle}]``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from handlers.registry import NODE_TYPES, Registry
from handlers.settings import NodeSettings, TemplateLimits
from hub.errors import InvalidRequest, Problem


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    type: str
    label: str
    config: Mapping[str, Any]

    @property
    def retries(self) -> int:
        return int(self.config.get("retries") or 0)

    @property
    def retry_delay_seconds(self) -> float:
        return float(self.config.get("retryDelaySeconds") or 0)

    @property
    def timeout_seconds(self) -> float | None:
        value = self.config.get("timeoutSeconds")
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "label": self.label, "config": dict(self.config)}


@dataclass(frozen=True, slots=True)
class Connection:
    source: str
    target: str
    output_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"fromNodeId": self.source, "toNodeId": self.target}
        if self.output_type is not None:
            body["outputType"] = self.output_type
        return body


@dataclass(frozen=True)
class Workflow:
    """A validated graph: ids are unique, every connection joins two nodes, and there is no cycle."""

    id: str
    name: str
    nodes: tuple[Node, ...]
    connections: tuple[Connection, ...] = field(default=())

    @cached_property
    def by_id(self) -> dict[str, Node]:
        return {node.id: node for node in self.nodes}

    @cached_property
    def incoming(self) -> dict[str, list[Connection]]:
        found: dict[str, list[Connection]] = {node.id: [] for node in self.nodes}
        for connection in self.connections:
            found[connection.target].append(connection)
        return found

    @cached_property
    def outgoing(self) -> dict[str, list[Connection]]:
        found: dict[str, list[Connection]] = {node.id: [] for node in self.nodes}
        for connection in self.connections:
            found[connection.source].append(connection)
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "nodes": [node.to_dict() for node in self.nodes],
            "connections": [connection.to_dict() for connection in self.connections],
        }


@dataclass(frozen=True, slots=True)
class WorkflowLimits:
    """How large a definition a client may send (``HUB_MAX_NODES``, ``HUB_MAX_CONNECTIONS``)."""

    max_nodes: int
    max_connections: int

    def problems(self, data: Mapping[str, Any]) -> list[Problem]:
        found = []
        for key, most, setting in (
            ("nodes", self.max_nodes, "HUB_MAX_NODES"),
            ("connections", self.max_connections, "HUB_MAX_CONNECTIONS"),
            ("edges", self.max_connections, "HUB_MAX_CONNECTIONS"),
        ):
            items = data.get(key)
            if isinstance(items, list) and len(items) > most:
                message = f"a workflow may have at most {most} {key} ({setting}); this one has {len(items)}"
                found.append(Problem(key, message))
        return found


def parse_workflow(
    data: Any,
    *,
    workflow_id: str | None = None,
    registry: Registry = NODE_TYPES,
    settings: NodeSettings | None = None,
    limits: WorkflowLimits | None = None,
) -> Workflow:
    """Normalise and validate a definition; raises ``InvalidRequest`` listing every problem with its path.

    With ``settings``, configs are also checked against them (a mysql node's connection must exist). With
    ``limits``, a definition over them is refused before any node is looked at.
    """
    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        raise InvalidRequest("The workflow is not valid", [Problem("workflow", "must be an object")])
    if limits is not None and (too_large := limits.problems(data)):
        raise InvalidRequest("The workflow is too large", too_large)
    nodes = _parse_nodes(data.get("nodes"), registry, problems, settings)
    connections = _parse_connections(data, {node.id for node in nodes}, problems)
    if nodes and not problems:
        _check_graph(nodes, connections, problems)
    if problems:
        raise InvalidRequest(f"The workflow has {len(problems)} problem(s)", problems)
    identifier = workflow_id or _text(data.get("id")) or ""
    name = _text(data.get("name")) or identifier
    return Workflow(identifier, name, tuple(nodes), tuple(connections))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _parse_nodes(
    raw: Any, registry: Registry, problems: list[Problem], settings: NodeSettings | None = None
) -> list[Node]:
    if not isinstance(raw, list) or not raw:
        problems.append(Problem("nodes", "a workflow needs a non-empty list of nodes"))
        return []
    nodes: list[Node] = []
    seen: set[str] = set()
    limits = settings.templates if settings is not None else TemplateLimits()
    chars = 0
    for index, item in enumerate(raw):
        path = f"nodes[{index}]"
        if not isinstance(item, Mapping):
            problems.append(Problem(path, "each node must be an object"))
            continue
        data: Mapping[str, Any] = item["data"] if isinstance(item.get("data"), Mapping) else {}
        node_id = _text(item.get("id"))
        node_type = _text(item.get("type")) or _text(data.get("type"))
        inner_type = _text(data.get("type"))
        if node_type not in registry and inner_type is not None and inner_type in registry:
            node_type = inner_type
        config = item.get("config", data.get("config", {}))
        if node_id is None:
            problems.append(Problem(f"{path}.id", "id is required and must be a non-empty string"))
        elif node_id in seen:
            problems.append(Problem(f"{path}.id", f"id {node_id!r} is used by another node"))
        if node_type is None:
            problems.append(Problem(f"{path}.type", "type is required"))
        elif node_type not in registry:
            problems.append(Problem(f"{path}.type", f"unknown node type {node_type!r}"))
        if config is None:
            config = {}
        if not isinstance(config, Mapping):
            problems.append(Problem(f"{path}.config", "config must be an object"))
            continue
        if node_type is not None and node_type in registry:
            for problem in registry.validate(node_type, config, settings):
                problems.append(Problem(f"{path}.config.{problem.path}", problem.message))
            chars += registry.template_chars(node_type, config)
        if node_id is not None and node_type is not None:
            seen.add(node_id)
            label = _text(item.get("label")) or _text(data.get("label")) or node_id
            nodes.append(Node(node_id, node_type, label, dict(config)))
    if chars > limits.max_workflow_chars:
        problems.append(
            Problem(
                "nodes",
                f"the workflow's templates hold {chars:,} characters together; at most "
                f"{limits.max_workflow_chars:,} are allowed (HUB_TEMPLATE_MAX_WORKFLOW_CHARS)",
            )
        )
    return nodes


def _parse_connections(data: Mapping[str, Any], node_ids: set[str], problems: list[Problem]) -> list[Connection]:
    if "edges" in data and "connections" not in data:
        key, source_key, target_key, branch_key = "edges", "source", "target", "sourceHandle"
    else:
        key, source_key, target_key, branch_key = "connections", "fromNodeId", "toNodeId", "outputType"
    raw = data.get(key) or []
    if not isinstance(raw, list):
        problems.append(Problem(key, f"{key} must be a list"))
        return []
    connections: list[Connection] = []
    for index, item in enumerate(raw):
        path = f"{key}[{index}]"
        if not isinstance(item, Mapping):
            problems.append(Problem(path, "each connection must be an object"))
            continue
        ends: list[str] = []
        for end_key in (source_key, target_key):
            end = _text(item.get(end_key))
            if end is None:
                problems.append(Problem(f"{path}.{end_key}", f"{end_key} is required"))
            elif end not in node_ids:
                problems.append(Problem(f"{path}.{end_key}", f"no node has id {end!r}"))
            else:
                ends.append(end)
        branch = item.get(branch_key)
        if branch is not None and not isinstance(branch, str):
            problems.append(Problem(f"{path}.{branch_key}", f"{branch_key} must be a string"))
            continue
        if len(ends) == 2:
            connections.append(Connection(ends[0], ends[1], branch or None))
    return connections


def _check_graph(nodes: list[Node], connections: list[Connection], problems: list[Problem]) -> None:
    indegree = {node.id: 0 for node in nodes}
    outgoing: dict[str, list[str]] = {node.id: [] for node in nodes}
    for connection in connections:
        indegree[connection.target] += 1
        outgoing[connection.source].append(connection.target)
    if not any(count == 0 for count in indegree.values()):
        problems.append(Problem("nodes", "no start node: every node has an incoming connection"))
    ready = [node_id for node_id, count in indegree.items() if count == 0]
    while ready:
        for target in outgoing[ready.pop()]:
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
    in_cycle = [node_id for node_id, count in indegree.items() if count > 0]
    if in_cycle:
        problems.append(Problem("connections", f"the connections form a cycle through {', '.join(in_cycle)}"))
