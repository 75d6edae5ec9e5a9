"""A PostgreSQL database of the bench's own on the machine's server (``BENCH_POSTGRES_URL``), made for one run
and dropped after it, for the scenarios that run the hub on PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from dotenv import dotenv_values

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def admin_url() -> str:
    """Where the bench may create a database: ``BENCH_POSTGRES_URL``, a role allowed to ``CREATE DATABASE``."""
    values = {**dotenv_values(".env"), **os.environ}
    return values.get("BENCH_POSTGRES_URL") or DEFAULT_ADMIN_URL


@contextmanager
def bench_database(admin: str) -> Iterator[str]:
    """Creates a database with a random name beside ``admin``'s, yields its URL, and drops it."""
    name = f"hub_bench_{secrets.token_hex(6)}"
    with _connect(admin) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin.rsplit('/', 1)[0]}/{name}"
    finally:
        with _connect(admin) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True, connect_timeout=10)
