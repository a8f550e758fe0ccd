"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, and can go down."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.postgres import free_port


class Mailbox:
    """aiosmtpd handler: parses and keeps every message, optionally slowly."""

    def __init__(self, delay: float = 0.0) -> None:
        self.messages: list[EmailMessage] = []
        self.delay = delay
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's hook name
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        with self._lock:
            return [str(m["Message-ID"]) for m in self.messages]


class SmtpServer:
    """Start/stop a loopback SMTP server on a fixed port (so an outage and a recovery look alike)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.port = free_port()  # aiosmtpd's controller cannot take port 0
        self.mailbox = Mailbox(delay)
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
            time.sleep(0.05)
