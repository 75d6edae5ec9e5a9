"""A socket that reads too slowly is closed with 4008, and resuming with after= loses nothing."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import orjson
from redis.asyncio import Redis
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from hub.bus import EventBus
from hub.events import EventType, ExecutionStatus
from hub.storage import open_storage
from tests.support import HubClient, hub_stack, linear, seqs

_EVENTS = 3000
_PADDING = "x" * 8 * 1024


class _StalledReader:
    """A WebSocket client that stops reading after the handshake, with a tiny receive window, so the hub's
    sends back up for real; websockets' own protocol code parses what it reads afterwards."""

    def __init__(self, port: int, path: str) -> None:
        self.protocol = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}{path}"))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(("127.0.0.1", port))
        self.sock.setblocking(False)

    async def handshake(self) -> None:
        self.protocol.send_request(self.protocol.connect())
        await asyncio.get_running_loop().sock_sendall(self.sock, b"".join(self.protocol.data_to_send()))
        while self.protocol.state is State.CONNECTING:
            self.protocol.receive_data(await asyncio.get_running_loop().sock_recv(self.sock, 4096))
        self._messages: list[dict[str, object]] = self._texts()

    def _texts(self) -> list[dict[str, object]]:
        return [
            orjson.loads(event.data)
            for event in self.protocol.events_received()
            if isinstance(event, Frame) and event.opcode is Opcode.TEXT
        ]

    async def read_to_the_end(self) -> list[dict[str, object]]:
        loop = asyncio.get_running_loop()
        while self.protocol.state is not State.CLOSED:
            data = await loop.sock_recv(self.sock, 65536)
            if not data:
                self.protocol.receive_eof()
                break
            self.protocol.receive_data(data)
            self._messages += self._texts()
            await loop.sock_sendall(self.sock, b"".join(self.protocol.data_to_send()))
        self.sock.close()
        return self._messages


async def test_a_slow_socket_is_closed_with_4008_and_resumes_with_after(tmp_path: Path) -> None:
    with hub_stack(tmp_path, workers=0, HUB_SOCKET_QUEUE="10") as stack:
        client = HubClient(stack)
        store = await open_storage(stack.settings())
        redis = Redis.from_url(stack.redis.url)
        bus = EventBus(redis, stack.settings().redis_timeout_seconds)
        await bus.start()
        try:
            execution_id = await client.execute(linear(("start", "trigger", {})))
            assert await store.claim(execution_id, "test-writer", 600) is not None
            reader = _StalledReader(stack.port, f"/ws/executions/{execution_id}?after=0")
            await reader.handshake()
            for number in range(_EVENTS):
                event = await store.append_event(
                    execution_id, EventType.LOG, {"message": f"{number} {_PADDING}"}, owner="test-writer"
                )
                await bus.publish([event])
            await bus.publish([await store.finish(execution_id, "test-writer", ExecutionStatus.COMPLETED)])
            received = await reader.read_to_the_end()
            assert reader.protocol.close_code == 4008
            assert f"after={received[-1]['seq']}" in (reader.protocol.close_reason or "")
            assert len(received) < _EVENTS
            received += await client.watch(execution_id, after=received[-1]["seq"])
            assert seqs(received) == list(range(1, _EVENTS + 3))
            assert received[-1]["type"] == "execution.completed"
        finally:
            await bus.stop()
            await redis.aclose()
            await store.close()
            await client.close()
