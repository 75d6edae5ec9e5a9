"""The llm node through the real openai SDK, against a local OpenAI-compatible server."""

from __future__ import annotations

from tests.conftest import OPENAI_KEY
from tests.fakes import OpenAIService
from tests.support import HubClient, linear


async def test_llm_node_returns_the_completion(client: HubClient, openai_service: tuple[OpenAIService, str]) -> None:
    workflow = linear(
        ("start", "trigger", {}),
        (
            "ask",
            "llm",
            {
                "model": "gpt-test",
                "prompt": "Summarise {{ input.topic }}",
                "system": "Be brief",
                "temperature": 0.2,
                "maxTokens": 50,
            },
        ),
    )
    body = await client.wait_for(await client.execute(workflow, {"topic": "tides"}))
    assert body["status"] == "completed", body
    answer = body["finalOutput"]["ask"]
    assert answer["text"] == "Echo: Summarise tides"
    assert answer["usage"]["totalTokens"] > 0
    request = openai_service[0].requests[-1]
    assert request["messages"][0] == {"role": "system", "content": "Be brief"}
    assert request["max_tokens"] == 50


async def test_llm_node_streams_tokens_as_progress_events(client: HubClient) -> None:
    prompt = "one two three four five six"
    workflow = linear(("start", "trigger", {}), ("ask", "llm", {"model": "gpt-test", "prompt": prompt, "stream": True}))
    execution_id = await client.execute(workflow)
    events = [e for e in await client.watch(execution_id, after=0) if e["type"] == "node.progress"]
    assert len(events) >= 2
    assert "".join(e["data"]["delta"] for e in events) == f"Echo: {prompt}"
    body = await client.execution(execution_id)
    assert body["finalOutput"]["ask"]["text"] == f"Echo: {prompt}"


async def test_the_api_key_never_reaches_events_or_stored_outputs(client: HubClient) -> None:
    workflow = linear(("start", "trigger", {}), ("leak", "addField", {"fields": {"note": OPENAI_KEY}}))
    execution_id = await client.execute(workflow)
    body = await client.wait_for(execution_id)
    assert OPENAI_KEY not in str(body)
    assert OPENAI_KEY not in str(await client.events(execution_id))
    assert body["finalOutput"]["leak"]["note"] == "***"
