"""``sendEmail``: one message through the SMTP server of the settings; output ``{messageId, accepted, rejected}``.

Port 465 means TLS from the first byte; any other port upgrades with STARTTLS unless ``SMTP_STARTTLS`` is
false. The Message-ID comes from the execution and node ids, so a node that runs again (a retry, a worker
that died) sends a message the receiving side can recognise as the same one.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from pathlib import Path
from typing import Any

import aiosmtplib

from handlers._api import required_setting
from handlers._validation import optional_string
from handlers.contract import ConfigProblem, NodeContext, NodeError, NodeResult
from handlers.settings import SmtpSettings
from handlers.templating import is_template

_IMPLICIT_TLS_PORT = 465
_ADDRESS_FIELDS = ("to", "cc", "bcc")
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9.-]")


def validate(config: Mapping[str, Any]) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    if not config.get("to"):
        problems.append(ConfigProblem("to", "to is required: an address or a list of addresses"))
    for key in _ADDRESS_FIELDS:
        problems += _address_problems(config.get(key), key)
    problems += optional_string(config, "subject") + optional_string(config, "text") + optional_string(config, "html")
    if not config.get("text") and not config.get("html"):
        problems.append(ConfigProblem("text", "text or html is required: the body of the message"))
    attachments = config.get("attachments")
    if attachments is not None and not _templated(attachments):
        if not isinstance(attachments, list):
            problems.append(ConfigProblem("attachments", "attachments must be a list of fileIds"))
        else:
            for index, item in enumerate(attachments):
                if _file_id(item) is None:
                    problems.append(ConfigProblem(f"attachments[{index}]", "each attachment must be a fileId"))
    return problems


def _templated(value: Any) -> bool:
    return isinstance(value, str) and is_template(value)


def _address_problems(value: Any, key: str) -> list[ConfigProblem]:
    if value is None or _templated(value):
        return []
    items = value if isinstance(value, list) else [value]
    for index, item in enumerate(items):
        where = f"{key}[{index}]" if isinstance(value, list) else key
        if not isinstance(item, str):
            return [ConfigProblem(where, f"{key} must be an address or a list of addresses")]
        if not _templated(item) and not _parse_addresses(item):
            return [ConfigProblem(where, f"{item!r} is not an email address")]
    return []


def _parse_addresses(text: str) -> list[str]:
    """``"Ana <ana@example.com>, bo@example.com"`` as bare addresses; empty when any part is not one."""
    found = [address for _, address in getaddresses([text]) if address]
    if not found or any("@" not in address or address.count("@") > 1 for address in found):
        return []
    return found


def _file_id(item: Any) -> str | None:
    """An attachment as a fileId, or as an upload's metadata ``{fileId, name, …}``."""
    if isinstance(item, Mapping):
        item = item.get("fileId")
    return item if isinstance(item, str) and item.strip() else None


def _addresses(ctx: NodeContext, key: str) -> list[str]:
    value = ctx.config.get(key)
    if not value:
        return []
    found: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        parsed = _parse_addresses(str(item))
        if not parsed:
            raise NodeError(f"config.{key}: {str(item)[:100]!r} is not an email address")
        found.extend(parsed)
    return found


async def run(ctx: NodeContext) -> NodeResult:
    settings = ctx.settings.smtp
    host = required_setting(settings.host, "SMTP_HOST", "sendEmail")
    sender = required_setting(settings.sender or _address_or_none(settings.user), "SMTP_FROM", "sendEmail")
    to, cc, bcc = (_addresses(ctx, key) for key in _ADDRESS_FIELDS)
    if not to:
        raise NodeError("config.to rendered to no address")
    message = await _message(ctx, sender, to, cc)
    try:
        refused, _ = await aiosmtplib.send(
            message,
            sender=sender,
            recipients=[*to, *cc, *bcc],
            hostname=host,
            port=settings.port,
            username=settings.user,
            password=settings.password if settings.user else None,
            use_tls=settings.port == _IMPLICIT_TLS_PORT,
            start_tls=settings.starttls and settings.port != _IMPLICIT_TLS_PORT,
            timeout=settings.timeout_seconds,
        )
    except aiosmtplib.SMTPException as error:
        raise NodeError(_smtp_failure(error, settings)) from None
    except OSError as error:
        raise NodeError(
            f"Could not connect to the SMTP server at {host}:{settings.port}: {error.strerror or error}"
        ) from None
    accepted = [address for address in [*to, *cc, *bcc] if address not in refused]
    output = {"messageId": message["Message-ID"], "accepted": accepted, "rejected": sorted(refused)}
    return NodeResult(True, f"Email sent to {len(accepted)} recipient(s)", output)


