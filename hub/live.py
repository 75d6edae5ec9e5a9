"""``WS /ws/executions/{id}``: an execution's events, live, with no gap and no duplicate.

The socket subscribes to live events first, buffering; then it sends what the store holds after the
client's cursor; then it passes on live events above the last seq sent. A gap in the live stream (an
event lost while Redis restarted) is filled from the store, so the client always gets every seq once.

Close codes: 1000 after the terminal event, 4400 for a bad ``after``, 4404 for an unknown execution,
4008 when the client reads too slowly (reconnect with ``after=<last seq>``).
"""

from __future__ import annotations

import asyncio
import contextlib
from enum import StrEnum

from starlette.websockets import WebSocket, WebSocketDisconnect

from hub.errors import NotFound
from hub.events import Event, ExecutionStatus, dumps
from hub.fanout import EventFanout, Subscription
from hub.storage import Storage

CLOSE_DONE = 1000
CLOSE_TOO_SLOW = 4008
CLOSE_BAD_REQUEST = 4400
CLOSE_NOT_FOUND = 4404

_PAGE = 500
MAX_AFTER = 2**63 - 1
"""The largest cursor a store can hold (a signed 64-bit seq)."""
_GONE = "gone"
"""Put in a socket's queue when its client has left, so that its stream stops waiting."""


class StreamState(StrEnum):
    """A socket's lifecycle; each step may only move forward."""

    CATCHING_UP = "catching-up"
    LIVE = "live"
    CLOSED = "closed"


_NEXT = {
    StreamState.CATCHING_UP: {StreamState.LIVE, StreamState.CLOSED},
    StreamState.LIVE: {StreamState.CLOSED},
    StreamState.CLOSED: set(),
}


class _Stream:
    """Sends one execution's events to one socket, in seq order, each once."""

    def __init__(self, websocket: WebSocket, store: Storage, subscription: Subscription, cursor: int) -> None:
        self.websocket = websocket
        self.store = store
        self.subscription = subscription
        self.cursor = subscription.cursor = cursor
        self.state = StreamState.CATCHING_UP
        self.finished = False

    def move(self, state: StreamState) -> None:
        if state not in _NEXT[self.state]:
            raise RuntimeError(f"a stream cannot go from {self.state} to {state}")
        self.state = state

    async def send(self, event: Event) -> None:
        await self.websocket.send_text(event.json)
        self.cursor = self.subscription.cursor = event.seq
        self.finished = self.finished or event.terminal

    async def catch_up(self) -> None:
        while not self.finished:
            events = await self.store.events_after(self.subscription.execution_id, self.cursor, _PAGE)
            for event in events:
                await self.send(event)
            if len(events) < _PAGE:
                return

    async def run(self) -> None:
        await self.catch_up()
        if not self.finished and (await self.store.status(self.subscription.execution_id)).terminal:
            await self.catch_up()
            self.finished = True
        self.move(StreamState.LIVE)
        queue = self.subscription.queue
        while not self.finished:
            item = await queue.get()
            if self.subscription.overflowed:
                await self.close(CLOSE_TOO_SLOW, f"too slow; reconnect with after={self.cursor}")
                return
            if isinstance(item, str):
                if item == _GONE:
                    return
                await self.catch_up()
            elif item.seq == self.cursor + 1:
                await self.send(item)
            elif item.seq > self.cursor:
                await self.catch_up()
        await self.close(CLOSE_DONE, "execution finished")

    async def close(self, code: int, reason: str) -> None:
        if self.state is not StreamState.CLOSED:
            self.move(StreamState.CLOSED)
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self.websocket.close(code, reason)


def parse_after(raw: str | None) -> int | None:
    """The socket's ``after`` cursor: ASCII digits up to ``MAX_AFTER``; ``ValueError`` for anything else."""
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(MAX_AFTER)) or int(raw) > MAX_AFTER:
        raise ValueError(raw)
    return int(raw)


async def _until_disconnect(websocket: WebSocket, subscription: Subscription) -> None:
    try:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    finally:
        subscription.offer(_GONE)


async def _open(websocket: WebSocket, store: Storage, subscription: Subscription, after: int | None) -> _Stream | None:
    """The socket's stream, after the snapshot when there is no ``after``; None, and the socket closed, for an
    unknown execution. A function of its own so that no idle socket keeps its snapshot."""
    try:
        if after is None:
            snapshot = await store.execution(subscription.execution_id)
            await websocket.send_text(dumps({"type": "snapshot", "execution": snapshot}))
            stream = _Stream(websocket, store, subscription, snapshot["lastSeq"])
            stream.finished = ExecutionStatus(snapshot["status"]).terminal
            return stream
        await store.status(subscription.execution_id)
        return _Stream(websocket, store, subscription, after)
    except NotFound as error:
        await websocket.close(CLOSE_NOT_FOUND, error.message[:120])
        return None


async def execution_socket(websocket: WebSocket) -> None:
    store: Storage = websocket.app.state.store
    fanout: EventFanout = websocket.app.state.fanout
    await websocket.accept()
    try:
        after = parse_after(websocket.query_params.get("after"))
    except ValueError:
        await websocket.close(CLOSE_BAD_REQUEST, f"after must be a whole number from 0 to {MAX_AFTER}")
        return
    with fanout.subscribe(websocket.path_params["execution_id"]) as subscription:
        stream = await _open(websocket, store, subscription, after)
        if stream is None:
            return
        # The stream runs in this task; only reading (to see the client leave) needs one more, which keeps
        # an idle socket small.
        receiver = asyncio.create_task(_until_disconnect(websocket, subscription))
        try:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await stream.run()
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError):
                await receiver
