"""Push subscriptions as browsers send them, the scope they cover, and the VAPID keys `hub vapid-keys` makes."""

from __future__ import annotations

import pytest

from hub.errors import InvalidRequest
from hub.push import VapidKeys, b64url, b64url_decode, parse_subscription
from hub.storage import PushTarget

P256DH = b64url(b"\x04" + bytes(64))
AUTH = b64url(bytes(16))


def test_a_browser_subscription_is_kept_with_only_its_endpoint_and_keys() -> None:
    subscription = {
        "endpoint": "https://push.example/abc",
        "expirationTime": None,
        "keys": {"p256dh": P256DH, "auth": AUTH},
    }
    assert parse_subscription(subscription) == {
        "endpoint": "https://push.example/abc",
        "keys": {"p256dh": P256DH, "auth": AUTH},
    }


def test_every_problem_of_a_subscription_is_named_by_its_field() -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_subscription({"endpoint": "push.example", "keys": {"p256dh": AUTH, "auth": "!!"}})
    assert [problem.path for problem in raised.value.problems] == [
        "subscription.endpoint",
        "subscription.keys.p256dh",
        "subscription.keys.auth",
    ]


def test_a_subscription_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="subscription"):
        parse_subscription("https://push.example/abc")


@pytest.mark.parametrize(
    ("target", "scope"),
    [(PushTarget("e1", "org"), "execution:e1"), (PushTarget(None, "org"), "organization:org"), (PushTarget(), "all")],
)
def test_the_scope_is_the_execution_then_the_organization_then_everything(target: PushTarget, scope: str) -> None:
    assert target.scope == scope


def test_vapid_keys_are_a_raw_p256_point_and_scalar_in_base64url() -> None:
    keys = VapidKeys.generate()
    public, private = b64url_decode(keys.public_key), b64url_decode(keys.private_key)
    assert len(public) == 65 and public[0] == 4
    assert len(private) == 32
    assert "=" not in keys.public_key + keys.private_key
