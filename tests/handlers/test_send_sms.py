"""The sendSMS node against a local server that speaks Twilio's Messages API."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from handlers.contract import NodeError
from handlers.settings import NodeSettings, TwilioSettings
from tests.conftest import TWILIO_SID, TWILIO_TOKEN
from tests.fakes import TwilioService
from tests.handlers.harness import NodeRunner, node_runner


def _settings(url: str, token: str = TWILIO_TOKEN, sender: str = "+15005550006") -> NodeSettings:
    return NodeSettings(twilio=TwilioSettings(account_sid=TWILIO_SID, auth_token=token, sender=sender, base_url=url))


@pytest_asyncio.fixture(loop_scope="session")
async def runner(twilio: tuple[TwilioService, str]) -> AsyncIterator[NodeRunner]:
    async with node_runner(_settings(twilio[1])) as running:
        yield running


async def test_a_message_is_posted_to_the_account_with_basic_auth(
    runner: NodeRunner, twilio: tuple[TwilioService, str]
) -> None:
    result = await runner.run(
        "sendSMS", {"to": "+34600111222", "body": "Alert: {{ input.temperature }} C"}, {"temperature": 41}
    )
    request = twilio[0].requests[-1]
    assert request["path"] == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert request["authorization"] == "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
    assert request["form"] == {"To": "+34600111222", "From": "+15005550006", "Body": "Alert: 41 C"}
    assert result.output_data["sid"].startswith("SM")
    assert result.output_data["status"] == "queued" and result.output_data["to"] == "+34600111222"


async def test_a_messaging_service_sender_goes_as_messaging_service_sid(twilio: tuple[TwilioService, str]) -> None:
    async with node_runner(_settings(twilio[1], sender="MG0123456789abcdef0123456789abcdef")) as runner:
        await runner.run("sendSMS", {"to": "+34600111222", "body": "hi"})
    form = twilio[0].requests[-1]["form"]
    assert form["MessagingServiceSid"] == "MG0123456789abcdef0123456789abcdef" and "From" not in form


async def test_twilios_error_body_becomes_the_node_error(runner: NodeRunner) -> None:
    with pytest.raises(
        NodeError, match=r"Twilio answered 21211: The 'To' number \+1234567 is not a valid phone number\."
    ):
        await runner.run("sendSMS", {"to": "{{ input.phone }}", "body": "hi"}, {"phone": "+1234567"})


async def test_a_wrong_token_fails_without_showing_it(twilio: tuple[TwilioService, str]) -> None:
    async with node_runner(_settings(twilio[1], token="not-the-token-31")) as runner:
        with pytest.raises(NodeError, match="Twilio answered 20003: Authenticate") as failure:
            await runner.run("sendSMS", {"to": "+34600111222", "body": "hi"})
    assert "not-the-token-31" not in str(failure.value)


async def test_without_credentials_the_node_names_the_setting() -> None:
    async with node_runner(NodeSettings()) as runner:
        with pytest.raises(NodeError, match="TWILIO_ACCOUNT_SID is not set"):
            await runner.run("sendSMS", {"to": "+34600111222", "body": "hi"})


def test_a_number_that_is_not_e164_and_an_overlong_body_are_refused(runner: NodeRunner) -> None:
    problems = runner.problems("sendSMS", {"to": "600 111 222", "body": "x" * 1601})
    assert [problem.path for problem in problems] == ["to", "body"]
