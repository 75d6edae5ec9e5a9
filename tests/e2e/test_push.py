"""Web Push on completion: a local push service decrypts what the hub sends and checks its VAPID signature."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import http_ece
import pytest
import pytest_asyncio
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.fakes import PushService, TargetService
from tests.support import HubClient, HubStack, ServiceServer, hub_stack, linear

SUBJECT = "mailto:ops@example.com"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """What a browser keeps for one push subscription: its key pair and auth secret."""

    endpoint: str
    key: ec.EllipticCurvePrivateKey
    auth: bytes

    @classmethod
    def subscribe(cls, push_url: str, token: str) -> Browser:
        return cls(f"{push_url}/push/{token}", ec.generate_private_key(ec.SECP256R1()), uuid.uuid4().bytes)

    def subscription(self) -> dict[str, Any]:
        public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> dict[str, Any]:
        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"))


@pytest.fixture(scope="module")
def vapid() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return b64url(public), b64url(key.private_numbers().private_value.to_bytes(32, "big"))


@pytest.fixture(scope="module")
def push_service() -> Iterator[tuple[PushService, str]]:
    service = PushService()
    with ServiceServer(service.app) as server:
        yield service, server.url


@pytest.fixture(scope="module")
def push_stack(tmp_path_factory: pytest.TempPathFactory, vapid: tuple[str, str]) -> Iterator[HubStack]:
    with hub_stack(
        tmp_path_factory.mktemp("push"),
        HUB_VAPID_PUBLIC_KEY=vapid[0],
        HUB_VAPID_PRIVATE_KEY=vapid[1],
        HUB_VAPID_SUBJECT=SUBJECT,
        HUB_PUBLIC_URL="https://hub.example.com",
    ) as stack:
        yield stack


@pytest_asyncio.fixture(loop_scope="session")
async def hub(push_stack: HubStack) -> AsyncIterator[HubClient]:
    client = HubClient(push_stack)
    yield client
    await client.close()


async def _subscribe(hub: HubClient, browser: Browser, **scope: str) -> dict[str, Any]:
    response = await hub.http.post("/api/push/subscriptions", json={"subscription": browser.subscription(), **scope})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def _messages(service: PushService, token: str, count: int = 1, timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while len(service.received(token)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"the push service got {len(service.received(token))} of {count} for {token}")
        await asyncio.sleep(0.05)
    return service.received(token)


async def _delivery_events(hub: HubClient, execution_id: str, count: int) -> list[dict[str, Any]]:
    return await hub.events_of_type(execution_id, "webhook.delivery", count)


def _vapid_claims(authorization: str, public_key: str) -> dict[str, Any]:
    """Checks an ``Authorization: vapid t=<JWT>, k=<key>`` header (RFC 8292) and returns the JWT's claims."""
    scheme, _, parameters = authorization.partition(" ")
    assert scheme.lower() == "vapid"
    fields = dict(part.strip().split("=", 1) for part in parameters.split(","))
    assert fields["k"] == public_key
    header, claims, signature = fields["t"].split(".")
    assert json.loads(unb64url(header)) == {"typ": "JWT", "alg": "ES256"}
    raw = unb64url(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(public_key))
    try:
        key.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AssertionError("the VAPID JWT is not signed by HUB_VAPID_PRIVATE_KEY") from None
    return json.loads(unb64url(claims))  # type: ignore[no-any-return]


async def test_a_subscriber_gets_an_encrypted_vapid_signed_notice_when_its_execution_ends(
    hub: HubClient, push_service: tuple[PushService, str], vapid: tuple[str, str], target: tuple[TargetService, str]
) -> None:
    service, url = push_service
    token = uuid.uuid4().hex
    browser = Browser.subscribe(url, token)
    # Slow enough that the subscription is in before the end.
    slow = {"url": f"{target[1]}/slow/{token}?seconds=3"}
    workflow = linear(("start", "trigger", {}), ("slow", "http", slow), workflow_id="nightly")
    workflow["name"] = "Nightly report"
    execution_id = await hub.execute(workflow)
    await _subscribe(hub, browser, executionId=execution_id)
    (message,) = await _messages(service, token)

    assert message["headers"]["content-encoding"] == "aes128gcm"
    assert int(message["headers"]["ttl"]) > 0
    claims = _vapid_claims(message["headers"]["authorization"], vapid[0])
    assert claims["aud"] == url and claims["sub"] == SUBJECT
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    notice = browser.decrypt(message["body"])
    assert notice == {
        "executionId": execution_id,
        "workflowId": "nightly",
        "workflowName": "Nightly report",
        "status": "completed",
        "error": None,
        "url": f"https://hub.example.com/ui/executions/{execution_id}",
    }
    (event,) = await _delivery_events(hub, execution_id, 1)
    assert event["data"]["kind"] == "push" and event["data"]["outcome"] == "delivered"
    assert token not in json.dumps(event)


