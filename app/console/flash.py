"""One-shot messages after an action ("已执行…", or the engine's refusal), in a signed cookie.

A redirect after a POST used to carry its message in ``?msg=`` / ``?error=``, which let
anyone craft a console link that shows a reviewer arbitrary text ("请将令牌发送至…") on a
genuine page. The message now travels in a cookie signed with a key derived from the session secret: only
the console can write one, the page that shows it deletes it, and the query string carries
nothing the page displays.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

from fastapi import Request, Response

from app.parsing import same

COOKIE = "filingflow_console_flash"
MAX_CHARS = 400  # a browser keeps about 4 KB per cookie


@dataclass(frozen=True, slots=True)
class Flash:
    """What the next page says: a confirmation (``ok``) and/or a refusal (``error``)."""

    ok: str | None = None
    error: str | None = None


def _sign(secret: bytes, body: str) -> str:
    return hmac.new(secret, f"flash:{body}".encode(), hashlib.sha256).hexdigest()


def put(response: Response, flash: Flash, *, secret: bytes, secure: bool) -> None:
    payload = {"ok": (flash.ok or "")[:MAX_CHARS], "error": (flash.error or "")[:MAX_CHARS]}
    body = base64.urlsafe_b64encode(json.dumps(payload, ensure_ascii=False).encode()).decode().rstrip("=")
    response.set_cookie(
        COOKIE,
        f"{body}.{_sign(secret, body)}",
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/console",
        max_age=300,
    )


def take(request: Request, *, secret: bytes) -> Flash:
    """The message a request's cookie carries, if the console signed it; nothing otherwise."""
    raw = request.cookies.get(COOKIE, "")
    body, _, signature = raw.partition(".")
    if not body or len(raw) > 4096 or not same(_sign(secret, body), signature):
        return Flash()
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return Flash()
    if not isinstance(payload, dict):
        return Flash()
    return Flash(str(payload.get("ok") or "") or None, str(payload.get("error") or "") or None)


def clear(request: Request, response: Response, *, secure: bool) -> None:
    """Delete the flash cookie once its page has shown it."""
    if COOKIE in request.cookies:
        response.delete_cookie(COOKIE, path="/console", secure=secure, httponly=True, samesite="strict")
