"""The three secrets FilingFlow needs, one per purpose, never a default in the source.

* the **audit key** (``FILINGFLOW_AUDIT_KEY``): HMAC key of the audit chain, used as given so
  chains written under it keep verifying;
* the **session secret** (``FILINGFLOW_SESSION_KEY``): signs console sessions and their one-shot
  messages; rotating it signs everyone out and changes nothing else;
* the **CSRF secret** (``FILINGFLOW_CSRF_KEY``): derives the console's form tokens (sign-in
  and per-session); rotating it only invalidates forms already on screen.

Each may come from the environment or from a file named by ``*_FILE`` (a container secret).
The keys the console uses are derived from their secret with HKDF-SHA256 (RFC 5869) and a
label per use, so one secret never serves two purposes under the same key.

With the embedded SQLite database (one office, one machine) a secret that is not given is
generated on first start: 32 random bytes in ``<var dir>/secrets/<name>.key``, mode 0600,
created exclusively so two processes starting together agree; start-up says where. Where
several processes share a database (PostgreSQL) every secret must be given: a generated one
would differ per machine, so start-up refuses, naming the variable.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from app.settings import Settings, SettingsError

log = logging.getLogger("filingflow")

# the variable naming each secret, and the file name of a generated one
SECRETS = {
    "audit_key": "FILINGFLOW_AUDIT_KEY",
    "session_key": "FILINGFLOW_SESSION_KEY",
    "csrf_key": "FILINGFLOW_CSRF_KEY",
}


_ANNOUNCED: set[Path] = set()  # paths already named in this process's log


def hkdf(secret: bytes, info: str, length: int = 32) -> bytes:
    """HKDF-SHA256 (RFC 5869) with an empty salt: a key for one named use of ``secret``."""
    prk = hmac.new(b"\x00" * 32, secret, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info.encode() + bytes([counter]), hashlib.sha256).digest()
        out, counter = out + block, counter + 1
    return out[:length]


@dataclass(frozen=True, slots=True)
class ConsoleKeys:
    """The console's keys: sessions and flash messages (session secret), form tokens (CSRF secret)."""

    session: bytes
    flash: bytes
    csrf: bytes

    @classmethod
    def derive(cls, session_secret: bytes, csrf_secret: bytes) -> ConsoleKeys:
        return cls(
            session=hkdf(session_secret, "filingflow console session v1"),
            flash=hkdf(session_secret, "filingflow console flash v1"),
            csrf=hkdf(csrf_secret, "filingflow console csrf v1"),
        )


def audit_key(settings: Settings) -> bytes:
    """The audit chain's HMAC key (every command needs it)."""
    return _secret(settings, "audit_key")


def console_keys(settings: Settings) -> ConsoleKeys:
    """The console's keys (only ``filingflow serve`` needs them)."""
    return ConsoleKeys.derive(_secret(settings, "session_key"), _secret(settings, "csrf_key"))


def _secret(settings: Settings, name: str) -> bytes:
    """The secret ``settings`` give, generated on SQLite when missing, refused on a shared database."""
    value: str | None = getattr(settings, name)
    if value:
        return value.encode()
    if not settings.database_url.startswith("sqlite"):
        variable = SECRETS[name]
        raise SettingsError(
            f"{variable} (or {variable}_FILE) must be set with a shared database: "
            "every process needs the same secret, so none is generated"
        )
    return _stored(Path(settings.var_dir) / "secrets" / f"{name}.key")


def _stored(path: Path) -> bytes:
    """The secret kept in ``path``, created (random, mode 0600) if it is not there yet.

    Written to a private temporary file and linked into place (fails if the name exists), so two
    processes starting together never read a half-written file and both end up with the same secret.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_hex(32).encode() + b"\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)
            log.warning("generated a new secret in %s (mode 0600): keep it, back it up with the database", path)
        except FileExistsError:
            pass  # another process was first: use its secret
        finally:
            temporary.unlink()
    elif path not in _ANNOUNCED:
        _ANNOUNCED.add(path)
        log.info("secret read from %s", path)
    value = path.read_bytes().strip()
    if not value:
        raise SettingsError(f"{path} is empty: delete it to generate a new secret")
    return value
