"""Web Push set-up: the VAPID public key a browser subscribes with, and the subscriptions themselves."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api import schemas
from hub.api._request import Body, BodyField, check_egress, json_object
from hub.api.openapi import ApiRoute, Operation
from hub.errors import NotFound
from hub.push import parse_subscription
from hub.services import Services, services
from hub.storage import PushTarget

_NOT_SET_UP = (
    "Push notifications are not set up on this hub: "
    "run `hub vapid-keys` and set HUB_VAPID_PUBLIC_KEY and HUB_VAPID_PRIVATE_KEY"
)

SUBSCRIPTION = Body(
    (
        BodyField(
            "subscription", "object", "The browser's PushSubscription.toJSON()", True, shape=schemas.PushSubscription
        ),
        BodyField("executionId", "text", "Only this execution's end"),
        BodyField("organizationId", "text", "Every execution of this organization (without executionId)"),
    ),
    "With neither executionId nor organizationId, every execution",
    example={
        "subscription": {
            "endpoint": "https://push.example/send/abc",
            "keys": {"p256dh": "B" + "A" * 86, "auth": "A" * 22},
        },
        "organizationId": "acme",
    },
)


def _push_ready(hub: Services) -> str:
    key = hub.settings.vapid_public_key
    if not key or not hub.settings.vapid_private_key:
        raise NotFound(_NOT_SET_UP)
    return key


async def vapid_public_key(request: Request) -> Response:
    return JSONResponse(schemas.VapidPublicKey(publicKey=_push_ready(services(request))))


async def _read(request: Request) -> tuple[dict[str, object], PushTarget]:
    fields = SUBSCRIPTION.read(await json_object(request))
    fields.mapping("subscription")
    execution_id = fields.text("executionId")
    organization_id = fields.text("organizationId")
    fields.check()
    subscription = parse_subscription(fields.data.get("subscription"))
    return subscription, PushTarget(execution_id, organization_id)


async def subscribe(request: Request) -> Response:
    hub = services(request)
    _push_ready(hub)
    subscription, target = await _read(request)
    await check_egress(hub.settings.nodes.egress_policy(), "subscription.endpoint", str(subscription["endpoint"]))
    if target.execution_id is not None:
        await hub.store.status(target.execution_id)
    subscription_id = await hub.store.push.add(subscription, target)
    return JSONResponse(
        schemas.Subscribed(
            subscriptionId=subscription_id,
            executionId=target.execution_id,
            organizationId=target.organization_id,
            scope=target.scope,
        ),
        status_code=201,
    )


async def unsubscribe(request: Request) -> Response:
    hub = services(request)
    subscription, target = await _read(request)
    removed = await hub.store.push.remove(str(subscription["endpoint"]), target)
    return JSONResponse(schemas.Unsubscribed(removed=removed, scope=target.scope))


_TAGS = ("push",)

routes = [
    ApiRoute(
        "/api/push/vapid-public-key",
        vapid_public_key,
        method="GET",
        operation=Operation(
            "The VAPID key for PushManager.subscribe; 404 when push is not set up",
            {200: schemas.VapidPublicKey, 404: schemas.Error},
            tags=_TAGS,
        ),
    ),
    ApiRoute(
        "/api/push/subscriptions",
        subscribe,
        method="POST",
        operation=Operation("Subscribe a browser", {201: schemas.Subscribed}, SUBSCRIPTION, tags=_TAGS),
    ),
    ApiRoute(
        "/api/push/subscriptions",
        unsubscribe,
        method="DELETE",
        operation=Operation("Unsubscribe a browser", {200: schemas.Unsubscribed}, SUBSCRIPTION, tags=_TAGS),
    ),
]
