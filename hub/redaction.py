"""Scrubs known secret values out of text before it is stored, published or logged."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"


class Redactor:
    """Replaces every known secret, raw or JSON-escaped, with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        variants: set[str] = set()
        for secret in secrets:
            if secret:
                variants.add(secret)
                variants.add(json.dumps(secret)[1:-1])
        self._secrets = sorted(variants, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def __bool__(self) -> bool:
        return bool(self._secrets)


def install_log_redaction(redactor: Redactor) -> None:
    """Scrubs every log record as it is made, whichever logger or handler (uvicorn's, arq's, Prefect's) gets it.

    A record factory, not a handler filter, because libraries such as Prefect add their handlers later.
    """
    if not redactor:
        return
    make_record = logging.getLogRecordFactory()

    def scrub(value: Any) -> Any:
        return redactor(value) if isinstance(value, str) else value

    def redacting_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        # Arguments are scrubbed one by one rather than merged into the message: formatters such as
        # uvicorn's access log read them by position.
        if isinstance(record.msg, str):
            record.msg = redactor(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(scrub(value) for value in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {key: scrub(value) for key, value in record.args.items()}
        if record.args and redactor(record.getMessage()) != record.getMessage():
            record.msg, record.args = redactor(record.getMessage()), None
        if record.exc_info:
            record.exc_text = redactor(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return record

    logging.setLogRecordFactory(redacting_record)


def quiet_chatty_loggers() -> None:
    """HTTP client libraries log every request at INFO, URLs and query strings included: keep them to warnings."""
    for name in ("httpx", "httpcore", "openai", "aiosqlite"):
        logging.getLogger(name).setLevel(logging.WARNING)
