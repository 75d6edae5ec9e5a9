"""The ``storage`` fixture: a fresh, migrated store on each backend the contract suite runs on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from hub.settings import DatabaseUrl, Settings
from hub.storage import NewExecution, Storage, open_storage
from hub.workflow import Workflow, parse_workflow
from tests.backends import postgres_schema
from tests.support import linear

BACKENDS = ["sqlite", "postgres"]
"""Every backend the contract suite runs on: a SQLite file, or a schema of its own in this run's PostgreSQL
database (see ``tests.backends.postgres_schema``)."""

SECRET = "contract-secret-5e1d"


@pytest.fixture(params=BACKENDS)
def storage_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings naming a fresh database on one backend; a second ``open_storage`` on them is a second process's view."""
    with ExitStack() as resources:
        if request.param == "postgres":
            url = DatabaseUrl.parse(resources.enter_context(postgres_schema(request.getfixturevalue("postgres"))))
        else:
            url = DatabaseUrl.sqlite(tmp_path / "hub.sqlite3")
        yield Settings(database_url=url, data_dir=tmp_path, webhook_secret=SECRET)


@pytest_asyncio.fixture
async def storage(storage_settings: Settings) -> AsyncIterator[Storage]:
    opened = await open_storage(storage_settings, migrate=True)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def workflow() -> Workflow:
    return parse_workflow(linear(("start", "trigger", {}), ("pause", "wait", {"seconds": 60}), ("end", "output", {})))


def new_execution(workflow: Workflow, **fields: Any) -> NewExecution:
    values: dict[str, Any] = {"organization_id": "org", "inputs": {"a": 1}, "trigger_data": None, "engine": "native"}
    values.update(fields)
    return NewExecution(workflow=workflow, **values)
