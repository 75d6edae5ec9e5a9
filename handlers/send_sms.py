"""``sendSMS``: one text message through Twilio's Messages REST API; the output is ``{sid, status, to}``.

``POST {TWILIO_BASE_URL}/2010-04-01/Accounts/{SID}/Messages.json``, form-encoded, with HTTP basic auth
``SID:TOKEN``. A ``TWILIO_FROM`` that is a Messaging Service SID (``MG…``) is sent as ``MessagingServiceSid``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx

from handlers._api import answered, json_body, request, required_setting
from handlers._validation import required_string
from handlers.contract import ConfigProblem, NodeContext, NodeError, NodeResult
from handlers.templating import is_template

MAX_BODY = 1600
"""Twilio's limit on a message body, in characters."""

_PHONE = re.compile(r"^(?:[a-z]+:)?\+[1-9]\d{6,14}$")


def validate(config: Mapping[str, Any]) -> list[ConfigProblem]:
    problems = required_string(config, "to") + required_string(config, "body")
    to, body = config.get("to"), config.get("body")
    if isinstance(to, str) and to.strip() and not is_template(to) and not _PHONE.match(to.strip()):
        problems.append(ConfigProblem("to", "to must be a phone number in E.164 form, such as +34600111222"))
    if isinstance(body, str) and not is_template(body) and len(body) > MAX_BODY:
        problems.append(ConfigProblem("body", f"body may hold at most {MAX_BODY} characters"))
    return problems


async def run(ctx: NodeContext) -> NodeResult:
    settings = ctx.settings.twilio
    sid = required_setting(settings.account_sid, "TWILIO_ACCOUNT_SID", "sendSMS")
    token = required_setting(settings.auth_token, "TWILIO_AUTH_TOKEN", "sendSMS")
    sender = required_setting(settings.sender, "TWILIO_FROM", "sendSMS")
    to, body = str(ctx.config["to"]).strip(), str(ctx.config["body"])
    if not body.strip():
        raise NodeError("config.body rendered to an empty message")
    form = {"To": to, "Body": body}
    form["MessagingServiceSid" if sender.startswith("MG") else "From"] = sender
    url = f"{settings.base_url.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"
    response = await request(ctx, "Twilio", "POST", url, data=form, auth=(sid, token))
    answer = json_body(response)
    if response.is_error:
        raise NodeError(_error_message(response, answer))
    if not isinstance(answer, Mapping) or "sid" not in answer:
        raise NodeError(f"{answered('Twilio', response)} without a message resource")
    output = {"sid": answer["sid"], "status": answer.get("status"), "to": answer.get("to", to)}
    return NodeResult(True, f"SMS to {output['to']} {output['status'] or 'sent'}", output)


def _error_message(response: httpx.Response, answer: Any) -> str:
    """Twilio's documented error body, ``{code, message, more_info, status}``, as one line."""
    if isinstance(answer, Mapping) and answer.get("message"):
        code = f" {answer['code']}" if answer.get("code") else f" {response.status_code}"
        more = f" (see {answer['more_info']})" if answer.get("more_info") else ""
        return f"Twilio answered{code}: {answer['message']}{more}"
    return answered("Twilio", response)
