"""Local servers that play the outside world, speaking each service's documented protocol."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


class TargetService:
    """An HTTP API for the http node: echoes, counts calls per key, fails on demand, answers slowly."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.app = Starlette(
            routes=[
                Route("/echo", self.echo, methods=["GET", "POST", "PUT"]),
                Route("/count/{key}", self.count, methods=["GET", "POST"]),
                Route("/flaky/{key}", self.flaky, methods=["GET", "POST"]),
                Route("/slow/{key}", self.slow, methods=["GET", "POST"]),
                Route("/status/{code:int}", self.status, methods=["GET", "POST"]),
            ]
        )

    async def echo(self, request: Request) -> Response:
        body = await request.body()
        return JSONResponse(
            {
                "method": request.method,
                "query": dict(request.query_params),
                "body": orjson.loads(body) if body else None,
                "headers": {k: v for k, v in request.headers.items() if k.startswith("x-")},
            }
        )

    async def count(self, request: Request) -> Response:
        key = request.path_params["key"]
        self.calls[key] += 1
        return JSONResponse({"key": key, "count": self.calls[key]})

    async def flaky(self, request: Request) -> Response:
        key = request.path_params["key"]
        self.calls[key] += 1
        failures = int(request.query_params.get("failures", "2"))
        if self.calls[key] <= failures:
            return JSONResponse({"error": f"failure {self.calls[key]}"}, status_code=503)
        return JSONResponse({"ok": True, "calls": self.calls[key]})

    async def slow(self, request: Request) -> Response:
        key = request.path_params["key"]
        self.calls[key] += 1
        await asyncio.sleep(float(request.query_params.get("seconds", "1")))
        return JSONResponse({"key": key, "slept": True})

    async def status(self, request: Request) -> Response:
        code = request.path_params["code"]
        return JSONResponse({"error": f"status {code}"}, status_code=code)


class OpenAIService:
    """The Chat Completions endpoint of an OpenAI-compatible server, with SSE streaming."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/v1/chat/completions", self.completions, methods=["POST"])])

    def _error(self, status: int, message: str, kind: str) -> Response:
        return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": None}}, status)

    async def completions(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return self._error(401, "Incorrect API key provided", "invalid_request_error")
        body = await request.json()
        self.requests.append(body)
        prompt = body["messages"][-1]["content"]
        words = f"Echo: {prompt}".split(" ")
        created = int(time.time())
        if not body.get("stream"):
            return JSONResponse(
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "created": created,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": " ".join(words)},
                        }
                    ],
                    "usage": {"prompt_tokens": 5, "completion_tokens": len(words), "total_tokens": 5 + len(words)},
                }
            )

        async def chunks() -> Any:
            for index, word in enumerate(words):
                delta = {"role": "assistant", "content": word if index == 0 else f" {word}"}
                chunk = {
                    "id": "chatcmpl-1",
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": body["model"],
                    "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
                }
                yield b"data: " + orjson.dumps(chunk) + b"\n\n"
                await asyncio.sleep(0.06)
            final = {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": created,
                "model": body["model"],
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            }
            yield b"data: " + orjson.dumps(final) + b"\n\n"
            usage = {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": created,
                "model": body["model"],
                "choices": [],
                "usage": {"prompt_tokens": 5, "completion_tokens": len(words), "total_tokens": 5 + len(words)},
            }
            yield b"data: " + orjson.dumps(usage) + b"\n\n"
            yield b"data: [DONE]\n\n"

        return StreamingResponse(chunks(), media_type="text/event-stream")


class GateService:
    """Endpoints that answer only once a test releases them, so a test decides when each http node ends."""

    def __init__(self) -> None:
        self.released: set[str] = set()
        self.waiting: set[str] = set()
        self.app = Starlette(routes=[Route("/gate/{name}", self.gate, methods=["GET", "POST"])])

    async def gate(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.waiting.add(name)
        try:
            while name not in self.released:
                await asyncio.sleep(0.02)
        finally:
            self.waiting.discard(name)
        return JSONResponse({"gate": name})

    def release(self, *names: str) -> None:
        self.released.update(names)


class WebhookReceiver:
    """A Node server's callback endpoint: records every request and fails the first ``?fail=N`` per path."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/hooks/{key}", self.receive, methods=["POST"])])

    async def receive(self, request: Request) -> Response:
        key = request.path_params["key"]
        body = await request.body()
        earlier = [r for r in self.requests if r["key"] == key]
        status = 503 if len(earlier) < int(request.query_params.get("fail", "0")) else 200
        self.requests.append(
            {"key": key, "body": body, "headers": dict(request.headers), "status": status, "at": time.monotonic()}
        )
        return JSONResponse({"accepted": status == 200}, status_code=status)

    def received(self, key: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["key"] == key]


class PushService:
    """A Web Push service (RFC 8030): takes encrypted messages for ``/push/{token}``; ``gone-*`` tokens get 410."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/push/{token}", self.push, methods=["POST"])])

    async def push(self, request: Request) -> Response:
        token = request.path_params["token"]
        self.messages.append({"token": token, "body": await request.body(), "headers": dict(request.headers)})
        if token.startswith("gone-"):
            return Response(status_code=410)
        return Response(status_code=201, headers={"location": f"/messages/{len(self.messages)}"})

    def received(self, token: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["token"] == token]
