"""The storage contract, RunLedger and EventLog: leases, node states, endings, sweeps and the event log."""

from __future__ import annotations

import asyncio
import time

import pytest

from hub.errors import LeaseLost
from hub.events import EventType, ExecutionStatus
from hub.settings import Settings
from hub.storage import DeliveryKind, Storage, open_storage
from hub.workflow import Workflow
from tests.storage.conftest import new_execution

OWNER, OTHER = "worker-a", "worker-b"


async def _running(storage: Storage, workflow: Workflow, **fields: object) -> str:
    execution_id = await storage.create_execution(new_execution(workflow, **fields))
    assert await storage.claim(execution_id, OWNER, 60) is not None
    return execution_id


async def test_claiming_a_pending_execution_starts_it_with_seq_1(storage: Storage, workflow: Workflow) -> None:
    execution_id = await storage.create_execution(new_execution(workflow))
    claim = await storage.claim(execution_id, OWNER, 60, job_id="job-1")
    assert claim is not None and (claim.recovered, claim.resumed, claim.runnable) == (False, False, True)
    assert [(event.seq, event.type) for event in claim.events] == [(1, "execution.started")]
    assert await storage.status(execution_id) is ExecutionStatus.RUNNING


async def test_an_execution_leased_to_a_live_worker_cannot_be_claimed(storage: Storage, workflow: Workflow) -> None:
    execution_id = await _running(storage, workflow)
    assert await storage.claim(execution_id, OTHER, 60) is None


async def test_an_expired_lease_is_recovered_by_another_worker(storage: Storage, workflow: Workflow) -> None:
    execution_id = await storage.create_execution(new_execution(workflow))
    await storage.claim(execution_id, OWNER, -1, job_id="job-1")
    assert [execution for execution, _ in (await storage.sweep(600)).expired_leases] == [execution_id]
    claim = await storage.claim(execution_id, OTHER, 60, job_id="job-2")
    assert claim is not None and claim.recovered
    assert claim.previous_job_id == "job-1"
    assert claim.events[0].type == "execution.recovered"


async def test_an_execution_whose_workers_keep_dying_is_failed_instead_of_claimed(
    storage: Storage, workflow: Workflow
) -> None:
    execution_id = await storage.create_execution(new_execution(workflow))
    await storage.claim(execution_id, OWNER, -1)
    claim = await storage.claim(execution_id, OTHER, 60, max_recoveries=0)
    assert claim is not None and not claim.runnable
    assert await storage.status(execution_id) is ExecutionStatus.FAILED


async def test_a_finished_or_unknown_execution_is_not_claimed(storage: Storage, workflow: Workflow) -> None:
    execution_id = await _running(storage, workflow)
    await storage.finish(execution_id, OWNER, ExecutionStatus.COMPLETED)
    assert await storage.claim(execution_id, OWNER, 60) is None
    assert await storage.claim("missing", OWNER, 60) is None


async def test_of_two_stores_claiming_one_execution_at_once_exactly_one_wins(
    storage: Storage, storage_settings: Settings, workflow: Workflow
) -> None:
    second = await open_storage(storage_settings)
    try:
        execution_ids = [await storage.create_execution(new_execution(workflow)) for _ in range(10)]
        for execution_id in execution_ids:
            claims = await asyncio.gather(storage.claim(execution_id, OWNER, 60), second.claim(execution_id, OTHER, 60))
            assert sum(claim is not None for claim in claims) == 1
            assert [event.seq for event in await storage.events_after(execution_id, 0)] == [1]
    finally:
        await second.close()


async def test_renewing_keeps_the_lease_only_for_its_owner(storage: Storage, workflow: Workflow) -> None:
    execution_id = await _running(storage, workflow)
    renewal = await storage.renew(execution_id, OWNER, 60)
    assert (renewal.alive, renewal.cancel_requested) == (True, False)
    assert not (await storage.renew(execution_id, OTHER, 60)).alive


async def test_a_handed_back_execution_is_claimable_at_once(storage: Storage, workflow: Workflow) -> None:
    execution_id = await _running(storage, workflow)
    assert [event.type for event in await storage.hand_back(execution_id, OWNER, "shutting down")] == ["log"]
    claim = await storage.claim(execution_id, OTHER, 60)
    assert claim is not None and claim.recovered


async def test_a_write_by_a_worker_that_lost_the_lease_raises_lease_lost(storage: Storage, workflow: Workflow) -> None:
    execution_id = await _running(storage, workflow)
    with pytest.raises(LeaseLost):
        await storage.node_started(execution_id, OTHER, "start", "trigger", "start", 1)
    with pytest.raises(LeaseLost):
        await storage.finish(execution_id, OTHER, ExecutionStatus.COMPLETED)


