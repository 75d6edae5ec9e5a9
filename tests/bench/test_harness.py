"""The bench harness end to end on one tiny scenario, so that ``make test`` proves ``make bench`` still works."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from pathlib import Path

from bench.context import Bench
from bench.cores import CoreLayout
from bench.profiler import summarise
from bench.scale import SCALES
from bench.scenarios import rest, throughput
from bench.stack import BenchStack
from hub.settings import Settings


def test_rest_scenario_measures_the_hub_and_its_baseline_from_client_processes(tmp_path: Path) -> None:
    bench = Bench(replace(SCALES["small"], rest_clients=8, rest_requests=40), CoreLayout.detect(), tmp_path)
    p50, p99 = rest.rest(bench)
    assert (p50.name, p99.name) == ("7. REST POST execute p50", "7. REST POST execute p99")
    assert 0 < p50.value <= p99.value
    assert p50.baseline is not None and p50.baseline > 0
    assert "statuses {'202': 40}" in p50.note
    assert set(bench.cpu) == {"REST", "baseline REST"}
    assert bench.cpu["REST"]["hub"] > 0 and "clients" in bench.cpu["REST"]


def test_profile_summary_ranks_functions_by_samples_and_picks_out_the_hubs_own_code(tmp_path: Path) -> None:
    raw = tmp_path / "profile-hub.collapsed"
    raw.write_text(
        "run (asyncio/events.py:80);dispatch (/repo/hub/fanout.py:90);parse (/repo/hub/events.py:112) 30\n"
        "run (asyncio/events.py:80);dispatch (/repo/hub/fanout.py:95) 10\n"
        "run (asyncio/events.py:80);send (websockets/protocol.py:10) 60\n"
    )
    lines = summarise("hub", raw)
    assert lines[0] == "hub: 100 samples on the CPU (100 a second)"
    assert lines[2].split() == ["60.0%", "send", "(websockets/protocol.py)"]
    own = lines[lines.index("  inclusive time, the hub's own code (hub/, jobs/, handlers/):") + 1 :]
    assert [line.split()[1] for line in own] == ["dispatch", "parse"]


def test_throughput_scenario_measures_the_hub_on_sqlite_and_on_postgresql_beside_one_bare_arq_run(
    tmp_path: Path,
) -> None:
    scale = replace(SCALES["small"], native_executions=30, arq_jobs=100, chain_nodes=10, chain_runs=1)
    bench = Bench(scale, CoreLayout.detect(), tmp_path)
    sqlite, postgres, _ = throughput.native(bench)
    assert (sqlite.name, postgres.name) == ("1. throughput, native engine", "1. throughput, native engine, PostgreSQL")
    assert sqlite.value > 0 and postgres.value > 0
    assert sqlite.baseline == postgres.baseline and sqlite.baseline is not None and sqlite.baseline > 0
    assert "did not complete" not in postgres.note
    assert bench.cpu["throughput, native, PostgreSQL"]["hub"] > 0


def test_the_bench_stack_lets_workflows_reach_the_benchs_loopback_services(tmp_path: Path) -> None:
    stack = BenchStack(tmp_path, frozenset({0}))
    policy = Settings.from_env(stack.environment(), env_file=None).nodes.egress_policy()
    assert policy.allowed("127.0.0.1", ipaddress.ip_address("127.0.0.1"), 8123)
