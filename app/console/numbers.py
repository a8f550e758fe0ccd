"""Numbers from console forms and queries: ASCII digits within range, else a 422 naming the field."""

from __future__ import annotations

from app.api.problems import ApiProblem
from app.console.web import Posted
from app.parsing import DB_INT_MAX, whole


def number(raw: str, field: str, *, minimum: int = 0, maximum: int = DB_INT_MAX) -> int:
    """A form or query number: ASCII digits within range (:func:`app.parsing.whole`), else 422 naming the field."""
    value = whole(raw.strip(), minimum=minimum, maximum=maximum)
    if value is None:
        raise ApiProblem(
            422,
            "invalid-input",
            "Invalid input",
            f"{field}: {raw[:40]!r} is not a whole number in {minimum}..{maximum}",
            field=field,
        )
    return value


def optional_number(posted: Posted, field: str, *, minimum: int = 0, maximum: int = DB_INT_MAX) -> int | None:
    """A form number that may be left blank (``None``)."""
    raw = posted.text(field).strip()
    return number(raw, field, minimum=minimum, maximum=maximum) if raw else None


def working_days(raw: str | None) -> int | None:
    """A blank form field means "any"; otherwise 0..60 working days."""
    if not raw:
        return None
    return number(raw, "due_within", maximum=60)
