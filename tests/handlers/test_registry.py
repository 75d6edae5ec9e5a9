"""The registry: one line per node type, and no name twice."""

from __future__ import annotations

import pytest

from handlers import comment
from handlers.registry import NODE_TYPES, NodeType, Registry


def test_registering_a_name_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        Registry([NodeType("comment", comment.run), NodeType("comment", comment.run)])


def test_every_node_type_of_the_system_we_replace_is_registered() -> None:
    expected = {
        "trigger",
        "manualInput",
        "output",
        "http",
        "llm",
        "condition",
        "addField",
        "join",
        "webhook",
        "comment",
        "fetchData",
        "excelInput",
        "pdfInput",
        "saveRecords",
        "mysql",
        "sendEmail",
        "sendSMS",
        "splitColumns",
        "esios",
        "climatiq",
        "wait",
    }
    assert expected <= set(NODE_TYPES)


def test_runner_keys_are_checked_for_every_type() -> None:
    problems = NODE_TYPES.validate("comment", {"retries": -1, "retryDelaySeconds": "soon", "timeoutSeconds": 0})
    assert {problem.path for problem in problems} == {"retries", "retryDelaySeconds", "timeoutSeconds"}
