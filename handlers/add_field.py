"""``addField``: sets ``config.fields`` (already rendered) on the input object, or on every record of a list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers._validation import optional_mapping
from handlers.contract import ConfigProblem, NodeContext, NodeError, NodeResult


def validate(config: Mapping[str, Any]) -> list[ConfigProblem]:
    return optional_mapping(config, "fields", required=True)


async def run(ctx: NodeContext) -> NodeResult:
    fields = ctx.config["fields"]
    if not isinstance(fields, Mapping):
        raise NodeError("config.fields must render to an object")
    data = ctx.input
    if data is None:
        result: Any = dict(fields)
    elif isinstance(data, Mapping):
        result = {**data, **fields}
    elif isinstance(data, list) and all(isinstance(item, Mapping) for item in data):
        result = [{**item, **fields} for item in data]
    else:
        raise NodeError(f"addField needs an object or a list of objects as input, got {type(data).__name__}")
    return NodeResult(True, f"Added {len(fields)} field(s)", result)
