"""``llm``: a chat completion through the openai SDK, against OpenAI or any compatible server.

With ``config.stream`` the tokens go out live as progress events, a batch every 50 ms at most, so a
fast model does not turn into one stored event per token.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import openai

from handlers._validation import optional_bool, optional_integer, optional_number, optional_string, required_string
from handlers.contract import ConfigProblem, NodeContext, NodeError, NodeResult

_FLUSH_SECONDS = 0.05


def validate(config: Mapping[str, Any]) -> list[ConfigProblem]:
    problems = required_string(config, "model") + optional_string(config, "system")
    prompt, messages = config.get("prompt"), config.get("messages")
    if messages is None and not (isinstance(prompt, str) and prompt.strip()):
        problems.append(ConfigProblem("prompt", "prompt is required (or give messages)"))
    if messages is not None and not isinstance(messages, list | str):
        problems.append(ConfigProblem("messages", "messages must be a list of {role, content}"))
    if isinstance(messages, list):
        for index, message in enumerate(messages):
            if not isinstance(message, Mapping) or "role" not in message or "content" not in message:
                problems.append(ConfigProblem(f"messages[{index}]", "each message needs role and content"))
    problems += optional_number(config, "temperature", minimum=0, maximum=2)
    problems += optional_integer(config, "maxTokens", minimum=1)
    problems += optional_bool(config, "stream")
    return problems


def _messages(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    messages = config.get("messages")
    if isinstance(messages, list):
        result = [dict(message) for message in messages]
    else:
        result = [{"role": "user", "content": str(config.get("prompt", ""))}]
    if config.get("system"):
        result.insert(0, {"role": "system", "content": str(config["system"])})
    return result


async def _client(ctx: NodeContext) -> openai.AsyncOpenAI:
    settings = ctx.settings.openai
    if not settings.api_key:
        raise NodeError("OPENAI_API_KEY is not set; the llm node needs it in the environment or .env")

    async def open_client() -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            api_key=settings.api_key, base_url=settings.base_url, timeout=settings.timeout_seconds, max_retries=0
        )

    client: openai.AsyncOpenAI = await ctx.resources.get(f"openai:{settings.base_url}", open_client)
    return client


def _usage(usage: Any) -> dict[str, Any] | None:
    if usage is None:
        return None
    return {
        "promptTokens": usage.prompt_tokens,
        "completionTokens": usage.completion_tokens,
        "totalTokens": usage.total_tokens,
    }


async def run(ctx: NodeContext) -> NodeResult:
    client = await _client(ctx)
    request: dict[str, Any] = {"model": ctx.config["model"], "messages": _messages(ctx.config)}
    if ctx.config.get("temperature") is not None:
        request["temperature"] = float(ctx.config["temperature"])
    if ctx.config.get("maxTokens") is not None:
        request["max_tokens"] = int(ctx.config["maxTokens"])
    try:
        if ctx.config.get("stream"):
            output = await _stream(ctx, client, request)
        else:
            completion = await client.chat.completions.create(**request)
            choice = completion.choices[0]
            output = {
                "text": choice.message.content or "",
                "model": completion.model,
                "finishReason": choice.finish_reason,
                "usage": _usage(completion.usage),
            }
    except openai.APIStatusError as error:
        raise NodeError(f"The model server answered {error.status_code}: {_api_message(error)}") from None
    except openai.APITimeoutError:
        raise NodeError(f"The model server did not answer within {ctx.settings.openai.timeout_seconds:g} s") from None
    except openai.APIConnectionError:
        raise NodeError(f"Could not reach the model server at {client.base_url}") from None
    return NodeResult(True, f"{output['model']} answered", output)


async def _stream(ctx: NodeContext, client: openai.AsyncOpenAI, request: dict[str, Any]) -> dict[str, Any]:
    stream = await client.chat.completions.create(**request, stream=True, stream_options={"include_usage": True})
    parts: list[str] = []
    pending: list[str] = []
    model, finish_reason, usage = request["model"], None, None
    last_flush = time.monotonic()
    async for chunk in stream:
        model = chunk.model or model
        usage = chunk.usage or usage
        for choice in chunk.choices:
            finish_reason = choice.finish_reason or finish_reason
            if choice.delta.content:
                parts.append(choice.delta.content)
                pending.append(choice.delta.content)
        if pending and time.monotonic() - last_flush >= _FLUSH_SECONDS:
            await ctx.progress({"delta": "".join(pending)})
            pending.clear()
            last_flush = time.monotonic()
    if pending:
        await ctx.progress({"delta": "".join(pending)})
    return {"text": "".join(parts), "model": model, "finishReason": finish_reason, "usage": _usage(usage)}


def _api_message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, Mapping):
        detail = body.get("error", body)
        if isinstance(detail, Mapping) and detail.get("message"):
            return str(detail["message"])
    return str(error.message)
