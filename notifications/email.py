"""Email over SMTP with aiosmtplib, and a development sink that writes ``.eml`` files.

One SMTP connection is opened per batch and reused for every message in it. Each
message carries a ``Message-ID`` derived from its notice's idempotency key, so a
duplicate after a crash mid-send is recognisable as the same message. Subjects and
sender names in Chinese are encoded by the standard library's SMTP policy (RFC 2047).
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.headerregistry import Address
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from pathlib import Path
from types import TracebackType
from typing import Protocol

import aiosmtplib

from notifications.errors import DeliveryFailed
from notifications.rendering import RenderedEmail


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int = 25
    tls: str = "none"  # none | starttls | ssl
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class Sender:
    address: str
    name: str = "FilingFlow"


def message_id(idempotency_key: str, domain: str) -> str:
    """A stable Message-ID: the same notice always yields the same header."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def build_message(
    rendered: RenderedEmail, *, sender: Sender, to: str, idempotency_key: str, sent_at: datetime
) -> Message:
    """A multipart/alternative message (plain text and HTML, UTF-8).

    Built with the ``compat32`` MIME classes and explicit RFC 2047 headers: the modern
    ``EmailMessage`` header machinery cost about 2 ms a message here, most of a dispatch.
    """
    message = MIMEMultipart("alternative")
    message["From"] = formataddr((sender.name, sender.address))  # non-ASCII names are RFC 2047-encoded
    message["To"] = to
    message["Subject"] = Header(rendered.subject, "utf-8").encode()
    message["Message-ID"] = message_id(idempotency_key, sender.address.rpartition("@")[2] or "filingflow.local")
    message["Date"] = format_datetime(sent_at)
    message["X-FilingFlow-Notice"] = idempotency_key
    message.attach(MIMEText(rendered.text, "plain", "utf-8"))
    message.attach(MIMEText(rendered.html, "html", "utf-8"))
    return message


class EmailChannel(Protocol):
    """Sends messages within one batch (``async with channel:``)."""

    async def __aenter__(self) -> EmailChannel: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def send(self, message: Message) -> str: ...


class SmtpChannel:
    """Delivers through an SMTP server, one connection per batch."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings
        self._client: aiosmtplib.SMTP | None = None

    def __repr__(self) -> str:
        return f"SmtpChannel({self._settings.host}:{self._settings.port}, tls={self._settings.tls})"

    async def __aenter__(self) -> SmtpChannel:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            try:
                await self._client.quit()
            except aiosmtplib.SMTPException:
                self._client.close()
            self._client = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        s = self._settings
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            use_tls=s.tls == "ssl",
            start_tls=s.tls == "starttls",
            timeout=s.timeout,
            tls_context=ssl.create_default_context() if s.tls != "none" else None,
        )
        try:
            await client.connect()
            if s.username:
                await client.login(s.username, s.password or "")
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP {s.host}:{s.port} unavailable: {exc}", transient=True) from exc
        self._client = client
        return client

    async def send(self, message: Message) -> str:
        client = await self._connected()
        try:
            errors, _response = await client.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed(f"recipient refused: {exc}", transient=False) from exc
        except aiosmtplib.SMTPResponseException as exc:
            self._drop()
            raise DeliveryFailed(f"SMTP {exc.code}: {exc.message}", transient=exc.code < 500) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._drop()
            raise DeliveryFailed(f"SMTP failure: {exc}", transient=True) from exc
        if errors:
            raise DeliveryFailed(f"recipients refused: {errors}", transient=False)
        return str(message["Message-ID"])

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class MailDirSink:
    """Development delivery: each message is written to ``./var/mail/<message-id>.eml``."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def __repr__(self) -> str:
        return f"MailDirSink({self._folder})"

    async def __aenter__(self) -> MailDirSink:
        self._folder.mkdir(parents=True, exist_ok=True)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def send(self, message: Message) -> str:
        name = str(message["Message-ID"]).strip("<>").replace("@", "_at_")
        (self._folder / f"{name}.eml").write_bytes(bytes(message))
        return str(message["Message-ID"])


def valid_address(address: str) -> bool:
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError):
        return False
    return "@" in address
