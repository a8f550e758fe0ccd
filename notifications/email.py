"""Email over SMTP with aiosmtplib, and a development sink that writes ``.eml`` files.

One SMTP connection is opened per batch and reused for every message in it. Each
message carries a ``Message-ID`` derived from its notice's idempotency key, so a
duplicate after a crash mid-send is recognisable as the same message. Subjects and
sender names in Chinese travel as RFC 2047 encoded words (``email.header.Header``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email import base64mime
from email.header import Header
from email.headerregistry import Address
from email.message import Message
from email.utils import format_datetime, formataddr
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Protocol

import aiosmtplib

from notifications.errors import ChannelDown, DeliveryFailed
from notifications.rendering import RenderedEmail


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int = 25
    tls: str = "none"  # none | starttls | ssl
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    ca_file: str | None = None  # trust this CA bundle (a private CA) instead of the system's


@dataclass(frozen=True, slots=True)
class Sender:
    address: str
    name: str = "FilingFlow"


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """A built message and its SMTP envelope (the headers may be RFC 2047 words, not addresses)."""

    sender: str
    to: str
    message_id: str
    message: Message


def message_id(idempotency_key: str, domain: str) -> str:
    """A stable Message-ID: the same notice always yields the same header."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def _from_header(sender: Sender) -> str | Header:
    """``Name <address>``; a non-ASCII name as RFC 2047 words the generator folds itself.

    Assigning a pre-encoded string (``Header(...).encode()``) made the generator re-fold it
    and long Chinese names and subjects decoded with stray spaces; a ``Header`` object is
    folded once, between encoded words, where decoders drop the whitespace.
    """
    if sender.name.isascii():
        return formataddr((sender.name, sender.address))
    header = Header(sender.name, "utf-8", header_name="From")
    header.append(f"<{sender.address}>", "us-ascii")
    return header


def _text_part(body: str, subtype: str) -> Message:
    """A base64 UTF-8 text part, headers written out: what ``MIMEText(body, subtype, "utf-8")``
    produces, without its parameter parsing (half the cost of building a message)."""
    part = Message()
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    part["MIME-Version"] = "1.0"
    part["Content-Transfer-Encoding"] = "base64"
    part.set_payload(base64mime.body_encode(body.encode("utf-8")))
    return part


def _calendar_part(calendar: bytes) -> Message:
    """An iCalendar attachment (RFC 5545 body, RFC 6047 media type), base64, named in UTF-8 (RFC 2231)."""
    part = Message()
    part["Content-Type"] = 'text/calendar; charset="utf-8"; method=PUBLISH; name="deadline.ics"'
    part["Content-Transfer-Encoding"] = "base64"
    part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", "截止日期.ics"))
    part.set_payload(base64mime.body_encode(calendar))
    return part


def build_message(
    rendered: RenderedEmail,
    *,
    sender: Sender,
    to: str,
    idempotency_key: str,
    sent_at: datetime,
    calendar: bytes | None = None,
) -> OutgoingEmail:
    """A multipart/alternative message (plain text and HTML, UTF-8), dated ``sent_at`` (real time).

    With ``calendar`` (an iCalendar body, :mod:`notifications.ics`), the message is
    multipart/mixed: the alternative part, then ``截止日期.ics`` as a ``text/calendar``
    attachment (``method=PUBLISH``) that mail clients offer to add to the calendar.

    Built with ``compat32`` messages and ``Header`` objects: the modern ``EmailMessage``
    header machinery cost about 2 ms a message here, most of a dispatch. The boundary is
    derived from the notice (``_`` never occurs in base64 bodies, so it cannot collide),
    which spares the generator a fresh regular expression per message.
    """
    mid = message_id(idempotency_key, sender.address.rpartition("@")[2] or "filingflow.local")
    digest = mid[1 : mid.index("@")]
    subject = rendered.subject
    body = Message()
    body["Content-Type"] = f'multipart/alternative; boundary="==_filingflow_{digest}_=="'
    body.attach(_text_part(rendered.text, "plain"))
    body.attach(_text_part(rendered.html, "html"))
    if calendar is None:
        message = body
    else:
        message = Message()
        message["Content-Type"] = f'multipart/mixed; boundary="==_filingflow_{digest}_mixed_=="'
        message.attach(body)
        message.attach(_calendar_part(calendar))
    message["MIME-Version"] = "1.0"
    message["From"] = _from_header(sender)  # type: ignore[assignment]  # compat32 takes Header objects
    message["To"] = to
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8", header_name="Subject")  # type: ignore[assignment]
    message["Message-ID"] = mid
    message["Date"] = format_datetime(sent_at)
    message["X-FilingFlow-Notice"] = idempotency_key
    return OutgoingEmail(sender=sender.address, to=to, message_id=mid, message=message)


