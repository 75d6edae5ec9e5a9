"""The storage contract, Workflows and Executions: what the API creates, reads, cancels and resumes."""

from __future__ import annotations

import pytest

from hub.errors import Conflict, NotFound
from hub.events import ExecutionStatus
from hub.storage import NodeState, Storage
from hub.workflow import Workflow
from tests.storage.conftest import SECRET, new_execution

OWNER = "worker-a"


async def test_a_stored_workflow_reads_back_with_its_organization(storage: Storage, workflow: Workflow) -> None:
    stored = await storage.put_workflow(workflow, "org")
    assert (stored["id"], stored["organizationId"], [node["id"] for node in stored["nodes"]]) == (
        "wf",
        "org",
        ["start", "pause", "end"],
    )
    assert await storage.get_workflow("wf") == stored


async def test_storing_a_workflow_again_replaces_it_and_keeps_its_creation_time(
    storage: Storage, workflow: Workflow
) -> None:
    first = await storage.put_workflow(workflow, "org")
    second = await storage.put_workflow(workflow, "other")
    assert (second["organizationId"], second["createdAt"]) == ("other", first["createdAt"])


async def test_an_unknown_workflow_is_none(storage: Storage) -> None:
    assert await storage.get_workflow("missing") is None


async def test_a_new_execution_is_pending_with_its_nodes_counted(storage: Storage, workflow: Workflow) -> None:
    execution_id = await storage.create_execution(new_execution(workflow))
    body = await storage.execution(execution_id)
    assert (body["status"], body["progress"]["totalNodes"], body["lastSeq"]) == ("pending", 3, 0)
    assert [node["status"] for node in body["nodes"]] == ["pending", "pending", "pending"]
    assert await storage.status(execution_id) is ExecutionStatus.PENDING


async def test_a_secret_in_the_inputs_is_stored_redacted(storage: Storage, workflow: Workflow) -> None:
    execution_id = await storage.create_execution(new_execution(workflow, inputs={"token": SECRET}))
    assert SECRET not in str(await storage.run_parameters(execution_id))


async def test_an_unknown_execution_is_not_found(storage: Storage) -> None:
    with pytest.raises(NotFound):
        await storage.execution("missing")
    with pytest.raises(NotFound):
        await storage.status("missing")
    with pytest.raises(NotFound):
        await storage.run_parameters("missing")


async def test_a_retry_is_seeded_with_the_completed_nodes_it_reuses(storage: Storage, workflow: Workflow) -> None:
    seeded = {"start": NodeState("completed", {"x": 1})}
    execution_id = await storage.create_execution(new_execution(workflow, retry_of="earlier"), seeded)
    assert await storage.completed_nodes(execution_id) == {"start": NodeState("completed", {"x": 1}, None)}
    assert await storage.node_output(execution_id, "start") == {"x": 1}
    body = await storage.execution(execution_id)
    assert (body["retryOf"], body["progress"]["completedNodes"]) == ("earlier", 1)


async def test_a_node_that_has_not_run_has_no_output(storage: Storage, workflow: Workflow) -> None:
    execution_id = await storage.create_execution(new_execution(workflow))
    with pytest.raises(NotFound):
        await storage.node_output(execution_id, "start")


async def test_run_parameters_are_what_the_execution_was_started_with(storage: Storage, workflow: Workflow) -> None:
    new = new_execution(workflow, max_duration_seconds=60.0, callback_url="http://127.0.0.1:9/hook")
    parameters = await storage.run_parameters(await storage.create_execution(new))
    assert parameters["inputs"] == {"a": 1}
    assert (parameters["organizationId"], parameters["maxDurationSeconds"], parameters["callbackUrl"]) == (
        "org",
        60.0,
        "http://127.0.0.1:9/hook",
    )


async def test_executions_are_listed_newest_first_and_filtered(storage: Storage, workflow: Workflow) -> None:
    first = await storage.create_execution(new_execution(workflow))
    second = await storage.create_execution(new_execution(workflow, organization_id="other"))
    listed = await storage.list_executions(workflow_id="wf", status=None, organization_id=None, limit=10)
    assert {body["executionId"] for body in listed} == {first, second}
    assert listed[0]["createdAt"] >= listed[1]["createdAt"]
    only_other = await storage.list_executions(workflow_id=None, status="pending", organization_id="other", limit=10)
    assert [body["executionId"] for body in only_other] == [second]
    assert len(await storage.list_executions(workflow_id=None, status=None, organization_id=None, limit=1)) == 1


async def test_cancelling_a_pending_execution_cancels_it_at_once(storage: Storage, workflow: Workflow) -> None:
    execution_id = await storage.create_execution(new_execution(workflow))
    status, events = await storage.request_cancel(execution_id)
    assert status is ExecutionStatus.CANCELLED
    assert [event.type for event in events] == ["execution.cancelled"]
    assert await storage.status(execution_id) is ExecutionStatus.CANCELLED


async def test_cancelling_a_running_execution_flags_it_for_its_worker(storage: Storage, workflow: Workflow) -> None:
    execution_id = await storage.create_execution(new_execution(workflow))
    await storage.claim(execution_id, OWNER, 60)
    assert await storage.request_cancel(execution_id) == (ExecutionStatus.RUNNING, [])
    assert (await storage.renew(execution_id, OWNER, 60)).cancel_requested


async def test_cancelling_twice_is_harmless_and_a_finished_execution_cannot_be_cancelled(
    storage: Storage, workflow: Workflow
) -> None:
    cancelled = await storage.create_execution(new_execution(workflow))
    await storage.request_cancel(cancelled)
    assert await storage.request_cancel(cancelled) == (ExecutionStatus.CANCELLED, [])
    completed = await storage.create_execution(new_execution(workflow))
    await storage.claim(completed, OWNER, 60)
    await storage.finish(completed, OWNER, ExecutionStatus.COMPLETED)
    with pytest.raises(Conflict):
        await storage.request_cancel(completed)
    with pytest.raises(NotFound):
        await storage.request_cancel("missing")


async def test_a_resume_call_gives_the_waiting_node_its_output_and_makes_the_execution_due(
    storage: Storage, workflow: Workflow
) -> None:
    execution_id = await storage.create_execution(new_execution(workflow))
    await storage.claim(execution_id, OWNER, 60)
    await storage.node_started(execution_id, OWNER, "pause", "wait", "pause", 1)
    await storage.node_waiting(execution_id, OWNER, "pause", None, {})
    assert await storage.park(execution_id, OWNER) != []
    assert await storage.resume_node(execution_id, "pause", {"answer": 42}) is ExecutionStatus.WAITING
    assert await storage.node_output(execution_id, "pause") == {"answer": 42}
    assert [execution for execution, _ in (await storage.sweep(600)).due_waits] == [execution_id]


async def test_a_resume_call_for_a_node_that_is_not_waiting_is_a_conflict(storage: Storage, workflow: Workflow) -> None:
    execution_id = await storage.create_execution(new_execution(workflow))
    with pytest.raises(Conflict):
        await storage.resume_node(execution_id, "pause", {})
    with pytest.raises(NotFound):
        await storage.resume_node("missing", "pause", {})
