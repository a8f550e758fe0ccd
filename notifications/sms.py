"""SMS through a gateway interface: an HTTP gateway, and a development sink file.

The HTTP gateway receives ``POST {"to", "text", "idempotency_key"}`` as JSON, signed with
HMAC-SHA256 over ``"{timestamp}.{body}"`` in ``X-FilingFlow-Signature`` (timestamp in
``X-FilingFlow-Timestamp``, real time, never the sandbox clock), and answers
``{"message_id": ...}``. 5xx, 408, 429 and timeouts are transient; other 4xx answers are
permanent (the request itself is wrong). A 2xx without a message id was still accepted:
it counts as sent (provider id :data:`UNKNOWN_ID`, with a warning), never sent again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

import httpx

from notifications.errors import ChannelDown, DeliveryFailed

log = logging.getLogger("filingflow.notifications")
UNKNOWN_ID = "unknown"  # the gateway accepted the SMS but named no message id
TRANSIENT_4XX = frozenset({408, 429})  # request timeout, rate limited: the same request may pass later


class SmsGateway(Protocol):
    """Sends SMS within one batch (``async with gateway:``), like the email channels."""

    async def __aenter__(self) -> SmsGateway: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def send(self, *, to: str, text: str, idempotency_key: str) -> str:
        """Deliver one SMS; return the provider's message id or raise DeliveryFailed."""
        ...


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class HttpSmsGateway:
    """An SMS provider reached over HTTPS with a signed JSON POST."""

    def __init__(self, url: str, secret: str, *, now: Callable[[], datetime], timeout: float = 10.0) -> None:
        self._url = url
        self._secret = secret
        self._now = now
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"HttpSmsGateway({self._url!r})"

    async def __aenter__(self) -> HttpSmsGateway:
        return self  # the client (and its TLS context, ~30 ms to load) is made at the first SMS

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def send(self, *, to: str, text: str, idempotency_key: str) -> str:
        body = json.dumps({"to": to, "text": text, "idempotency_key": idempotency_key}, ensure_ascii=False).encode()
        timestamp = str(int(self._now().timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-FilingFlow-Timestamp": timestamp,
            "X-FilingFlow-Signature": signature(self._secret, timestamp, body),
            "Idempotency-Key": idempotency_key,
        }
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)  # one connection pool per batch
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ChannelDown(f"SMS gateway unreachable: {exc!r}") from exc
        except httpx.TimeoutException as exc:  # it may have received the request: retry with the same key
            raise DeliveryFailed(f"SMS gateway timed out: {exc!r}", transient=True) from exc
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"SMS gateway unreachable: {exc!r}", transient=True) from exc
        status = response.status_code
        if status >= 500 or status in TRANSIENT_4XX:
            raise DeliveryFailed(f"SMS gateway {status}: {response.text[:200]}", transient=True)
        if status >= 400:
            raise DeliveryFailed(f"SMS gateway refused {status}: {response.text[:200]}", transient=False)
        if status >= 300:
            raise DeliveryFailed(f"SMS gateway answered {status}: {response.text[:200]}", transient=False)
        try:
            return str(response.json()["message_id"])
        except (ValueError, KeyError, TypeError):
            log.warning(
                "SMS gateway accepted %s (%s) without a message_id: recorded as sent, provider id unknown: %s",
                idempotency_key,
                status,
                response.text[:200],
            )
            return UNKNOWN_ID


class FileSmsSink:
    """Development delivery: one JSON line per SMS appended to ``./var/sms.log``."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def __repr__(self) -> str:
        return f"FileSmsSink({self._path})"

    async def __aenter__(self) -> FileSmsSink:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def send(self, *, to: str, text: str, idempotency_key: str) -> str:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"to": to, "text": text, "idempotency_key": idempotency_key}, ensure_ascii=False)
        with self._path.open("a", encoding="utf-8") as log:
            log.write(line + "\n")
        return f"sink:{hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]}"
