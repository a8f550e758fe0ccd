"""Log lines for machines and people: ``FILINGFLOW_LOG_FORMAT`` = ``text`` (default), ``json`` or ``logfmt``.

Every line carries a UTC timestamp, the level, the logger, the message, the request id
while a request is served, and any ``extra={...}`` fields (the access log's method, path,
status and duration). The timestamp is the wall-clock instant the line was written (from
the log record), not the engine's clock: a sandbox moves case time, never log time.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from app.request_context import current_request_id

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# a record's own attributes, and uvicorn's color_message (an ANSI copy of msg), are not extra fields
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id", "color_message"}
QUIET = ("transitions", "alembic", "apscheduler", "uvicorn.access")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    at = _EPOCH + timedelta(seconds=record.created)
    fields: dict[str, Any] = {
        "ts": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    request_id = getattr(record, "request_id", None) or current_request_id()
    if request_id:
        fields["request_id"] = request_id
    fields.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
    if record.exc_info:
        fields["exc"] = logging.Formatter().formatException(record.exc_info)
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record), ensure_ascii=False, default=str)


class LogfmtFormatter(logging.Formatter):
    """``key=value`` pairs, values quoted when they hold spaces, quotes or ``=``."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{key}={_logfmt_value(value)}" for key, value in _fields(record).items())


class TextFormatter(logging.Formatter):
    """For a terminal: ``2026-12-06T02:30:00.123Z INFO filingflow: message [request_id]``."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        extra = {k: v for k, v in fields.items() if k not in {"ts", "level", "logger", "msg", "exc"}}
        tail = "".join(f" {k}={_logfmt_value(v)}" for k, v in extra.items())
        line = f"{fields['ts']} {record.levelname} {record.name}: {fields['msg']}{tail}"
        return f"{line}\n{fields['exc']}" if "exc" in fields else line


def _logfmt_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if text == "" or any(ch in text for ch in ' "=\n\t'):
        return json.dumps(text, ensure_ascii=False)
    return text


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    """Install one handler on the root logger with the chosen formatter (idempotent)."""
    formatter = {"json": JsonFormatter, "logfmt": LogfmtFormatter}.get(log_format, TextFormatter)()
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):  # uvicorn's own lines go through the same formatter
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
