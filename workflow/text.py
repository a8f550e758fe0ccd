"""What counts as text a person can read, for the fields that must not be empty.

``str.strip()`` removes spaces but not zero-width and other format characters (U+200B, U+FEFF,
bidi marks): a reason of only ``"\u200b"`` would pass a ``strip()`` check and be an invisible
reason in the audit trail. A field is blank unless it has a letter, digit, mark, punctuation or
symbol: Unicode categories other than separators (Z*) and others (C*: control, format, unassigned).
"""

from __future__ import annotations

import unicodedata


def is_blank(text: str) -> bool:
    """True when ``text`` has nothing a reader could see."""
    return all(unicodedata.category(char)[0] in "ZC" for char in text)
