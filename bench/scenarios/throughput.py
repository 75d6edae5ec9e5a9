"""Scenarios 1, 2 and 3: executions a second on one worker, and milliseconds per node, beside bare arq,
a bare Prefect flow, a bare asyncio call chain and bare Prefect tasks."""

from __future__ import annotations

import statistics
import subprocess
import sys
import uuid

import orjson

from bench.context import Bench
from bench.cores import pinned
from bench.processes import ROOT, Spawned, clean_environment
from bench.report import Figure, Goal, Target
from bench.scenarios._hub import (
    arq_finish_times,
    arq_queue_length,
    epoch,
    execute,
    finished_count,
    run_arq_job,
    wait_finished,
    wait_until,
)
from bench.stack import BenchStack
from bench.workflows import chain, execute_body

_POSTERS = 20
_BASELINE_QUEUE = "bench:arq"


def hub_rate(bench: Bench, stack: BenchStack, figure: str, count: int, timeout: float) -> tuple[float, str]:
    """Executions a second, from the first POST to the last ``completedAt`` in the store."""
    before = finished_count(stack)
    posters = bench.clients(
        "posts",
        [
            {
                "url": f"{stack.url}/api/workflows/execute",
                "warmUrl": f"{stack.url}/api/health",
                "body": execute_body(chain(5)),
                "concurrency": _POSTERS,
                "count": count,
            }
        ],
    )
    posters.wait_ready()
    with bench.measuring(figure, stack.processes()):
        posters.send("go")
        results = posters.results()
        wait_finished(stack, before + count, timeout)
    bench.client_cpu(figure, results)
    started = results[0]["started"]
    rows = stack.query(
        "SELECT count(*) AS done, max(completedAt) AS last FROM workflow_executions WHERE status = 'completed'"
    )
    failed = before + count - int(rows[0]["done"])
    note = f"{count} executions of trigger -> addField x3 -> output, posted by {_POSTERS} connections"
    if failed:
        note += f"; {failed} did not complete"
    return count / (epoch(rows[0]["last"]) - started), note


def arq_rate(bench: Bench, stack: BenchStack, worker: Spawned, figure: str, function: str, count: int) -> float:
    """Bare arq jobs a second on one bare worker (already running), from the first enqueue to the last finish."""
    redis_url, timeout = stack.redis.url, 1800
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    enqueuer = bench.clients(
        "enqueue",
        [
            {
                "redisUrl": redis_url,
                "queue": _BASELINE_QUEUE,
                "function": function,
                "args": [],
                "count": count,
                "concurrency": _POSTERS,
                "jobPrefix": prefix,
            }
        ],
    )
    enqueuer.wait_ready()
    with bench.measuring(figure, {"baseline worker": worker.pid, "redis": stack.processes()["redis"]}):
        enqueuer.send("go")
        results = enqueuer.results()
        wait_until(lambda: arq_queue_length(redis_url, _BASELINE_QUEUE) == 0, "the bare arq queue to drain", timeout)
        wait_until(lambda: len(arq_finish_times(redis_url, prefix)) >= count, "every bare arq job", timeout)
    bench.client_cpu(figure, results)
    started: float = results[0]["started"]
    finished: float = max(arq_finish_times(redis_url, prefix))
    return count / (finished - started)


def arq_worker(bench: Bench, redis_url: str, prefect_home: str | None = None) -> Spawned:
    """Starts the bare arq worker; ``wait_ready`` tells when it takes jobs."""
    arguments = ["-m", "bench.baselines.arq_worker", "--redis", redis_url, "--queue", _BASELINE_QUEUE]
    if prefect_home:
        arguments += ["--prefect-home", prefect_home]
    return bench.server("baseline-arq-worker", arguments)


def wait_ready(redis_url: str) -> None:
    """Returns once the bare worker has run one job (after its Prefect warm-up, if it has one)."""
    run_arq_job(redis_url, _BASELINE_QUEUE, "noop", timeout=300)


def hub_ms_per_node(stack: BenchStack, nodes: int, runs: int, timeout: float) -> float:
    """The median over ``runs`` of (completedAt - startedAt) / nodes for a linear graph, one run at a time."""
    per_node = []
    for _ in range(runs):
        before = finished_count(stack)
        execution_id = execute(stack.url, chain(nodes))
        wait_finished(stack, before + 1, timeout)
        row = stack.query(
            "SELECT status, startedAt, completedAt FROM workflow_executions WHERE id = ?", (execution_id,)
        )[0]
        if row["status"] != "completed":
            raise RuntimeError(f"the {nodes}-node execution ended {row['status']}")
        per_node.append((epoch(row["completedAt"]) - epoch(row["startedAt"])) * 1000 / nodes)
    return statistics.median(per_node)


