"""The registry of node types: one line per type, and the checks every config gets before it is queued."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from handlers import (
    add_field,
    climatiq,
    comment,
    condition,
    esios,
    excel_input,
    fetch_data,
    http,
    join,
    llm,
    manual_input,
    mysql,
    output,
    pdf_input,
    save_records,
    send_email,
    send_sms,
    split_columns,
    trigger,
    wait,
    webhook,
)
from handlers._validation import optional_integer, optional_number
from handlers.contract import ConfigProblem, ConfigValidator, NodeRun, SettingsValidator
from handlers.settings import NodeSettings, TemplateLimits
from handlers.templating import template_chars, template_problems

RUNNER_KEYS = frozenset({"retries", "retryDelaySeconds", "timeoutSeconds"})


@dataclass(frozen=True, slots=True)
class NodeType:
    """A node type: how it runs, how its config is checked, and which config keys are not templates."""

    name: str
    run: NodeRun
    validate: ConfigValidator | None = None
    raw_keys: frozenset[str] = frozenset()
    check_settings: SettingsValidator | None = None
    expressions: frozenset[str] = frozenset()
    """Raw keys that hold condition expressions, checked for syntax and length like templates."""


class Registry:
    """Node types by name. Registering a name twice is a programming error and raises at import."""

    def __init__(self, node_types: Iterable[NodeType]) -> None:
        self._types: dict[str, NodeType] = {}
        for node_type in node_types:
            if node_type.name in self._types:
                raise ValueError(f"node type {node_type.name!r} is registered twice")
            self._types[node_type.name] = node_type

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __iter__(self) -> Iterator[str]:
        return iter(self._types)

    def get(self, name: str) -> NodeType:
        return self._types[name]

    def validate(
        self, name: str, config: Mapping[str, Any], settings: NodeSettings | None = None
    ) -> list[ConfigProblem]:
        """Every problem in a node's config: runner keys, template syntax, the type's own checks, and with
        ``settings`` what those settings must provide (a connection the config names)."""
        node_type = self._types[name]
        limits = settings.templates if settings is not None else TemplateLimits()
        problems = [
            *optional_integer(config, "retries", minimum=0, maximum=100),
            *optional_number(config, "retryDelaySeconds", minimum=0, maximum=86_400),
            *optional_number(config, "timeoutSeconds", minimum=0.001),
            *template_problems(config, raw_keys=node_type.raw_keys, expressions=node_type.expressions, limits=limits),
        ]
        if node_type.validate is not None:
            problems.extend(node_type.validate(config))
        if settings is not None and node_type.check_settings is not None:
            problems.extend(node_type.check_settings(config, settings))
        return problems

    def template_chars(self, name: str, config: Mapping[str, Any]) -> int:
        """The characters of templates and expressions in a node's config, for the per-workflow cap."""
        return template_chars(config, self._types[name].expressions)


NODE_TYPES = Registry(
    [
        NodeType("trigger", trigger.run),
        NodeType("manualInput", manual_input.run),
        NodeType("output", output.run),
        NodeType("http", http.run, http.validate),
        NodeType("llm", llm.run, llm.validate),
        NodeType(
            "condition",
            condition.run,
            condition.validate,
            raw_keys=condition.EXPRESSIONS,
            expressions=condition.EXPRESSIONS,
        ),
        NodeType("addField", add_field.run, add_field.validate),
        NodeType("join", join.run, join.validate),
        NodeType("webhook", webhook.run, webhook.validate),
        NodeType("wait", wait.run, wait.validate),
        NodeType("comment", comment.run),
        NodeType("excelInput", excel_input.run, excel_input.validate),
        NodeType("pdfInput", pdf_input.run, pdf_input.validate),
        NodeType("splitColumns", split_columns.run, split_columns.validate),
        NodeType("saveRecords", save_records.run, save_records.validate),
        NodeType("fetchData", fetch_data.run, fetch_data.validate),
        NodeType("mysql", mysql.run, mysql.validate, raw_keys=mysql.RAW_KEYS, check_settings=mysql.check_settings),
        NodeType("sendEmail", send_email.run, send_email.validate),
        NodeType("sendSMS", send_sms.run, send_sms.validate),
        NodeType("esios", esios.run, esios.validate),
        NodeType("climatiq", climatiq.run, climatiq.validate, raw_keys=climatiq.RAW_KEYS),
    ]
)
