"""Scenario 7: POST /api/workflows/execute under 100 concurrent clients, beside a minimal Starlette endpoint.

Each client sends its next request as soon as it has the answer to the last one (a closed loop), so the
latency includes the time a request waits for the server behind the 99 others.
"""

from __future__ import annotations

from bench.context import Bench
from bench.report import Figure, Goal, Target, percentile
from bench.scenarios._hub import execute
from bench.workflows import chain, execute_body

_CLIENT_PROCESSES = 4


def _load(bench: Bench, figure: str, url: str, processes: dict[str, int]) -> tuple[list[float], float, dict[str, int]]:
    scale = bench.scale
    per_process = scale.rest_clients // _CLIENT_PROCESSES
    arguments = [
        {
            "url": f"{url}/api/workflows/execute",
            "warmUrl": f"{url}/api/health",
            "body": execute_body(chain(5)),
            "concurrency": per_process,
            "count": scale.rest_requests // _CLIENT_PROCESSES,
        }
        for _ in range(_CLIENT_PROCESSES)
    ]
    clients = bench.clients("posts", arguments)
    clients.wait_ready()
    with bench.measuring(figure, processes):
        clients.send("go")
        results = clients.results()
    bench.client_cpu(figure, results)
    latencies = [value for result in results for value in result["latenciesMs"]]
    statuses: dict[str, int] = {}
    for result in results:
        for code, number in result["statuses"].items():
            statuses[code] = statuses.get(code, 0) + number
    seconds = max(r["finished"] for r in results) - min(r["started"] for r in results)
    return latencies, len(latencies) / seconds, statuses


def rest(bench: Bench) -> list[Figure]:
    """On a hub with no worker: what is measured is the hub's own answer, not a worker competing for its core."""
    scale = bench.scale
    with bench.stack(HUB_ENGINE="native") as stack:
        for _ in range(5):
            execute(stack.url, chain(5))
        hub, hub_rate, statuses = _load(bench, "REST", stack.url, stack.processes())
    server, url = bench.web_server("baseline-rest", None)
    try:
        bare, bare_rate, _ = _load(bench, "baseline REST", url, {"baseline server": server.pid})
    finally:
        server.stop()
    note = (
        f"{len(hub)} POSTs from {scale.rest_clients} closed-loop clients in {_CLIENT_PROCESSES} processes; "
        f"{hub_rate:.0f} req/s (baseline {bare_rate:.0f} req/s); statuses {statuses}"
    )
    return [
        _figure("7. REST POST execute p50", hub, bare, 50, None, note),
        _figure("7. REST POST execute p99", hub, bare, 99, Target(Goal.AT_MOST, 50, "ms"), note),
    ]


def _figure(name: str, hub: list[float], bare: list[float], percent: int, target: Target | None, note: str) -> Figure:
    return Figure(
        "7",
        name,
        percentile(hub, percent),
        "ms",
        percentile(bare, percent),
        "minimal Starlette POST",
        target,
        note,
        "REST",
    )
