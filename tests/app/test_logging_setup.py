"""FILINGFLOW_LOG_FORMAT: json and logfmt lines with a UTC timestamp, the request id and extra fields."""

from __future__ import annotations

import json
import logging
import re

import pytest

from app.logging_setup import JsonFormatter, LogfmtFormatter, TextFormatter
from app.request_context import REQUEST_ID, accept_request_id
from app.settings import Settings, SettingsError


def record(**extra: object) -> logging.LogRecord:
    made = logging.makeLogRecord({"name": "filingflow.access", "levelname": "INFO", "msg": "GET %s 200"})
    made.args = ("/v1/cases",)
    made.created = 1764988200.25  # 2025-12-06T02:30:00.250Z
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_json_lines_carry_timestamp_level_logger_message_request_id_and_extras() -> None:
    token = REQUEST_ID.set("req-1")
    try:
        line = JsonFormatter().format(record(status=200, path="/v1/cases"))
    finally:
        REQUEST_ID.reset(token)
    assert json.loads(line) == {
        "ts": "2025-12-06T02:30:00.250Z",
        "level": "info",
        "logger": "filingflow.access",
        "msg": "GET /v1/cases 200",
        "request_id": "req-1",
        "status": 200,
        "path": "/v1/cases",
    }


def test_logfmt_quotes_values_with_spaces_and_text_is_readable() -> None:
    line = LogfmtFormatter().format(record(request_id="abc", path="/v1/cases"))
    assert line == 'ts=2025-12-06T02:30:00.250Z level=info logger=filingflow.access msg="GET /v1/cases 200" ' + (
        "request_id=abc path=/v1/cases"
    )
    text = TextFormatter().format(record(request_id="abc"))
    assert text == "2025-12-06T02:30:00.250Z INFO filingflow.access: GET /v1/cases 200 request_id=abc"


def test_the_log_format_is_one_setting_and_a_bad_value_names_the_variable() -> None:
    assert Settings.from_env({"FILINGFLOW_LOG_FORMAT": "json"}).log_format == "json"
    assert Settings.from_env({}).log_format == "text"
    with pytest.raises(SettingsError, match="FILINGFLOW_LOG_FORMAT"):
        Settings.from_env({"FILINGFLOW_LOG_FORMAT": "xml"})


def test_request_ids_from_outside_are_plain_bounded_tokens() -> None:
    assert accept_request_id("portal-7f3a:2") == "portal-7f3a:2"
    for bad in (None, "", "has space", "x" * 65, 'quote"', "new\nline"):
        made = accept_request_id(bad)
        assert re.fullmatch(r"[0-9a-f]{32}", made), bad
