"""Local servers that play the outside world, speaking each service's documented protocol."""

from __future__ import annotations

import asyncio
import base64
import re
import time
import uuid
import zlib
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


class DownloadService:
    """Serves files for nodes that read a url: with Content-Length, or streamed without one."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.app = Starlette(
            routes=[
                Route("/files/{name}", self.serve),
                Route("/stream/{name}", self.stream),
            ]
        )

    def add(self, name: str, content: bytes, content_type: str = "application/octet-stream") -> None:
        self.files[name] = (content, content_type)

    async def serve(self, request: Request) -> Response:
        found = self.files.get(request.path_params["name"])
        if found is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return Response(found[0], media_type=found[1])

    async def stream(self, request: Request) -> Response:
        content, content_type = self.files[request.path_params["name"]]

        async def chunks() -> Any:
            for start in range(0, len(content), 16 * 1024):
                yield content[start : start + 16 * 1024]

        return StreamingResponse(chunks(), media_type=content_type)


class TwilioService:
    """Twilio's Messages resource (2010-04-01): basic auth, form fields, the documented JSON and error bodies."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.requests: list[dict[str, Any]] = []
        path = "/2010-04-01/Accounts/{sid}/Messages.json"
        self.app = Starlette(routes=[Route(path, self.create_message, methods=["POST"])])

    def _error(self, status: int, code: int, message: str) -> Response:
        more_info = f"https://www.twilio.com/docs/errors/{code}"
        return JSONResponse({"code": code, "message": message, "more_info": more_info, "status": status}, status)

    async def create_message(self, request: Request) -> Response:
        form = dict(await request.form())
        self.requests.append(
            {"path": request.url.path, "authorization": request.headers.get("authorization"), "form": form}
        )
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return self._error(401, 20003, "Authenticate")
        if request.path_params["sid"] != self.account_sid:
            return self._error(404, 20404, "The requested resource was not found")
        to = str(form.get("To", ""))
        if not re.fullmatch(r"\+[1-9]\d{7,14}", to):
            return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        sid = f"SM{uuid.uuid4().hex}"
        now = "Thu, 30 Jul 2015 20:12:31 +0000"
        return JSONResponse(
            {
                "account_sid": self.account_sid,
                "api_version": "2010-04-01",
                "body": form.get("Body"),
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "num_media": "0",
                "num_segments": "1",
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "queued",
                "subresource_uris": {"media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
                "to": to,
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            },
            201,
        )


class EsiosService:
    """ESIOS's indicator endpoint: the x-api-key header, start/end dates, geo_ids[] and time_trunc."""

    INDICATOR_NAME = "Precio mercado spot diario"

    def __init__(self, api_token: str) -> None:
        self.api_token = api_token
        self.requests: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/indicators/{indicator_id:int}", self.indicator, methods=["GET"])])

    async def indicator(self, request: Request) -> Response:
        self.requests.append(
            {
                "path": request.url.path,
                "headers": dict(request.headers),
                "query": list(request.query_params.multi_items()),
            }
        )
        if request.headers.get("x-api-key") != self.api_token:
            return JSONResponse({"Status": 403, "message": "Forbidden"}, 403)
        indicator_id = request.path_params["indicator_id"]
        if indicator_id == 404:
            return JSONResponse({"Status": 404, "message": "Not Found"}, 404)
        start = request.query_params["start_date"][:10]
        geos = [int(geo) for geo in request.query_params.getlist("geo_ids[]")] or [3, 8741]
        names = {3: "España", 8741: "Península", 8742: "Canarias"}
        values = [
            {
                "value": 40.5 + hour + geo / 10_000,
                "datetime": f"{start}T{hour:02d}:00:00.000+02:00",
                "datetime_utc": f"{start}T{hour:02d}:00:00Z",
                "tz_time": f"{start}T{hour:02d}:00:00.000Z",
                "geo_id": geo,
                "geo_name": names.get(geo, str(geo)),
            }
            for hour in range(3)
            for geo in geos
        ]
        return JSONResponse(
            {
                "indicator": {
                    "name": self.INDICATOR_NAME,
                    "short_name": "Spot",
                    "id": indicator_id,
                    "composited": False,
                    "step_type": "linear",
                    "disaggregated": True,
                    "magnitud": [{"name": "Precio", "id": 23}],
                    "tiempo": [{"name": "Hora", "id": 4}],
                    "geos": [{"geo_id": geo, "geo_name": names.get(geo, str(geo))} for geo in geos],
                    "values_updated_at": f"{start}T13:05:00.000+02:00",
                    "values": values,
                }
            }
        )


class ClimatiqService:
    """Climatiq's Basic Estimate (POST /data/v1/estimate): bearer key, the Estimation model, its error body.

    Every emission factor here is 0.5 kg CO2e per kWh; an activity_id of ``unknown`` finds no factor.
    """

    FACTOR = 0.5

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.app = Starlette(routes=[Route("/data/v1/estimate", self.estimate, methods=["POST"])])

    def _error(self, status: int, error: str, code: str | None, message: str) -> Response:
        return JSONResponse({"error": error, "error_code": code, "message": message}, status)

    async def estimate(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append({"authorization": request.headers.get("authorization"), "body": body})
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return self._error(401, "unauthorized", None, "Invalid API key.")
        selector, parameters = body.get("emission_factor", {}), body.get("parameters", {})
        if selector.get("activity_id") == "unknown":
            message = "No emission factors could be found for the given query."
            return self._error(400, "bad_request", "no_emission_factors_found", message)
        if not isinstance(parameters.get("energy"), int | float):
            return self._error(400, "bad_request", "invalid_parameters", "parameters.energy must be a number.")
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.05)
        finally:
            self.in_flight -= 1
        energy = float(parameters["energy"])
        return JSONResponse(
            {
                "co2e": energy * self.FACTOR,
                "co2e_unit": "kg",
                "co2e_calculation_method": "ar5",
                "co2e_calculation_origin": "source",
                "emission_factor": {
                    "name": "Electricity supplied from grid",
                    "activity_id": selector.get("activity_id"),
                    "id": "7fa8ea3a-0e1e-4a21-a5e6-0e9a3c0c1c0e",
                    "access_type": "public",
                    "source": "BEIS",
                    "source_dataset": "Greenhouse gas reporting: conversion factors 2023",
                    "year": 2023,
                    "region": "GB",
                    "category": "Electricity",
                    "source_lca_activity": "electricity_generation",
                    "data_quality_flags": [],
                },
                "constituent_gases": {"co2e_total": energy * self.FACTOR, "co2e_other": None, "co2": None},
                "activity_data": {"activity_value": energy, "activity_unit": parameters.get("energy_unit", "kWh")},
                "audit_trail": "enabled",
            }
        )


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


class HostileService:
    """Answers a workflow should not be able to hurt a worker with: huge, endless, compressed bombs, redirects."""

    def __init__(self, bomb_mb: int = 200) -> None:
        packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        block = bytes(1024 * 1024)
        self.bomb = b"".join(packer.compress(block) for _ in range(bomb_mb)) + packer.flush()
        self.app = Starlette(
            routes=[
                Route("/big/{mb:int}", self.big),
                Route("/trickle", self.trickle),
                Route("/bomb", self.gzip_bomb),
                Route("/redirect", self.redirect),
                Route("/ok", self.ok, methods=["GET", "POST"]),
            ]
        )

    async def big(self, request: Request) -> Response:
        """``mb`` megabytes of a streamed body, with no content-length to refuse it by."""
        block = b"x" * (1024 * 1024)

        async def blocks() -> Any:
            for _ in range(request.path_params["mb"]):
                yield block

        return StreamingResponse(blocks(), media_type="text/plain")

    async def trickle(self, request: Request) -> Response:
        """A body that never ends, one byte at a time, fast enough that no single read times out."""

        async def forever() -> Any:
            while True:
                yield b"."
                await asyncio.sleep(0.05)

        return StreamingResponse(forever(), media_type="text/plain")

    async def gzip_bomb(self, request: Request) -> Response:
        return Response(self.bomb, headers={"content-encoding": "gzip", "content-type": "text/plain"})

    async def redirect(self, request: Request) -> Response:
        return Response(status_code=302, headers={"location": request.query_params["to"]})

    async def ok(self, request: Request) -> Response:
        return JSONResponse({"ok": True})
