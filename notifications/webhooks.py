"""Webhook deliveries: signed JSON POSTs telling a backend about changes it did not cause.

The body is the change as the outbox stored it; ``X-FilingFlow-Signature`` is
HMAC-SHA256 with the subscription's secret over ``"{timestamp}.{body}"``, and
``X-FilingFlow-Timestamp`` lets the receiver refuse replays. 2xx is delivered; 429, 5xx
and network errors are retried like notices; any other 4xx is permanent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from notifications.errors import DeliveryFailed
from notifications.sms import signature


class WebhookSender:
    def __init__(self, *, now: Callable[[], datetime], timeout: float = 10.0) -> None:
        self._now = now
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return "WebhookSender()"

    async def __aenter__(self) -> WebhookSender:
        return self  # the client (and its TLS context, ~30 ms to load) is made at the first delivery

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def send(self, *, url: str, secret: str, payload: dict[str, Any], idempotency_key: str) -> str:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)  # one connection pool per batch
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        timestamp = str(int(self._now().timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-FilingFlow-Timestamp": timestamp,
            "X-FilingFlow-Signature": signature(secret, timestamp, body),
            "X-FilingFlow-Delivery": idempotency_key,
        }
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            # A URL no client can send to (stored before the API checked URLs, or edited in the
            # database) fails only its own notice, for good: it must not abort the batch around it.
            raise DeliveryFailed(f"webhook {url!r} cannot be sent to: {exc}", transient=False) from exc
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"webhook {url} unreachable: {exc!r}", transient=True) from exc
        if response.status_code < 300:
            return f"webhook:{response.status_code}"
        transient = response.status_code >= 500 or response.status_code == 429
        raise DeliveryFailed(f"webhook {url} answered {response.status_code}", transient=transient)
