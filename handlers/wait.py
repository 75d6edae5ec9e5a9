"""``wait``: pauses the execution for ``config.seconds`` or until ``config.until`` (an ISO time).

The runner stores the node as waiting and ends the job: a waiting execution holds no worker. A timer
(a deferred job, repaired by the sweeper) resumes it, and the node's output is its input.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from handlers._validation import optional_number
from handlers.contract import ConfigProblem, NodeContext, NodeError, NodeResult, Suspend
from handlers.templating import is_template


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def validate(config: Mapping[str, Any]) -> list[ConfigProblem]:
    seconds, until = config.get("seconds"), config.get("until")
    if (seconds is None) == (until is None):
        return [ConfigProblem("seconds", "give either seconds or until (an ISO time), not both or neither")]
    if until is not None:
        if not isinstance(until, str):
            return [ConfigProblem("until", "until must be an ISO 8601 time such as 2030-01-31T09:00:00Z")]
        if not is_template(until):
            try:
                _parse_time(until)
            except ValueError:
                return [ConfigProblem("until", f"until is not an ISO 8601 time: {until!r}")]
        return []
    return optional_number(config, "seconds", minimum=0)


async def run(ctx: NodeContext) -> NodeResult:
    if ctx.config.get("until") is not None:
        try:
            resume_at = _parse_time(str(ctx.config["until"]))
        except ValueError:
            raise NodeError(f"config.until is not an ISO 8601 time: {ctx.config['until']!r}") from None
    else:
        try:
            seconds = float(ctx.config["seconds"])
        except (TypeError, ValueError):
            raise NodeError(f"config.seconds must be a number, got {ctx.config['seconds']!r}") from None
        resume_at = datetime.now(UTC) + timedelta(seconds=seconds)
    if resume_at <= datetime.now(UTC):
        return NodeResult(True, "Nothing to wait for", ctx.input)
    when = resume_at.astimezone(UTC).isoformat(timespec="seconds")
    return NodeResult(True, f"Waiting until {when}", ctx.input, suspend=Suspend(resume_at))
