"""The ``Idempotency-Key`` header of the endpoints that start executions (after Stripe's).

A client sends a fresh key per logical request and the same key on its retries. The key is scoped to
the organization, and recorded with a fingerprint of the request: a retry with the same body answers
the original execution, and the same key with another body is refused, since it is a client's bug.
"""

from __future__ import annotations

import hashlib

from starlette.requests import Request

from hub.api.openapi import HeaderParameter
from hub.errors import InvalidRequest, Problem
from hub.services import IDEMPOTENCY_HEADER as HEADER
from hub.storage import IdempotencyKey

REPLAYED_HEADER = "Idempotent-Replayed"
_MAX_LENGTH = 255
PARAMETER = HeaderParameter(
    HEADER,
    "A fresh key per logical request, the same on its retries: a retry with the same body within "
    "HUB_IDEMPOTENCY_TTL_HOURS answers the first execution's 202 (with Idempotent-Replayed: true) and starts "
    "nothing; the same key with another body is a 422",
    _MAX_LENGTH,
)


def idempotency_key(
    request: Request, *, organization_id: str | None, content: bytes, ttl_seconds: float
) -> IdempotencyKey | None:
    """The request's key with the fingerprint of its path and ``content`` (a canonical form of its body),
    or None when it sent no key."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not key or len(key) > _MAX_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidRequest(
            f"Invalid {HEADER} header",
            [Problem(HEADER, f"{HEADER} must be 1 to {_MAX_LENGTH} printable ASCII characters")],
        )
    digest = hashlib.sha256(request.url.path.encode())
    digest.update(b"\0")
    digest.update(content)
    return IdempotencyKey(key, organization_id, digest.hexdigest(), ttl_seconds)
