"""Web Push subscriptions as clients send them, and the VAPID key pair that signs the pushes.

A subscription covers one execution (``executionId``), every execution of an organization
(``organizationId``), or, with neither, every execution (``hub.storage.PushTarget``). The outbox turns
each matching subscription into one delivery when an execution reaches its terminal state.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from handlers.egress import url_problem
from hub.errors import InvalidRequest, Problem


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class VapidKeys:
    """A VAPID key pair as the browser and ``HUB_VAPID_*`` take it: base64url, raw point and raw scalar."""

    public_key: str
    private_key: str

    @classmethod
    def generate(cls) -> VapidKeys:
        key = ec.generate_private_key(ec.SECP256R1())
        public = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return cls(b64url(public), b64url(key.private_numbers().private_value.to_bytes(32, "big")))


def parse_subscription(value: Any, path: str = "subscription") -> dict[str, Any]:
    """The browser's ``PushSubscription.toJSON()``; every problem is named by its field."""
    problems: list[Problem] = []
    if not isinstance(value, Mapping):
        raise InvalidRequest("The subscription is not valid", [Problem(path, f"{path} must be an object")])
    endpoint = value.get("endpoint")
    if not isinstance(endpoint, str) or url_problem(endpoint) is not None:
        problems.append(Problem(f"{path}.endpoint", "endpoint must be the push service's http(s) URL"))
    keys = value.get("keys")
    if not isinstance(keys, Mapping):
        problems.append(Problem(f"{path}.keys", "keys must be an object with p256dh and auth"))
        keys = {}
    for name, size in (("p256dh", 65), ("auth", 16)):
        if not _is_key(keys.get(name), size):
            problems.append(Problem(f"{path}.keys.{name}", f"{name} must be {size} bytes in base64url"))
    if problems:
        raise InvalidRequest(f"The subscription has {len(problems)} problem(s)", problems)
    return {"endpoint": endpoint, "keys": {"p256dh": keys["p256dh"], "auth": keys["auth"]}}


def _is_key(value: Any, size: int) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return len(b64url_decode(value)) == size
    except (binascii.Error, ValueError):
        return False
