"""Scenarios 4, 5 and 6: live latency, fan-out and idle sockets, beside a minimal Starlette broadcast server.

The baseline server subscribes to the same Redis and keeps one queue per socket, as one writes it by hand.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from bench.context import Bench, split
from bench.processes import Spawned, rss_kib
from bench.report import Figure, Goal, Target, percentile
from bench.scenarios._hub import cancel, epoch, execute, status, wait_until
from bench.stack import BenchStack
from bench.workflows import slow_chain, waiting
from hub.keys import events_channel

_BASELINE_CHANNEL = "bench:events:"
_WARM_SOCKETS = 20


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _waiting_executions(stack: BenchStack, count: int) -> list[str]:
    ids = [execute(stack.url, waiting()) for _ in range(count)]
    wait_until(lambda: all(status(stack, i) == "waiting" for i in ids), "executions to wait for their webhook", 120)
    return ids


def _watchers(base: str, ids: list[str], sockets: int) -> list[str]:
    return [f"{base}/{ids[index % len(ids)]}" for index in range(sockets)]


def latency(
    bench: Bench, figure: str, urls: list[str], snapshot: bool, processes: dict[str, int], publisher: Any = None
) -> tuple[list[float], float]:
    """Milliseconds from each event's write to its arrival, for events written during the window; and when
    the window began."""
    scale = bench.scale
    arguments = [
        {"urls": chunk, "mode": "latency", "seconds": scale.live_seconds, "snapshot": snapshot}
        for chunk in split(urls, scale.sockets_per_client)
    ]
    sockets = bench.clients("sockets", arguments)
    sockets.wait_ready()
    with bench.measuring(figure, processes):
        sockets.send("go")
        if publisher is not None:
            publisher.send("go")
        results = sockets.results(timeout=scale.live_seconds + 300)
        if publisher is not None:
            publisher.results()
    bench.client_cpu(figure, results)
    return [value for result in results for value in result["latenciesMs"]], min(r["started"] for r in results)


def fanout(
    bench: Bench,
    figure: str,
    urls: list[str],
    snapshot: bool,
    streams: list[dict[str, Any]],
    redis_url: str,
    processes: dict[str, int],
) -> tuple[float, str]:
    """Deliveries a second of a burst of events published on every stream at once."""
    scale = bench.scale
    count = scale.fanout_events
    arguments = [
        {"urls": chunk, "mode": "count", "expect": count, "timeout": 600, "snapshot": snapshot}
        for chunk in split(urls, scale.sockets_per_client)
    ]
    sockets = bench.clients("sockets", arguments)
    publisher = bench.clients(
        "publisher", [{"redisUrl": redis_url, "mode": "burst", "streams": streams, "count": count}], on_system=True
    )
    sockets.wait_ready()
    publisher.wait_ready()
    with bench.measuring(figure, processes):
        sockets.send("go")
        published = publisher.send("go")
        publisher.results()
        results = sockets.results(timeout=900)
    bench.client_cpu(figure, results)
    received = sum(result["received"] for result in results)
    last = max(result["last"] for result in results)
    codes: dict[str, int] = {}
    for result in results:
        for code, number in result["closeCodes"].items():
            codes[code] = codes.get(code, 0) + number
    expected = len(urls) * count
    note = (
        f"{count} events on each of {len(streams)} executions to {len(urls)} sockets; {received}/{expected} delivered"
    )
    note += f"; close codes {codes}"
    return received / (last - published), note


def idle_kib(bench: Bench, pid: int, urls: list[str], snapshot: bool) -> float:
    """KiB of RSS per open, idle socket, over the server's RSS after a few sockets came and went."""
    warm = bench.clients("sockets", [{"urls": urls[:_WARM_SOCKETS], "mode": "idle", "snapshot": snapshot}])
    warm.wait_ready()
    warm.send("go")
    warm.send("stop")
    warm.results()
    time.sleep(1.0)
    before = rss_kib(pid)
    per_client = bench.scale.sockets_per_client * 2
    idle = bench.clients(
        "sockets", [{"urls": chunk, "mode": "idle", "snapshot": snapshot} for chunk in split(urls, per_client)]
    )
    idle.wait_ready(timeout=600)
    time.sleep(2.0)
    after = rss_kib(pid)
    idle.send("go")
    idle.send("stop")
    idle.results()
    return (after - before) / len(urls)


def live(bench: Bench) -> list[Figure]:
    """Scenarios 4 and 5, on one hub and one worker (native engine) watched by the same number of sockets."""
    service, service_url = bench.web_server("slow-service", None, on_system=False)
    try:
        with bench.stack(HUB_ENGINE="native") as stack:
            stack.start_worker()
            baseline, baseline_url = bench.web_server("baseline-broadcast", stack.redis.url)
            try:
                figures = _live(bench, stack, service_url, baseline, baseline_url)
            finally:
                baseline.stop()
    finally:
        service.stop()
    return figures