async def test_a_subscription_the_push_service_answers_410_is_removed(
    hub: HubClient, push_service: tuple[PushService, str], push_stack: HubStack
) -> None:
    token = f"gone-{uuid.uuid4().hex}"
    browser = Browser.subscribe(push_service[1], token)
    organization = f"org-{token[5:11]}"
    await _subscribe(hub, browser, organizationId=organization)
    execution_id = await hub.execute(linear(("start", "trigger", {})), organizationId=organization)
    await _messages(push_service[0], token)
    (event,) = await _delivery_events(hub, execution_id, 1)
    assert event["data"]["outcome"] == "gone" and event["data"]["statusCode"] == 410
    assert _subscriptions(push_stack, browser.endpoint) == []
    later = await hub.execute(linear(("start", "trigger", {})), organizationId=organization)
    await hub.wait_for(later)
    assert _outbox(push_stack, later) == []


async def test_a_subscription_without_an_execution_covers_every_execution_of_its_organization(
    hub: HubClient, push_service: tuple[PushService, str], push_stack: HubStack
) -> None:
    token = uuid.uuid4().hex
    browser = Browser.subscribe(push_service[1], token)
    organization = f"org-{token[:6]}"
    subscription = await _subscribe(hub, browser, organizationId=organization)
    ours = await hub.execute(linear(("start", "trigger", {})), organizationId=organization)
    theirs = await hub.execute(linear(("start", "trigger", {})), organizationId="someone-else")
    await hub.wait_for(ours)
    await hub.wait_for(theirs)
    assert [row["target"] for row in _outbox(push_stack, ours)] == [subscription["subscriptionId"]]
    assert _outbox(push_stack, theirs) == []
    (message,) = await _messages(push_service[0], token)
    assert browser.decrypt(message["body"])["executionId"] == ours


async def test_a_deleted_subscription_gets_nothing_more(
    hub: HubClient, push_service: tuple[PushService, str], push_stack: HubStack
) -> None:
    browser = Browser.subscribe(push_service[1], uuid.uuid4().hex)
    organization = f"org-{uuid.uuid4().hex[:6]}"
    await _subscribe(hub, browser, organizationId=organization)
    response = await hub.http.request(
        "DELETE",
        "/api/push/subscriptions",
        json={"subscription": browser.subscription(), "organizationId": organization},
    )
    assert response.status_code == 200 and response.json()["removed"] == 1
    execution_id = await hub.execute(linear(("start", "trigger", {})), organizationId=organization)
    await hub.wait_for(execution_id)
    assert _outbox(push_stack, execution_id) == []


async def test_the_vapid_public_key_is_served_for_browsers_to_subscribe_with(
    hub: HubClient, vapid: tuple[str, str]
) -> None:
    response = await hub.http.get("/api/push/vapid-public-key")
    assert response.status_code == 200 and response.json() == {"publicKey": vapid[0]}


async def test_a_bad_subscription_is_refused_with_each_field_named(hub: HubClient) -> None:
    response = await hub.http.post(
        "/api/push/subscriptions",
        json={"subscription": {"endpoint": "ftp://push", "keys": {"p256dh": "short", "auth": 3}}, "executionId": ""},
    )
    assert response.status_code == 422
    paths = [problem["path"] for problem in response.json()["problems"]]
    assert paths == ["executionId"]
    response = await hub.http.post(
        "/api/push/subscriptions", json={"subscription": {"endpoint": "ftp://push", "keys": {"p256dh": "short"}}}
    )
    assert response.status_code == 422
    paths = [problem["path"] for problem in response.json()["problems"]]
    assert paths == ["subscription.endpoint", "subscription.keys.p256dh", "subscription.keys.auth"]


async def test_a_subscription_to_an_unknown_execution_is_404(
    hub: HubClient, push_service: tuple[PushService, str]
) -> None:
    browser = Browser.subscribe(push_service[1], uuid.uuid4().hex)
    response = await hub.http.post(
        "/api/push/subscriptions", json={"subscription": browser.subscription(), "executionId": "nope"}
    )
    assert response.status_code == 404 and "nope" in response.json()["error"]


def test_hub_vapid_keys_prints_a_key_pair_for_the_env_file() -> None:
    output = subprocess.run(
        [sys.executable, "-m", "hub", "vapid-keys"], check=True, capture_output=True, text=True
    ).stdout
    values = dict(line.split("=", 1) for line in output.splitlines() if line and not line.startswith("#"))
    private = ec.derive_private_key(int.from_bytes(unb64url(values["HUB_VAPID_PRIVATE_KEY"]), "big"), ec.SECP256R1())
    public = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert b64url(public) == values["HUB_VAPID_PUBLIC_KEY"]


def _subscriptions(stack: HubStack, endpoint: str) -> list[sqlite3.Row]:
    return _query(stack, "SELECT * FROM push_subscriptions WHERE endpoint = ?", endpoint)


def _outbox(stack: HubStack, execution_id: str) -> list[sqlite3.Row]:
    return _query(stack, "SELECT * FROM delivery_outbox WHERE executionId = ? AND kind = 'push'", execution_id)


def _query(stack: HubStack, sql: str, *parameters: str) -> list[sqlite3.Row]:
    with sqlite3.connect(stack.database) as connection:
        connection.row_factory = sqlite3.Row
        return list(connection.execute(sql, parameters))
