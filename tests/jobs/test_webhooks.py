"""Webhook signatures: Standard Webhooks headers that its reference library verifies, and the legacy header."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from jobs.webhooks import signed_headers

BODY = b'{"executionId":"e1","status":"completed"}'
STANDARD_SECRET = "whsec_" + base64.b64encode(b"a key of thirty-two random bytes").decode()


def test_a_whsec_secret_signs_what_standardwebhooks_verifies() -> None:
    headers = signed_headers(STANDARD_SECRET, "d-1", BODY, int(time.time()))
    assert Webhook(STANDARD_SECRET).verify(BODY, headers) == {"executionId": "e1", "status": "completed"}


def test_a_secret_not_in_whsec_form_is_used_as_its_utf8_bytes() -> None:
    headers = signed_headers("plain-secret", "d-1", BODY, int(time.time()))
    Webhook(b"plain-secret").verify(BODY, headers)


def test_the_signature_covers_the_timestamp_so_a_replay_later_fails() -> None:
    an_hour_ago = int(time.time()) - 3600
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(STANDARD_SECRET).verify(BODY, signed_headers(STANDARD_SECRET, "d-1", BODY, an_hour_ago))


def test_the_signature_covers_the_delivery_id() -> None:
    headers = signed_headers(STANDARD_SECRET, "d-1", BODY, int(time.time()))
    with pytest.raises(WebhookVerificationError, match="signature"):
        Webhook(STANDARD_SECRET).verify(BODY, {**headers, "webhook-id": "d-2"})


def test_the_legacy_header_is_still_the_hex_hmac_sha256_of_the_body() -> None:
    headers = signed_headers("secret", "d-1", BODY, int(time.time()))
    assert headers["X-Hub-Signature-256"] == "sha256=" + hmac.new(b"secret", BODY, hashlib.sha256).hexdigest()


def test_without_a_secret_the_id_and_timestamp_go_unsigned() -> None:
    headers = signed_headers(None, "d-1", BODY, 1_700_000_000)
    assert headers == {"webhook-id": "d-1", "webhook-timestamp": "1700000000", "X-Hub-Delivery": "d-1"}
