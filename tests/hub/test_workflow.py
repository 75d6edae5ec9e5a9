"""Workflow definitions: both shapes normalised to one, every problem reported with its path."""

from __future__ import annotations

import pytest

from hub.errors import InvalidRequest
from hub.workflow import parse_workflow


def _paths(definition: dict[str, object]) -> dict[str, str]:
    with pytest.raises(InvalidRequest) as raised:
        parse_workflow(definition)
    return {problem.path: problem.message for problem in raised.value.problems}


def test_both_shapes_normalise_to_the_same_workflow() -> None:
    ours = parse_workflow(
        {
            "id": "w",
            "nodes": [
                {"id": "a", "type": "trigger", "label": "A", "config": {}},
                {"id": "b", "type": "condition", "label": "B", "config": {"expression": "true"}},
            ],
            "connections": [{"fromNodeId": "a", "toNodeId": "b", "outputType": "true"}],
        }
    )
    react_flow = parse_workflow(
        {
            "id": "w",
            "nodes": [
                {"id": "a", "type": "trigger", "data": {"label": "A", "config": {}}},
                {"id": "b", "type": "condition", "data": {"label": "B", "config": {"expression": "true"}}},
            ],
            "edges": [{"id": "e", "source": "a", "target": "b", "sourceHandle": "true"}],
        }
    )
    assert ours.to_dict() == react_flow.to_dict()


def test_every_problem_is_listed_at_once() -> None:
    problems = _paths(
        {
            "nodes": [{"id": "a", "type": "trigger"}, {"id": "a", "type": "nope"}, {"type": "http", "config": {}}],
            "connections": [{"fromNodeId": "a", "toNodeId": "ghost"}, "junk"],
        }
    )
    assert set(problems) == {
        "nodes[1].id",
        "nodes[1].type",
        "nodes[2].id",
        "nodes[2].config.url",
        "connections[0].toNodeId",
        "connections[1]",
    }


def test_a_cycle_names_the_nodes_in_it() -> None:
    problems = _paths(
        {
            "nodes": [{"id": n, "type": "comment"} for n in "abc"],
            "connections": [
                {"fromNodeId": "a", "toNodeId": "b"},
                {"fromNodeId": "b", "toNodeId": "c"},
                {"fromNodeId": "c", "toNodeId": "b"},
            ],
        }
    )
    assert "b, c" in problems["connections"]


def test_an_empty_or_non_object_workflow_is_refused() -> None:
    assert "nodes" in _paths({"nodes": []})
    with pytest.raises(InvalidRequest):
        parse_workflow(["not", "an", "object"])
