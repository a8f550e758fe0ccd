"""JSON bodies built straight from the plain dicts the views return.

FastAPI's ``jsonable_encoder`` walks every value in Python and cost more than the rest of a
case read together (0.5 ms for one case body here); the views already return JSON-shaped
data, so ``json.dumps`` with a ``default`` for the few non-JSON types does the same job.
Datetimes come out as ``isoformat()``, as ``jsonable_encoder`` wrote them.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi.responses import Response


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_default).encode()


class JsonBody(Response):
    """``application/json`` from a view's plain data (see the module docstring)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else dumps(content)
