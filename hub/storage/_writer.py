"""The writer thread both engines share: queued writes, run whole and committed in batches.

A write is a plain function given the thread's connection, already inside a transaction. The thread takes
the first queued write and every one that queued up behind it (up to ``MAX_BATCH``), hands the batch to
the engine's ``commit`` (one transaction, one savepoint per write) and settles each caller's future on
the caller's own loop. One thread hop and one commit for a batch, instead of one per statement.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

MAX_BATCH = 256


@dataclass(slots=True)
class PendingWrite(Generic[T]):
    """A queued write and the future its caller awaits."""

    work: Callable[[Any], T]
    future: asyncio.Future[T]
    loop: asyncio.AbstractEventLoop


Outcome = tuple[PendingWrite[Any], Any, BaseException | None]
"""A write with its result, or with the error that stopped it."""


def pending(work: Callable[[Any], T]) -> PendingWrite[T]:
    """A write for the running loop, whose future is marked read if its caller stops waiting."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    future.add_done_callback(_retrieve)
    return PendingWrite(work, future, loop)


def _retrieve(future: asyncio.Future[Any]) -> None:
    """A caller cancelled while its write ran does not read the outcome; mark it read so asyncio is quiet."""
    if not future.cancelled():
        future.exception()


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class WriterThread(threading.Thread, ABC):
    """Owns one write connection; an engine says how to open it, commit a batch on it and close it."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._queue: queue.SimpleQueue[PendingWrite[Any] | None] = queue.SimpleQueue()
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    @abstractmethod
    def open_connection(self) -> None:
        """Connects; runs in the thread before the first write. An error here fails ``start_and_wait``."""

    @abstractmethod
    def commit(self, batch: list[PendingWrite[Any]]) -> list[Outcome]:
        """Runs the batch in one transaction and says how each write ended."""

    @abstractmethod
    def close_connection(self) -> None:
        """Closes the connection; runs in the thread after the last write."""

    def start_and_wait(self) -> None:
        self.start()
        self._ready.wait()
        if self._failure is not None:
            raise self._failure

    def submit(self, write: PendingWrite[Any]) -> None:
        self._queue.put(write)

    def stop(self) -> None:
        self._queue.put(None)
        self.join()

    def run(self) -> None:
        try:
            self.open_connection()
        except Exception as error:  # noqa: BLE001 - handed to start_and_wait, which raises it to open()
            self._failure = error
            self._ready.set()
            return
        self._ready.set()
        try:
            while (batch := self._next_batch()) is not None:
                for write, result, failure in self.commit(batch):
                    write.loop.call_soon_threadsafe(_settle, write.future, result, failure)
        finally:
            self.close_connection()

    def _next_batch(self) -> list[PendingWrite[Any]] | None:
        first = self._queue.get()
        if first is None:
            return None
        batch = [first]
        while len(batch) < MAX_BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)
                break
            batch.append(item)
        return batch


class QueuedWrites:
    """The write half both engines share: ``write`` and ``submit`` through the engine's ``WriterThread``."""

    _writer: WriterThread | None

    async def write(self, work: Callable[[Any], T]) -> T:
        """Runs ``work`` inside a transaction and returns its result once that transaction committed.

        A caller cancelled meanwhile does not stop the write: it commits (or rolls back) whole.
        """
        return await asyncio.shield(self.submit(work))

    def submit(self, work: Callable[[Any], T]) -> asyncio.Future[T]:
        """Queues ``work`` now, without waiting: writes commit in the order they are submitted, and the
        future resolves once this one has committed."""
        if self._writer is None:
            raise RuntimeError(f"the database is not open; call {type(self).__name__}.open() first")
        write = pending(work)
        self._writer.submit(write)
        return write.future
