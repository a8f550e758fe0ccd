"""Idempotency keys: a replayed command returns its first result and writes nothing.

Keys are scoped per caller (the actor's name), kept with a fingerprint of the command
they were first used for, and stored in the same transaction as the command itself, so
a key is recorded exactly when its command committed. The same key with a different
command is refused with :class:`~workflow.errors.IdempotencyKeyReused`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from workflow.audit import canonical
from workflow.errors import IdempotencyKeyReused, InvalidInput
from workflow.tables import idempotency_keys

MAX_KEY_LENGTH = 255


def fingerprint(command: str, **arguments: Any) -> str:
    return hashlib.sha256(canonical({"command": command, **arguments}).encode()).hexdigest()


def check_key(key: str | None) -> None:
    if key is not None and (not key or len(key) > MAX_KEY_LENGTH):
        raise InvalidInput(f"idempotency key must be 1..{MAX_KEY_LENGTH} characters", field="idempotency_key")


def find_replay(connection: sa.Connection, *, scope: str, key: str | None, print_: str) -> dict[str, Any] | None:
    """The stored first result for this key, or ``None`` if the key is new."""
    if key is None:
        return None
    row = connection.execute(
        sa.select(idempotency_keys.c.fingerprint, idempotency_keys.c.result).where(
            idempotency_keys.c.scope == scope, idempotency_keys.c.key == key
        )
    ).first()
    if row is None:
        return None
    if row.fingerprint != print_:
        raise IdempotencyKeyReused(
            f"idempotency key {key!r} was already used for a different command", field="idempotency_key"
        )
    result: dict[str, Any] = row.result
    return result


def remember(
    connection: sa.Connection,
    *,
    scope: str,
    key: str | None,
    print_: str,
    case_id: int,
    result: dict[str, Any],
    now: datetime,
) -> None:
    if key is None:
        return
    connection.execute(
        idempotency_keys.insert().values(
            scope=scope, key=key, fingerprint=print_, case_id=case_id, result=result, created_at=now
        )
    )
