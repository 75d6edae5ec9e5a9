"""The sendEmail node against real SMTP servers (aiosmtpd), one that wants a login and one that does not."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from handlers.contract import NodeError
from handlers.settings import NodeSettings, SmtpSettings
from hub.processes import free_port
from tests.backends import REFUSED_DOMAIN, MailServer
from tests.handlers.harness import DiskFiles, NodeRunner, node_runner

PASSWORD = "mail-secret-8e1f2a"


def _settings(server: MailServer, **changes: str | int | bool | None) -> NodeSettings:
    smtp = SmtpSettings(
        host="127.0.0.1",
        port=server.port,
        user=server.user,
        password=server.password,
        starttls=False,
        sender="Hub <hub@example.com>",
        timeout_seconds=10,
    )
    return NodeSettings(smtp=dataclasses.replace(smtp, **changes))


@pytest.fixture(scope="module")
def open_server() -> Iterator[MailServer]:
    with MailServer() as server:
        yield server


@pytest.fixture(scope="module")
def login_server() -> Iterator[MailServer]:
    with MailServer("hub", PASSWORD) as server:
        yield server


@pytest_asyncio.fixture(loop_scope="session")
async def runner(open_server: MailServer, tmp_path: Path) -> AsyncIterator[NodeRunner]:
    async with node_runner(_settings(open_server), DiskFiles(tmp_path)) as running:
        yield running


async def test_a_message_reaches_every_recipient_with_its_headers(runner: NodeRunner, open_server: MailServer) -> None:
    config = {
        "to": ["ana@example.com", "Bo <bo@example.com>"],
        "cc": "cy@example.com",
        "bcc": "di@example.com",
        "subject": "Report for {{ input.city }}",
        "text": "It is {{ input.temperature }} degrees.",
    }
    result = await runner.run("sendEmail", config, node_input={"city": "Madrid", "temperature": 35})
    output = result.output_data
    assert output["accepted"] == ["ana@example.com", "bo@example.com", "cy@example.com", "di@example.com"]
    assert output["rejected"] == []
    mail = open_server.messages_to("di@example.com")[-1]
    assert mail.sender == "hub@example.com"
    assert mail.message["Subject"] == "Report for Madrid"
    assert mail.message["To"] == "ana@example.com, bo@example.com"
    assert mail.message["Cc"] == "cy@example.com"
    assert mail.message["Bcc"] is None
    assert mail.message["Message-ID"] == output["messageId"]
    assert mail.message.get_content().strip() == "It is 35 degrees."


async def test_text_and_html_go_as_alternatives(runner: NodeRunner, open_server: MailServer) -> None:
    config = {"to": "alt@example.com", "subject": "Both", "text": "plain", "html": "<p>rich</p>"}
    await runner.run("sendEmail", config)
    message = open_server.messages_to("alt@example.com")[-1].message
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("html",)).get_content().strip() == "<p>rich</p>"  # type: ignore[union-attr]
    assert message.get_body(("plain",)).get_content().strip() == "plain"  # type: ignore[union-attr]


async def test_attachments_arrive_whole(runner: NodeRunner, open_server: MailServer) -> None:
    assert runner.files is not None
    csv = runner.files.add("people.csv", b"name,city\nAna,Madrid\n")
    blob = runner.files.add("photo.png", bytes(range(256)) * 40)
    config = {"to": "files@example.com", "subject": "Files", "text": "attached", "attachments": [csv, {"fileId": blob}]}
    await runner.run("sendEmail", config)
    message = open_server.messages_to("files@example.com")[-1].message
    attachments = {part.get_filename(): part for part in message.iter_attachments()}
    assert attachments["people.csv"].get_content_type() == "text/csv"
    assert attachments["people.csv"].get_content() == "name,city\nAna,Madrid\n"
    assert attachments["photo.png"].get_content_type() == "image/png"
    assert attachments["photo.png"].get_content() == bytes(range(256)) * 40


async def test_an_unknown_attachment_fails_the_node(runner: NodeRunner) -> None:
    with pytest.raises(NodeError, match="Attachment 'nope' was not found"):
        await runner.run("sendEmail", {"to": "x@example.com", "text": "hi", "attachments": ["nope"]})


async def test_refused_recipients_are_listed_and_the_rest_get_the_message(
    runner: NodeRunner, open_server: MailServer
) -> None:
    config = {"to": ["ok@example.com", f"ghost@{REFUSED_DOMAIN}"], "text": "hello"}
    result = await runner.run("sendEmail", config)
    assert result.output_data["accepted"] == ["ok@example.com"]
    assert result.output_data["rejected"] == [f"ghost@{REFUSED_DOMAIN}"]
    assert open_server.messages_to("ok@example.com")


async def test_every_recipient_refused_fails_the_node(runner: NodeRunner) -> None:
    with pytest.raises(NodeError, match=f"refused every recipient: ghost@{REFUSED_DOMAIN} \\(550"):
        await runner.run("sendEmail", {"to": f"ghost@{REFUSED_DOMAIN}", "text": "hello"})


async def test_a_login_with_the_right_password_sends(login_server: MailServer) -> None:
    async with node_runner(_settings(login_server)) as runner:
        result = await runner.run("sendEmail", {"to": "auth@example.com", "subject": "In", "text": "yes"})
    assert result.output_data["accepted"] == ["auth@example.com"]
    assert login_server.messages_to("auth@example.com")


async def test_a_refused_login_fails_without_the_password(login_server: MailServer) -> None:
    async with node_runner(_settings(login_server, password="wrong-password-77")) as runner:
        with pytest.raises(NodeError) as failure:
            await runner.run("sendEmail", {"to": "auth@example.com", "text": "no"})
    assert str(failure.value).startswith("SMTP server refused login")
    assert "wrong-password-77" not in str(failure.value)


async def test_starttls_on_a_server_without_it_says_how_to_fix_it(open_server: MailServer) -> None:
    async with node_runner(_settings(open_server, starttls=True)) as runner:
        with pytest.raises(NodeError, match="does not offer STARTTLS; set SMTP_STARTTLS=false"):
            await runner.run("sendEmail", {"to": "tls@example.com", "text": "hi"})


async def test_a_server_that_is_not_there_fails_clearly(open_server: MailServer) -> None:
    port = free_port()
    async with node_runner(_settings(open_server, port=port)) as runner:
        with pytest.raises(NodeError, match=f"Could not connect to the SMTP server at 127.0.0.1:{port}"):
            await runner.run("sendEmail", {"to": "void@example.com", "text": "hi"})


async def test_without_smtp_host_the_node_names_the_setting() -> None:
    async with node_runner(NodeSettings()) as runner:
        with pytest.raises(NodeError, match="SMTP_HOST is not set"):
            await runner.run("sendEmail", {"to": "a@example.com", "text": "hi"})


def test_a_bad_config_names_each_field(runner: NodeRunner) -> None:
    problems = runner.problems("sendEmail", {"to": ["ok@example.com", "not-an-address"], "cc": 5, "attachments": "x"})
    assert sorted(problem.path for problem in problems) == ["attachments", "cc", "text", "to[1]"]


def test_a_message_needs_a_recipient(runner: NodeRunner) -> None:
    problems = runner.problems("sendEmail", {"text": "hello"})
    assert [problem.path for problem in problems] == ["to"]