def _live(bench: Bench, stack: BenchStack, service_url: str, baseline: Spawned, baseline_url: str) -> list[Figure]:
    scale = bench.scale
    count = scale.watched_executions
    length = int((scale.live_seconds + 120) * 1000 / scale.live_node_ms)
    running = [execute(stack.url, slow_chain(service_url, length, scale.live_node_ms)) for _ in range(count)]
    wait_until(lambda: all(status(stack, i) == "running" for i in running), "the watched executions to run", 120)
    hub_latencies, window_start = latency(
        bench,
        "live latency",
        _watchers(f"{stack.ws_url}/ws/executions", running, scale.live_sockets),
        True,
        stack.processes(),
    )
    for execution_id in running:
        cancel(stack.url, execution_id)
    written = stack.query(
        "SELECT executionId, timestamp FROM execution_events WHERE timestamp >= ? AND timestamp < ? ORDER BY timestamp",
        (_iso(window_start), _iso(window_start + scale.live_seconds)),
    )
    rate = len(written) / scale.live_seconds
    schedule = [(epoch(row["timestamp"]) - window_start, running.index(row["executionId"])) for row in written]

    channels = [f"c{index}" for index in range(count)]
    publisher = bench.clients(
        "publisher",
        [
            {
                "redisUrl": stack.redis.url,
                "mode": "replay",
                "schedule": schedule,
                "streams": [{"channel": _BASELINE_CHANNEL + c, "executionId": c, "firstSeq": 1} for c in channels],
            }
        ],
        on_system=True,
    )
    publisher.wait_ready()
    baseline_processes = {"baseline server": baseline.pid, "redis": stack.processes()["redis"]}
    bare_latencies, _ = latency(
        bench,
        "baseline latency",
        _watchers(f"{baseline_url.replace('http', 'ws', 1)}/ws", channels, scale.live_sockets),
        False,
        baseline_processes,
        publisher,
    )

    ids = _waiting_executions(stack, count)
    last_seqs = {i: int(stack.query("SELECT lastSeq FROM workflow_executions WHERE id = ?", (i,))[0][0]) for i in ids}
    hub_streams = [{"channel": events_channel(i), "executionId": i, "firstSeq": last_seqs[i] + 1} for i in ids]
    bare_streams = [{"channel": _BASELINE_CHANNEL + c, "executionId": c, "firstSeq": 1} for c in channels]
    bare_rate, _ = fanout(
        bench,
        "baseline fan-out",
        _watchers(f"{baseline_url.replace('http', 'ws', 1)}/ws", channels, scale.live_sockets),
        False,
        bare_streams,
        stack.redis.url,
        baseline_processes,
    )
    hub_rate, note = fanout(
        bench,
        "fan-out",
        _watchers(f"{stack.ws_url}/ws/executions", ids, scale.live_sockets),
        True,
        hub_streams,
        stack.redis.url,
        stack.processes(),
    )
    watched = f"{scale.live_sockets} sockets on {count} executions"
    live_note = (
        f"{watched}, {rate:.0f} events/s written by the worker (http nodes of {scale.live_node_ms:g} ms), "
        f"{len(hub_latencies)} deliveries measured over {scale.live_seconds:g} s; the baseline replays the same "
        "event times; timestamps have 1 ms resolution"
    )
    return [
        Figure(
            "4",
            "4. live latency p50",
            percentile(hub_latencies, 50),
            "ms",
            percentile(bare_latencies, 50),
            "Starlette broadcast",
            Target(Goal.AT_MOST, 2, "ms"),
            live_note,
            "live latency",
        ),
        Figure(
            "4",
            "4. live latency p99",
            percentile(hub_latencies, 99),
            "ms",
            percentile(bare_latencies, 99),
            "Starlette broadcast",
            Target(Goal.AT_MOST, 10, "ms"),
            live_note,
            "live latency",
        ),
        Figure(
            "5",
            "5. fan-out",
            hub_rate,
            "deliveries/s",
            bare_rate,
            "Starlette broadcast",
            Target(Goal.RATIO_AT_LEAST, 1.5),
            note,
            "fan-out",
        ),
    ]


def idle(bench: Bench) -> list[Figure]:
    """Scenario 6: the hub's RSS per idle socket, beside the baseline server's."""
    scale = bench.scale
    count = scale.watched_executions
    with bench.stack(HUB_ENGINE="native") as stack:
        stack.start_worker()
        ids = _waiting_executions(stack, count)
        stack.stop_workers()
        assert stack.hub is not None
        with bench.measuring("idle sockets", stack.processes()):
            hub = idle_kib(
                bench, stack.hub.pid, _watchers(f"{stack.ws_url}/ws/executions", ids, scale.idle_sockets), True
            )
        baseline, baseline_url = bench.web_server("baseline-broadcast", stack.redis.url)
        try:
            channels = [f"c{index}" for index in range(count)]
            base = f"{baseline_url.replace('http', 'ws', 1)}/ws"
            bare = idle_kib(bench, baseline.pid, _watchers(base, channels, scale.idle_sockets), False)
        finally:
            baseline.stop()
    return [
        Figure(
            "6",
            "6. idle sockets",
            hub,
            "KiB/socket",
            bare,
            "Starlette broadcast",
            Target(Goal.AT_MOST, 32, "KiB"),
            f"{scale.idle_sockets} idle sockets watching {count} waiting executions, RSS over the server's own",
            "idle sockets",
        )
    ]