async def test_node_states_are_written_with_gapless_events_and_load_back(storage: Storage, workflow: Workflow) -> None:
    execution_id = await _running(storage, workflow)
    await storage.node_started(execution_id, OWNER, "start", "trigger", "start", 1)
    await storage.node_event(execution_id, OWNER, "start", EventType.NODE_PROGRESS, {"done": 1}, attempts=2)
    await storage.node_completed(
        execution_id, OWNER, "start", output_json='{"x": 1}', branch="yes", message="ok", duration=0.1, data={}
    )
    await storage.node_started(execution_id, OWNER, "pause", "wait", "pause", 1)
    failed = await storage.node_failed(execution_id, OWNER, "pause", error="boom", duration=0.2, data={})
    skipped = await storage.nodes_skipped(execution_id, OWNER, [("end", "output", "end")], "upstream failed")
    events = await storage.events_after(execution_id, 0)
    assert [event.seq for event in events] == list(range(1, 8))
    assert [event.type for event in events][-2:] == ["node.failed", "node.skipped"]
    assert failed.seq == 6 and [event.seq for event in skipped] == [7]
    state = await storage.load_run_state(execution_id)
    assert (state.nodes["start"].status, state.nodes["start"].output, state.nodes["start"].branch) == (
        "completed",
        {"x": 1},
        "yes",
    )
    assert (state.nodes["pause"].status, state.nodes["end"].status) == ("failed", "skipped")
    progress = (await storage.execution(execution_id))["progress"]
    assert (progress["completedNodes"], progress["failedNodes"], progress["skippedNodes"]) == (1, 1, 1)


async def test_events_after_a_cursor_and_last_seqs(storage: Storage, workflow: Workflow) -> None:
    execution_id = await _running(storage, workflow)
    await storage.append_event(execution_id, EventType.LOG, {"message": "one"}, owner=OWNER)
    await storage.append_event(execution_id, EventType.LOG, {"message": "two"})
    assert [event.seq for event in await storage.events_after(execution_id, 1)] == [2, 3]
    assert [event.seq for event in await storage.events_after(execution_id, 0, limit=2)] == [1, 2]
    assert await storage.last_seqs([execution_id, "missing"]) == {execution_id: 3}
    assert await storage.last_seqs([]) == {}


async def test_a_run_whose_nodes_wait_parks_without_a_lease_and_is_due_at_its_time(
    storage: Storage, workflow: Workflow
) -> None:
    execution_id = await _running(storage, workflow)
    await storage.node_started(execution_id, OWNER, "pause", "wait", "pause", 1)
    await storage.node_waiting(execution_id, OWNER, "pause", time.time() + 600, {"seconds": 600})
    parked = await storage.park(execution_id, OWNER)
    assert [event.type for event in parked] == ["execution.waiting"]
    assert await storage.status(execution_id) is ExecutionStatus.WAITING
    assert await storage.claim(execution_id, OTHER, 60) is None
    assert (await storage.sweep(600)).due_waits == []
    assert (await storage.load_run_state(execution_id)).nodes["pause"].status == "waiting"


async def test_a_run_whose_waiting_node_is_already_due_does_not_park(storage: Storage, workflow: Workflow) -> None:
    execution_id = await _running(storage, workflow)
    await storage.node_started(execution_id, OWNER, "pause", "wait", "pause", 1)
    await storage.node_waiting(execution_id, OWNER, "pause", time.time() - 1, {})
    assert await storage.park(execution_id, OWNER) == []


async def test_finishing_writes_the_terminal_state_and_its_deliveries_together(
    storage: Storage, workflow: Workflow
) -> None:
    execution_id = await _running(storage, workflow, callback_url="http://127.0.0.1:9/hook")
    event = await storage.finish(execution_id, OWNER, ExecutionStatus.COMPLETED, final_output={"done": True})
    assert event.type == "execution.completed"
    body = await storage.execution(execution_id)
    assert (body["status"], body["finalOutput"], body["progress"]["percentage"]) == ("completed", {"done": True}, 100)
    due = await storage.outbox.claim_due(lock_seconds=60)
    assert [(delivery.execution_id, delivery.kind, delivery.target) for delivery in due] == [
        (execution_id, DeliveryKind.WEBHOOK, "http://127.0.0.1:9/hook")
    ]


async def test_a_worker_stopping_its_execution_cancels_the_nodes_in_flight(
    storage: Storage, workflow: Workflow
) -> None:
    execution_id = await _running(storage, workflow)
    await storage.node_started(execution_id, OWNER, "start", "trigger", "start", 1)
    event = await storage.stop(execution_id, OWNER, ExecutionStatus.FAILED, "past its deadline")
    assert event.type == "execution.failed"
    assert (await storage.load_run_state(execution_id)).nodes["start"].status == "cancelled"


async def test_a_pending_execution_nobody_took_is_swept(storage: Storage, workflow: Workflow) -> None:
    execution_id = await storage.create_execution(new_execution(workflow))
    assert (await storage.sweep(-60)).stale_pending == [execution_id]
    assert (await storage.sweep(600)).stale_pending == []


async def test_a_waiting_execution_past_its_deadline_is_failed_by_the_sweep(
    storage: Storage, workflow: Workflow
) -> None:
    # A negative duration puts the deadline in the past the moment the execution is claimed.
    execution_id = await storage.create_execution(new_execution(workflow, max_duration_seconds=-1.0))
    await storage.claim(execution_id, OWNER, 60)
    await storage.node_started(execution_id, OWNER, "pause", "wait", "pause", 1)
    await storage.node_waiting(execution_id, OWNER, "pause", time.time() + 600, {})
    await storage.park(execution_id, OWNER)
    events = await storage.fail_overdue()
    assert [(event.execution_id, event.type) for event in events] == [(execution_id, "execution.failed")]
    assert await storage.status(execution_id) is ExecutionStatus.FAILED
    assert await storage.fail_overdue() == []
