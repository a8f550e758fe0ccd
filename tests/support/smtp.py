"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, and can go down.

It can also be slow (``delay``), refuse recipients on cue (``rcpt_script``, e.g. a 450
greylisting reply), hold every DATA until N clients are connected (``hold_for_sessions``,
to make dispatchers overlap), speak STARTTLS or implicit TLS and require a login.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import threading
import time
from collections import deque
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.postgres import free_port


class Mailbox:
    """aiosmtpd handler: parses and keeps every message, optionally slowly."""

    def __init__(self, delay: float = 0.0, *, parse: bool = True) -> None:
        self.parse = parse  # False: keep raw bytes only (benchmarks: the server should cost little)
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.peers: list[tuple[str, int]] = []  # one entry per EHLO/HELO (STARTTLS says EHLO twice)
        self.rcpt_script: deque[str] = deque()  # replies to the next RCPT TOs; accepted when empty
        self.hold_for_sessions = 0
        self.delay = delay
        self._lock = threading.Lock()

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]) -> Any:
        session.host_name = hostname  # a handler with this hook must set it (aiosmtpd's contract)
        with self._lock:
            self.peers.append(session.peer)
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if self.rcpt_script:
            return self.rcpt_script.popleft()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's hook name
        deadline = time.monotonic() + 30  # a loaded machine starts the other client late
        while self.sessions() < self.hold_for_sessions and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            if self.parse:
                self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
            self.raw.append(envelope.content)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        with self._lock:
            return [str(m["Message-ID"]) for m in self.messages]

    def sessions(self) -> int:
        """Distinct client connections that said EHLO/HELO."""
        with self._lock:
            return len(set(self.peers))


class SmtpServer:
    """Start/stop a loopback SMTP server on a fixed port (so an outage and a recovery look alike).

    ``tls``: ``None``, ``"starttls"`` (required before AUTH) or ``"ssl"`` (implicit TLS) with
    ``certificate`` (a server ``ssl.SSLContext``); ``login``: (user, password) to require AUTH.
    """

    def __init__(
        self,
        delay: float = 0.0,
        *,
        tls: str | None = None,
        certificate: ssl.SSLContext | None = None,
        login: tuple[str, str] | None = None,
        parse: bool = True,
    ) -> None:
        self.port = free_port()  # aiosmtpd's controller cannot take port 0
        self.mailbox = Mailbox(delay, parse=parse)
        self.logins: list[tuple[str, bool]] = []  # (user, accepted)
        self._tls, self._certificate, self._login = tls, certificate, login
        self._controller: Controller | None = None

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if not isinstance(data, LoginPassword) or self._login is None:
            return AuthResult(success=False, handled=False)
        user, password = data.login.decode(), data.password.decode()
        accepted = (user, password) == self._login
        self.logins.append((user, accepted))
        return AuthResult(success=accepted, handled=False)

    def start(self) -> None:
        options: dict[str, Any] = {}
        if self._tls == "ssl":
            options["ssl_context"] = self._certificate
        elif self._tls == "starttls":
            options.update(tls_context=self._certificate, require_starttls=True)
        if self._login is not None:
            # aiosmtpd does not know an implicit-TLS socket is encrypted: there AUTH may not wait for
            # STARTTLS, and "required" would warn; the client logs in all the same (``logins`` says so)
            starttls = self._tls == "starttls"
            options.update(authenticator=self._authenticate, auth_required=starttls, auth_require_tls=starttls)
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
            time.sleep(0.05)
