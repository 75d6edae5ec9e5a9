"""The ``storage`` fixture: a fresh, migrated store on each backend the contract suite runs on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from hub.settings import DatabaseUrl, Settings
from hub.storage import NewExecution, Storage, open_storage
from hub.workflow import Workflow, parse_workflow
from tests.support import linear

BACKENDS = ["sqlite"]
"""Every backend the contract suite runs on; a backend added here needs a branch in ``_database_url``."""

SECRET = "contract-secret-5e1d"


def _database_url(backend: str, tmp_path: Path) -> DatabaseUrl:
    if backend == "sqlite":
        return DatabaseUrl.sqlite(tmp_path / "hub.sqlite3")
    raise ValueError(f"no database for backend {backend!r}")


@pytest.fixture(params=BACKENDS)
def storage_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings naming a fresh database on one backend; a second ``open_storage`` on them is a second process's view."""
    return Settings(database_url=_database_url(request.param, tmp_path), data_dir=tmp_path, webhook_secret=SECRET)


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
