"""Idempotency keys: a replayed command returns its first result and writes nothing.

Keys are scoped per caller (the actor's name), kept with a fingerprint of the command
they were first used for, and stored in the same transaction as the command itself, so
a key is recorded exactly when its command committed. The same key with a different
command is refused with :class:`~workflow.errors.IdempotencyKeyReused`.

Keys are kept at least :data:`MIN_RETENTION` (a replay within a day returns the first
result, RELIABILITY.md) and then purged by the worker's tick (:func:`purge_older_than`),
a small batch per transaction so the purge never holds the write lock for long.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from workflow.audit import canonical
from workflow.errors import IdempotencyKeyReused, InvalidInput
from workflow.tables import idempotency_keys

MAX_KEY_LENGTH = 255
MIN_RETENTION = timedelta(hours=24)
PURGE_BATCH = 500
PURGE_BATCHES_PER_RUN = 100
"""At most this many batches per call: a backlog (the first purge after an upgrade) drains over a few ticks."""


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


def purge_older_than(
    database: sa.Engine,
    table: sa.TableClause,
    key_columns: Sequence[sa.ColumnClause[object]],
    *,
    cutoff: datetime,
    batch: int = PURGE_BATCH,
) -> int:
    """Delete the rows of ``table`` created before ``cutoff``, ``batch`` rows a transaction; returns how many.

    ``table`` is this module's ``idempotency_keys`` or any other key table with a ``created_at``
    column (the app's HTTP keys); ``key_columns`` identify a row. On PostgreSQL rows another
    purge has locked are skipped, so two workers never wait on each other.
    """
    purged = 0
    for _ in range(PURGE_BATCHES_PER_RUN):
        with database.begin() as conn:
            chosen = sa.select(*key_columns).where(table.c.created_at < cutoff).limit(batch)
            if conn.dialect.name == "postgresql":
                chosen = chosen.with_for_update(skip_locked=True)
            done = int(conn.execute(table.delete().where(sa.tuple_(*key_columns).in_(chosen))).rowcount)
        purged += done
        if done < batch:
            break
    return purged


def purge_keys(database: sa.Engine, *, cutoff: datetime, batch: int = PURGE_BATCH) -> int:
    """Forget the engine's idempotency keys created before ``cutoff`` (see :func:`purge_older_than`)."""
    return purge_older_than(
        database, idempotency_keys, (idempotency_keys.c.scope, idempotency_keys.c.key), cutoff=cutoff, batch=batch
    )
