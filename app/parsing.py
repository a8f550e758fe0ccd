"""One strict parser for what arrives from outside: headers, cookies, query parameters, form fields.

``str.isdigit()`` accepts "²" and "٣", which ``int()`` then refuses or reads as another number,
and ``hmac.compare_digest`` raises on non-ASCII text: both turned odd bytes into 500s. Here a
number is ASCII digits only, of bounded length, range-checked before it reaches the database,
and secrets are compared as bytes, so any text compares (unequal) instead of raising.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime

DIGITS = frozenset("0123456789")
DB_INT_MAX = 2**31 - 1  # the widest id or count a database INTEGER column holds on every backend


def whole(raw: str | None, *, minimum: int = 0, maximum: int = DB_INT_MAX) -> int | None:
    """The number ``raw`` spells in ASCII digits within ``minimum..maximum``; ``None`` for anything else."""
    if not raw or len(raw) > len(str(maximum)) or not set(raw) <= DIGITS:
        return None
    value = int(raw)
    return value if minimum <= value <= maximum else None


# RFC 3339 with ASCII digits only: "0.5" is not a time (no Unix timestamps), "２０２５" is not a year
_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?([Zz]|[+-][0-9]{2}:[0-9]{2})?"
)


class NotAnInstant(ValueError):
    def __init__(self, field: str, raw: str) -> None:
        super().__init__(f"{field}: {raw[:40]!r} is not an RFC 3339 date-time (e.g. 2025-10-10T23:59:59+08:00)")
        self.field = field


def instant(raw: str, *, field: str) -> datetime:
    """An RFC 3339 date-time (a naive one comes back naive, for the caller to refuse); else :class:`NotAnInstant`."""
    if not _INSTANT.fullmatch(raw):
        raise NotAnInstant(field, raw)
    try:
        return datetime.fromisoformat(raw.upper().replace("Z", "+00:00"))
    except ValueError:
        raise NotAnInstant(field, raw) from None


def same(expected: str, given: str | None) -> bool:
    """Constant-time equality of two texts, compared as UTF-8 bytes (never raises on odd characters)."""
    if given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))
