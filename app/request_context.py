"""The id of the HTTP request being served, carried by a context variable.

Set by the request middleware (:mod:`app.api.observability`) from ``X-Request-ID`` or made
fresh; read by the log formatter (every line of a request names it) and by
:meth:`app.api.auth.Caller.actor`, so the audit event of a command records it too.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

REQUEST_ID: ContextVar[str | None] = ContextVar("filingflow_request_id", default=None)
HEADER = "X-Request-ID"
_ACCEPTED = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def accept_request_id(supplied: str | None) -> str:
    """The caller's id when it is a plain token of at most 64 characters, else a fresh one.

    An id is echoed in a header, logged and audited, so nothing else (spaces, quotes, control
    characters, unbounded length) is taken from the outside.
    """
    if supplied is not None and _ACCEPTED.fullmatch(supplied.strip()):
        return supplied.strip()
    return secrets.token_hex(16)


def current_request_id() -> str | None:
    return REQUEST_ID.get()
