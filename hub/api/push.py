"""Web Push set-up: the VAPID public key a browser subscribes with, and the subscriptions themselves."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.api._request import Fields, check_egress, json_object
from hub.errors import NotFound
from hub.push import parse_subscription
from hub.services import Services, services
from hub.storage import PushTarget

_NOT_SET_UP = (
    "Push notifications are not set up on this hub: "
    "run `hub vapid-keys` and set HUB_VAPID_PUBLIC_KEY and HUB_VAPID_PRIVATE_KEY"
)


def _push_ready(hub: Services) -> str:
    key = hub.settings.vapid_public_key
    if not key or not hub.settings.vapid_private_key:
        raise NotFound(_NOT_SET_UP)
    return key


async def vapid_public_key(request: Request) -> Response:
    return JSONResponse({"publicKey": _push_ready(services(request))})


async def _read(request: Request) -> tuple[dict[str, object], PushTarget]:
    fields = Fields(await json_object(request))
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
        {
            "subscriptionId": subscription_id,
            "executionId": target.execution_id,
            "organizationId": target.organization_id,
            "scope": target.scope,
        },
        status_code=201,
    )


async def unsubscribe(request: Request) -> Response:
    hub = services(request)
    subscription, target = await _read(request)
    removed = await hub.store.push.remove(str(subscription["endpoint"]), target)
    return JSONResponse({"removed": removed, "scope": target.scope})


routes = [
    Route("/api/push/vapid-public-key", vapid_public_key, methods=["GET"]),
    Route("/api/push/subscriptions", subscribe, methods=["POST"]),
    Route("/api/push/subscriptions", unsubscribe, methods=["DELETE"]),
]