class EmailChannel(Protocol):
    """Sends messages within one batch (``async with channel:``)."""

    async def __aenter__(self) -> EmailChannel: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def send(self, email: OutgoingEmail) -> str:
        """Deliver one message; return its provider id or raise DeliveryFailed / ChannelDown."""
        ...


def _refusal(refused: list[tuple[str, int, str]]) -> DeliveryFailed:
    """Refused recipients: transient only if every refusal is 4xx (greylisting, mailbox busy)."""
    detail = "; ".join(f"{rcpt}: {code} {text}" for rcpt, code, text in refused)
    transient = all(400 <= code < 500 for _, code, _ in refused)
    return DeliveryFailed(f"recipient refused: {detail}", transient=transient)


class SmtpChannel:
    """Delivers through an SMTP server, one connection per batch.

    A failure to connect, or a connection that drops or stops answering, raises
    :class:`ChannelDown` (the dispatcher then holds back the rest of the batch); an SMTP
    reply is judged by its code: 4xx transient, 5xx permanent.
    """

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
            transport = self._client.transport
            try:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await self._client.quit()
            finally:
                _release(self._client, transport)
            self._client = None

    def _tls_context(self) -> ssl.SSLContext | None:
        if self._settings.tls == "none":
            return None
        return ssl.create_default_context(cafile=self._settings.ca_file)

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
            tls_context=self._tls_context(),
        )
        try:
            await client.connect()
            if s.username:
                await client.login(s.username, s.password or "")
        except aiosmtplib.SMTPAuthenticationError as exc:
            _release(client, client.transport)
            raise ChannelDown(f"SMTP {s.host}:{s.port} refused the login: {exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            _release(client, client.transport)
            raise ChannelDown(f"SMTP {s.host}:{s.port} unavailable: {exc}") from exc
        self._client = client
        return client

    async def send(self, email: OutgoingEmail) -> str:
        client = await self._connected()
        try:
            errors, _response = await client.send_message(email.message, sender=email.sender, recipients=[email.to])
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise _refusal([(r.recipient, r.code, r.message) for r in exc.recipients]) from exc
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
            self._drop()
            raise ChannelDown(f"SMTP connection lost: {exc}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            self._drop()
            if exc.code == 421:  # "service not available, closing channel"
                raise ChannelDown(f"SMTP {exc.code}: {exc.message}") from exc
            raise DeliveryFailed(f"SMTP {exc.code}: {exc.message}", transient=exc.code < 500) from exc
        except aiosmtplib.SMTPException as exc:
            self._drop()
            raise DeliveryFailed(f"SMTP failure: {exc}", transient=True) from exc
        if errors:
            raise _refusal([(rcpt, reply.code, reply.message) for rcpt, reply in errors.items()])
        return email.message_id

    def _drop(self) -> None:
        if self._client is not None:
            _release(self._client, self._client.transport)
            self._client = None


def _release(client: aiosmtplib.SMTP, transport: asyncio.BaseTransport | None) -> None:
    """Close the connection and its socket now, not after a TLS goodbye.

    ``close()`` on a TLS connection starts a shutdown that waits for the server's close_notify;
    the batch's event loop ends first, and the socket under it is left open until the garbage
    collector finds it (a ResourceWarning, an fd held meanwhile). The session is over either way
    (QUIT answered, or the connection failed), so the transport is aborted: closed at the loop's
    next turn, which ``asyncio.run`` still gives it.
    """
    client.close()
    if isinstance(transport, asyncio.WriteTransport):  # aiosmtplib connects with one (abort() lives there)
        with contextlib.suppress(RuntimeError):  # already torn down by the failure that brought us here
            transport.abort()


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

    async def send(self, email: OutgoingEmail) -> str:
        name = email.message_id.strip("<>").replace("@", "_at_")
        (self._folder / f"{name}.eml").write_bytes(bytes(email.message))
        return email.message_id


@lru_cache(maxsize=4096)  # the staff mailbox and repeat applicants: parsed once
def valid_address(address: str) -> bool:
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError):
        return False
    return "@" in address
