"""One strict parser for what arrives from outside: headers, cookies, query parameters, form fields.

``str.isdigit()`` accepts "²" and "٣", which ``int()`` then refuses or reads as another number,
and ``hmac.compare_digest`` raises on non-ASCII text: both turned odd bytes into 500s. Here a
number is ASCII digits only, of bounded length, range-checked before it reaches the database,
and secrets are compared as bytes, so any text compares (unequal) instead of raising.
"""

from __future__ import annotations

import hmac

DIGITS = frozenset("0123456789")
DB_INT_MAX = 2**31 - 1  # the widest id or count a database INTEGER column holds on every backend


def whole(raw: str | None, *, minimum: int = 0, maximum: int = DB_INT_MAX) -> int | None:
    """The number ``raw`` spells in ASCII digits within ``minimum..maximum``; ``None`` for anything else."""
    if not raw or len(raw) > len(str(maximum)) or not set(raw) <= DIGITS:
        return None
    value = int(raw)
    return value if minimum <= value <= maximum else None


def same(expected: str, given: str | None) -> bool:
    """Constant-time equality of two texts, compared as UTF-8 bytes (never raises on odd characters)."""
    if given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))
