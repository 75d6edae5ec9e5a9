"""Secrets are scrubbed from stored text and from every log record."""

from __future__ import annotations

import logging

import pytest

from hub.events import dumps
from hub.redaction import Redactor, install_log_redaction


def test_a_secret_is_masked_raw_and_json_escaped() -> None:
    redact = Redactor(['p@ss"word\\1'])
    assert redact(dumps({"error": 'login p@ss"word\\1 refused'})) == '{"error":"login *** refused"}'
    assert redact('raw p@ss"word\\1') == "raw ***"


def test_log_records_are_scrubbed_whoever_logs_them(caplog: pytest.LogCaptureFixture) -> None:
    original = logging.getLogRecordFactory()
    install_log_redaction(Redactor(["tok-9f8e7d"]))
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("some.library").info("calling with token=%s", "tok-9f8e7d")
            try:
                raise RuntimeError("bad token tok-9f8e7d")
            except RuntimeError:
                logging.getLogger("other").exception("failed")
    finally:
        logging.setLogRecordFactory(original)
    assert "tok-9f8e7d" not in caplog.text
    assert "token=***" in caplog.text and "bad token ***" in caplog.text


def test_positional_arguments_survive_for_formatters_that_read_them(caplog: pytest.LogCaptureFixture) -> None:
    original = logging.getLogRecordFactory()
    install_log_redaction(Redactor(["tok-9f8e7d"]))
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("access").info('%s - "%s %s" %d', "127.0.0.1", "GET", "/x?token=tok-9f8e7d", 200)
    finally:
        logging.setLogRecordFactory(original)
    record = caplog.records[-1]
    assert record.args == ("127.0.0.1", "GET", "/x?token=***", 200)
    assert record.getMessage() == '127.0.0.1 - "GET /x?token=***" 200'