def _address_or_none(value: str | None) -> str | None:
    return value if value and "@" in value else None


async def _message(ctx: NodeContext, sender: str, to: list[str], cc: list[str]) -> EmailMessage:
    config = ctx.config
    message = EmailMessage()
    try:
        message["From"] = sender
        message["To"] = ", ".join(to)
        if cc:
            message["Cc"] = ", ".join(cc)
        message["Subject"] = str(config.get("subject") or "")
    except ValueError as error:
        raise NodeError(f"A header of the message is not valid: {error}") from None
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = sender.rsplit("@", 1)[-1].strip(">") or "localhost"
    message["Message-ID"] = f"<{_UNSAFE_ID.sub('-', ctx.execution_id)}.{_UNSAFE_ID.sub('-', ctx.node_id)}@{domain}>"
    text, html = config.get("text"), config.get("html")
    if text:
        message.set_content(str(text))
        if html:
            message.add_alternative(str(html), subtype="html")
    else:
        message.set_content(str(html), subtype="html")
    for file_id in _attachment_ids(config.get("attachments")):
        await _attach(ctx, message, file_id)
    return message


def _attachment_ids(value: Any) -> list[str]:
    if not value:
        return []
    items = value if isinstance(value, list) else [value]
    ids = [_file_id(item) for item in items]
    missing = [index for index, file_id in enumerate(ids) if file_id is None]
    if missing:
        raise NodeError(f"config.attachments[{missing[0]}] is not a fileId")
    return [file_id for file_id in ids if file_id is not None]


async def _attach(ctx: NodeContext, message: EmailMessage, file_id: str) -> None:
    if ctx.files is None:
        raise NodeError("Attachments need the hub's file store, which this run does not have")
    try:
        async with ctx.files.open(file_id) as stored:
            data = await asyncio.to_thread(Path(stored.path).read_bytes)
    except NodeError:
        raise
    except (LookupError, OSError):
        raise NodeError(f"Attachment {file_id!r} was not found; upload it with POST /api/files") from None
    maintype, _, subtype = stored.content_type.partition("/")
    if not maintype or not subtype:
        maintype, subtype = "application", "octet-stream"
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=stored.name)


def _smtp_failure(error: aiosmtplib.SMTPException, settings: SmtpSettings) -> str:
    """An SMTP failure as a person reads it; server replies are quoted, credentials never are."""
    where = f"{settings.host}:{settings.port}"
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        return f"SMTP server refused login for SMTP_USER ({error.code} {error.message})"
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        refused = "; ".join(f"{r.recipient} ({r.code} {r.message})" for r in error.recipients)
        return f"SMTP server refused every recipient: {refused}"
    if isinstance(error, aiosmtplib.SMTPSenderRefused):
        return f"SMTP server refused the sender {error.sender} ({error.code} {error.message})"
    if isinstance(error, aiosmtplib.SMTPConnectError):
        return f"Could not connect to the SMTP server at {where}: {error}"
    if isinstance(error, aiosmtplib.SMTPTimeoutError):
        return f"The SMTP server at {where} did not answer within {settings.timeout_seconds:g} s"
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return f"SMTP server at {where} answered {error.code} {error.message}"
    if "STARTTLS" in str(error):
        return f"The SMTP server at {where} does not offer STARTTLS; set SMTP_STARTTLS=false to send unencrypted"
    return f"SMTP error with {where}: {error}"