def bare_chain_ms_per_node(bench: Bench, nodes: int, runs: int) -> float:
    """The bare asyncio call chain, in its own process on the system core."""
    output = subprocess.run(
        [sys.executable, "-m", "bench.baselines.chain", "--nodes", str(nodes), "--repeat", str(max(runs, 5))],
        env=clean_environment(),
        cwd=ROOT,
        capture_output=True,
        check=True,
        preexec_fn=pinned(bench.cores.system),
    )
    value: float = orjson.loads(output.stdout)["msPerNode"]
    return value


def native(bench: Bench) -> list[Figure]:
    """Scenario 1 (on SQLite and on PostgreSQL, against the same bare-arq baseline) and the native half of
    scenario 3, on one hub and one worker with HUB_ENGINE=native."""
    scale = bench.scale
    with bench.stack(HUB_ENGINE="native") as stack:
        stack.start_worker()
        worker = arq_worker(bench, stack.redis.url)
        try:
            wait_ready(stack.redis.url)
            baseline = arq_rate(bench, stack, worker, "bare arq no-op jobs", "noop", scale.arq_jobs)
        finally:
            worker.stop()
        rate, note = hub_rate(bench, stack, "throughput, native", scale.native_executions, 1200)
        with bench.measuring("per-node, native", stack.processes()):
            per_node = hub_ms_per_node(stack, scale.chain_nodes, scale.chain_runs, 600)
    with bench.stack(postgres=True, HUB_ENGINE="native") as stack:
        stack.start_worker()
        postgres_rate, postgres_note = hub_rate(
            bench, stack, "throughput, native, PostgreSQL", scale.native_executions, 1200
        )
    bare = bare_chain_ms_per_node(bench, scale.chain_nodes, scale.chain_runs)
    return [
        Figure(
            "1",
            "1. throughput, native engine",
            rate,
            "exec/s",
            baseline,
            "bare arq no-op jobs/s",
            Target(Goal.RATIO_AT_LEAST, 0.25),
            note,
            section="throughput, native",
        ),
        Figure(
            "1",
            "1. throughput, native engine, PostgreSQL",
            postgres_rate,
            "exec/s",
            baseline,
            "bare arq no-op jobs/s",
            Target(Goal.RATIO_AT_LEAST, 0.25),
            f"{postgres_note}; the machine's PostgreSQL 15 on 127.0.0.1, not pinned to the system core",
            section="throughput, native, PostgreSQL",
        ),
        Figure(
            "3",
            "3. per-node time, native engine",
            per_node,
            "ms/node",
            bare,
            "bare asyncio call chain",
            Target(Goal.OVERHEAD_AT_MOST, 0.5, "ms/node"),
            f"a {scale.chain_nodes}-node linear graph (trigger, addField..., output), "
            f"median of {scale.chain_runs} runs",
            section="per-node, native",
        ),
    ]


def prefect(bench: Bench) -> list[Figure]:
    """Scenario 2 and the Prefect half of scenario 3, with HUB_ENGINE=prefect and each worker's own Prefect server."""
    scale = bench.scale
    with bench.stack(HUB_ENGINE="prefect") as stack:
        # Both Prefect servers start at once: each takes several seconds, and the bench has three minutes.
        worker = arq_worker(bench, stack.redis.url, str(stack.directory / "baseline-prefect"))
        try:
            stack.start_worker()
            wait_ready(stack.redis.url)
            baseline = arq_rate(bench, stack, worker, "bare Prefect flows", "five", scale.prefect_executions)
            bare_seconds = [
                run_arq_job(stack.redis.url, _BASELINE_QUEUE, "chain", scale.prefect_chain_nodes, timeout=1800)
                for _ in range(scale.prefect_chain_runs)
            ]
        finally:
            worker.stop()
        rate, note = hub_rate(bench, stack, "throughput, prefect", scale.prefect_executions, 1800)
        with bench.measuring("per-node, prefect", stack.processes()):
            per_node = hub_ms_per_node(stack, scale.prefect_chain_nodes, scale.prefect_chain_runs, 1800)
    bare = statistics.median(bare_seconds) * 1000 / scale.prefect_chain_nodes
    return [
        Figure(
            "2",
            "2. throughput, Prefect engine",
            rate,
            "exec/s",
            baseline,
            "bare Prefect flows of 5 tasks/s on arq",
            Target(Goal.RATIO_AT_LEAST, 0.9),
            note,
            section="throughput, prefect",
        ),
        Figure(
            "3",
            "3. per-node time, Prefect engine",
            per_node,
            "ms/node",
            bare,
            "bare Prefect tasks",
            None,
            f"a {scale.prefect_chain_nodes}-node linear graph, median of {scale.prefect_chain_runs} run(s)",
            section="per-node, prefect",
        ),
    ]
