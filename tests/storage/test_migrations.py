"""Schema migrations: ``hub migrate`` upgrades a database made before migrations in place, is safe to run
twice and from two processes at once, and an outdated schema stops a process that may not migrate."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from handlers.contract import RecordFilter
from hub.errors import SchemaOutdated
from hub.events import ExecutionStatus
from hub.settings import DatabaseUrl, Settings
from hub.storage import CURRENT_VERSION, DeliveryKind, open_storage

LEGACY_SCHEMA = Path(__file__).with_name("legacy_schema.sql")
_WORKFLOW = {"id": "wf-1", "name": "Legacy", "nodes": [{"id": "start", "type": "trigger", "label": "Start"}]}


def _legacy_database(path: Path) -> None:
    """A database as the hub made it before migrations: its schema, a finished run, and one row per table."""
    stamp = "2024-05-01T10:00:00.000Z"
    with sqlite3.connect(path) as connection:
        connection.executescript(LEGACY_SCHEMA.read_text())
        connection.execute(
            "INSERT INTO workflows VALUES (?, ?, ?, ?, ?, ?)",
            ("wf-1", "org", "Legacy", json.dumps(_WORKFLOW), stamp, stamp),
        )
        connection.execute(
            """INSERT INTO workflow_executions (id, workflowId, workflowName, organizationId, status, totalNodes,
                   completedNodes, workflow, inputs, triggerData, engine, finalOutput, createdAt, startedAt,
                   completedAt, updatedAt, lastSeq, callbackUrl)
               VALUES ('ex-1', 'wf-1', 'Legacy', 'org', 'completed', 1, 1, ?, '{}', 'null', 'native', '{"ok":true}',
                   ?, ?, ?, ?, 2, 'http://127.0.0.1:9/hook')""",
            (json.dumps(_WORKFLOW), stamp, stamp, stamp, stamp),
        )
        connection.execute(
            """INSERT INTO execution_logs (executionId, nodeId, nodeType, nodeLabel, status, timestamp, outputData)
               VALUES ('ex-1', 'start', 'trigger', 'Start', 'completed', ?, '{"ok":true}')""",
            (stamp,),
        )
        for seq, kind in ((1, "execution.started"), (2, "execution.completed")):
            connection.execute("INSERT INTO execution_events VALUES ('ex-1', ?, ?, NULL, ?, '{}')", (seq, kind, stamp))
        connection.execute(
            """INSERT INTO delivery_outbox (id, executionId, kind, target, body, nextAttemptAt, createdAt, updatedAt)
               VALUES ('d-1', 'ex-1', 'webhook', 'http://127.0.0.1:9/hook', '{"status":"completed"}', 0, ?, ?)""",
            (stamp, stamp),
        )
        connection.execute(
            "INSERT INTO push_subscriptions VALUES ('p-1', 'https://push.example/1', ?, 'all', NULL, NULL, ?)",
            (json.dumps({"endpoint": "https://push.example/1"}), stamp),
        )
        connection.execute("INSERT INTO files VALUES ('f-1', 'org', 'a.csv', 12, 'text/csv', ?)", (stamp,))
        connection.execute(
            "INSERT INTO records VALUES ('r-1', 'meters', 'org', ?, ?, ?)", (json.dumps({"meter": 7}), stamp, stamp)
        )


def _migrate(database: Path) -> subprocess.Popen[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HUB_")}
    environment.update({"HUB_DATABASE": str(database), "HUB_DATA_DIR": str(database.parent)})
    return subprocess.Popen(
        [sys.executable, "-m", "hub", "migrate"],
        cwd=database.parent,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _settings(database: Path) -> Settings:
    return Settings(database_url=DatabaseUrl.sqlite(database), data_dir=database.parent)


def _finished(process: subprocess.Popen[str]) -> tuple[int, str]:
    output, _ = process.communicate(timeout=120)
    return process.returncode, output


async def test_hub_migrate_upgrades_a_database_made_before_migrations_and_keeps_every_row(tmp_path: Path) -> None:
    database = tmp_path / "hub.sqlite3"
    _legacy_database(database)
    code, output = _finished(_migrate(database))
    assert code == 0, output
    storage = await open_storage(_settings(database), migrate=False)
    try:
        assert await storage.schema_version() == CURRENT_VERSION
        assert (await storage.get_workflow("wf-1") or {})["name"] == "Legacy"
        execution = await storage.execution("ex-1")
        assert execution["status"] == "completed"
        assert execution["finalOutput"] == {"ok": True}
        assert [node["status"] for node in execution["nodes"]] == ["completed"]
        assert [event.seq for event in await storage.events_after("ex-1", 0)] == [1, 2]
        assert await storage.status("ex-1") is ExecutionStatus.COMPLETED
        due = await storage.outbox.claim_due(lock_seconds=60)
        assert [(delivery.id, delivery.kind) for delivery in due] == [("d-1", DeliveryKind.WEBHOOK)]
        assert await storage.push.get("p-1") == {"endpoint": "https://push.example/1"}
        assert (file := await storage.files.get("f-1")) is not None and file.name == "a.csv"
        assert await storage.records("org").fetch("meters", filters=[RecordFilter("meter", "=", 7)]) == [{"meter": 7}]
    finally:
        await storage.close()


def test_hub_migrate_run_twice_exits_0_both_times(tmp_path: Path) -> None:
    database = tmp_path / "hub.sqlite3"
    first = _finished(_migrate(database))
    second = _finished(_migrate(database))
    assert first[0] == 0, first[1]
    assert second[0] == 0, second[1]
    assert f"version {CURRENT_VERSION}" in second[1]


def test_two_hub_migrates_at_once_both_exit_0_and_record_each_version_once(tmp_path: Path) -> None:
    database = tmp_path / "hub.sqlite3"
    processes = [_migrate(database), _migrate(database)]
    outcomes = [_finished(process) for process in processes]
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    with sqlite3.connect(database) as connection:
        versions = [row[0] for row in connection.execute("SELECT version FROM schema_version ORDER BY version")]
    assert versions == list(range(1, CURRENT_VERSION + 1))


async def test_a_store_that_may_not_migrate_refuses_an_old_schema_and_says_to_run_hub_migrate(tmp_path: Path) -> None:
    database = tmp_path / "hub.sqlite3"
    _legacy_database(database)
    with pytest.raises(SchemaOutdated, match="run `hub migrate`"):
        await open_storage(_settings(database), migrate=False)


async def test_a_store_that_may_not_migrate_refuses_an_empty_database(tmp_path: Path) -> None:
    with pytest.raises(SchemaOutdated, match="version 0"):
        await open_storage(_settings(tmp_path / "hub.sqlite3"), migrate=False)


async def test_sqlite_migrates_by_itself_when_opened_by_default(tmp_path: Path) -> None:
    database = tmp_path / "hub.sqlite3"
    _legacy_database(database)
    storage = await open_storage(_settings(database))
    try:
        assert await storage.schema_version() == CURRENT_VERSION
    finally:
        await storage.close()
