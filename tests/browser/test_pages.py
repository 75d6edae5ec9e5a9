"""What the hub serves for the viewer: its pages, its service worker and the example workflows."""

from __future__ import annotations

from hub.workflow import parse_workflow
from tests.support import HubClient


async def test_the_examples_endpoint_lists_every_example_with_a_valid_workflow(hub: HubClient) -> None:
    response = await hub.http.get("/api/examples")
    assert response.status_code == 200
    examples = {example["id"]: example for example in response.json()["examples"]}
    assert {"weather-alert", "order-triage", "llm-summary"} <= set(examples)
    for example in examples.values():
        assert example["name"] and example["description"]
        assert "sampleInputs" not in example["workflow"]
        parse_workflow(example["workflow"])
    assert examples["weather-alert"]["inputs"] == {"temperature": 35}


async def test_an_example_runs_as_it_is_listed(hub: HubClient) -> None:
    example = next(e for e in (await hub.http.get("/api/examples")).json()["examples"] if e["id"] == "order-triage")
    body = await hub.wait_for(await hub.execute(example["workflow"], example["inputs"]))
    assert body["status"] == "completed", body
    assert body["finalOutput"]["result"]["priority"] == "high"


async def test_the_viewer_pages_and_the_service_worker_are_served(hub: HubClient) -> None:
    for path in ("/ui", "/ui/executions/any-id"):
        response = await hub.http.get(path)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    worker = await hub.http.get("/ui/sw.js")
    assert worker.status_code == 200 and "javascript" in worker.headers["content-type"]
    assert (await hub.http.get("/static/hub-client.js")).status_code == 200
