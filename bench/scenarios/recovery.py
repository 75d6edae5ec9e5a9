"""Scenario 8: from SIGKILL of the worker running an execution to the execution running again elsewhere."""

from __future__ import annotations

import statistics
import time

from bench.context import Bench
from bench.report import Figure, Goal, Target
from bench.scenarios._hub import cancel, epoch, execute, wait_until
from bench.stack import BenchStack
from bench.workflows import slow_chain

_NODE_MS = 20_000


def _running_node(stack: BenchStack, execution_id: str) -> str | None:
    """The lease owner once the slow node has started, so that the kill lands mid-node."""
    rows = stack.query(
        """SELECT e.leaseOwner FROM workflow_executions e JOIN execution_events v ON v.executionId = e.id
           WHERE e.id = ? AND v.type = 'node.started' AND v.nodeId = 'call0'""",
        (execution_id,),
    )
    return str(rows[0][0]) if rows and rows[0][0] else None


def _recovered_at(stack: BenchStack, execution_id: str) -> float | None:
    rows = stack.query(
        "SELECT timestamp FROM execution_events WHERE executionId = ? AND type = 'execution.recovered'", (execution_id,)
    )
    return epoch(rows[0][0]) if rows else None


def _once(stack: BenchStack, service_url: str) -> float:
    execution_id = execute(stack.url, slow_chain(service_url, 1, _NODE_MS))
    wait_until(lambda: _running_node(stack, execution_id) is not None, "the slow node to start", 120)
    owner = _running_node(stack, execution_id)
    assert owner is not None
    pid = int(owner.split(":")[1])
    victim = next(worker for worker in stack.workers if worker.pid == pid)
    killed = time.time()
    victim.kill()
    stack.workers.remove(victim)
    wait_until(lambda: _recovered_at(stack, execution_id) is not None, "the execution to be recovered", 300)
    recovered = _recovered_at(stack, execution_id)
    assert recovered is not None
    cancel(stack.url, execution_id)
    stack.start_worker()
    return recovered - killed


def recovery(bench: Bench) -> list[Figure]:
    scale = bench.scale
    lease = scale.lease_seconds
    service, service_url = bench.web_server("slow-service", None, on_system=False)
    try:
        with bench.stack(HUB_ENGINE="native", HUB_WORKER_LEASE_SECONDS=f"{lease:g}") as stack:
            stack.start_worker()
            stack.start_worker()
            with bench.measuring("recovery", stack.processes()):
                times = [_once(stack, service_url) for _ in range(scale.recovery_runs)]
    finally:
        service.stop()
    return [
        Figure(
            "8",
            "8. recovery after SIGKILL",
            statistics.median(times),
            "s",
            lease,
            "the lease",
            Target(Goal.AT_MOST, lease + 10, "s"),
            f"HUB_WORKER_LEASE_SECONDS={lease:g} (default 30), 2 workers, median of {len(times)}: "
            + ", ".join(f"{t:.1f}" for t in times),
            "recovery",
        )
    ]
