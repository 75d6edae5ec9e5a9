"""What every SQL module of the store shares: the engine, and the redactor applied to what it stores."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hub.events import dumps
from hub.redaction import Redactor
from hub.storage._engine import Dialect, Engine


class Tables:
    """The base of the store's SQL modules; each adds the methods of one concern."""

    def __init__(self, engine: Engine, redactor: Redactor | None = None) -> None:
        self.engine = engine
        self._redact = redactor or Redactor(())

    def _json(self, value: Any) -> str:
        return self._redact(dumps(value))

    def _text(self, value: str | None) -> str | None:
        return None if value is None else self._redact(value)

    def _for_update(self, *, skip_locked: bool = False) -> str:
        """The row lock a read-then-write needs where writers run side by side (PostgreSQL). SQLite's write
        transaction (``BEGIN IMMEDIATE``) already holds the whole database."""
        if self.engine.dialect is Dialect.SQLITE:
            return ""
        return " FOR UPDATE SKIP LOCKED" if skip_locked else " FOR UPDATE"


def iso(epoch: float) -> str:
    """An epoch as the hub's timestamp text (see ``hub.events.utc_now``)."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
