"""How big a run is: ``BENCH_SCALE=small`` for a quick check (under three minutes), the full run otherwise."""

from __future__ import annotations

import os
from dataclasses import dataclass

from dotenv import dotenv_values


@dataclass(frozen=True)
class Scale:
    name: str
    native_executions: int
    arq_jobs: int
    prefect_executions: int
    chain_nodes: int
    chain_runs: int
    prefect_chain_nodes: int
    prefect_chain_runs: int
    live_sockets: int
    live_seconds: float
    fanout_events: int
    idle_sockets: int
    rest_requests: int
    recovery_runs: int
    watched_executions: int = 10
    live_node_ms: float = 200.0
    rest_clients: int = 100
    sockets_per_client: int = 500
    lease_seconds: float = 5.0

    @classmethod
    def from_env(cls) -> Scale:
        values = {**dotenv_values(".env"), **os.environ}
        name = (values.get("BENCH_SCALE") or "full").strip().lower()
        if name not in SCALES:
            raise SystemExit(f"BENCH_SCALE must be one of {', '.join(SCALES)}; got {name!r}")
        return SCALES[name]


SCALES = {
    "full": Scale(
        name="full",
        native_executions=2000,
        arq_jobs=10000,
        prefect_executions=60,
        chain_nodes=200,
        chain_runs=5,
        prefect_chain_nodes=200,
        prefect_chain_runs=2,
        live_sockets=1000,
        live_seconds=20.0,
        fanout_events=200,
        idle_sockets=5000,
        rest_requests=5000,
        recovery_runs=3,
    ),
    "small": Scale(
        name="small",
        native_executions=300,
        arq_jobs=2000,
        prefect_executions=6,
        chain_nodes=200,
        chain_runs=3,
        prefect_chain_nodes=30,
        prefect_chain_runs=1,
        live_sockets=200,
        live_seconds=5.0,
        fanout_events=200,
        idle_sockets=1000,
        rest_requests=1500,
        recovery_runs=1,
    ),
}
