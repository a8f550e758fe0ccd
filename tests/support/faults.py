"""Storage faults injected at the database driver's boundary, at fixed rates and a fixed seed.

The driver is a third party we cannot break on demand, so its failures are raised where its
own would be (inside SQLAlchemy's execution and commit): they reach our code exactly as a
lost connection or a full disk does. None of our code is replaced.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from workflow.engine import Engine

WRITES = frozenset({"INSERT", "UPDATE", "DELETE"})
EVERYTHING = WRITES | {"SELECT", "BEGIN", "WITH"}


@contextmanager
def failing_statements(
    engine: Engine, *, rate: float, seed: int, verbs: frozenset[str] = WRITES
) -> Iterator[list[str]]:
    """Make the driver fail ``rate`` of the statements (``verbs``) and commits from here on, reproducibly.

    The failures are raised where the driver's own would be (inside SQLAlchemy's execution and
    commit), so they reach the engine exactly as a lost connection or a full disk does.
    """
    chance = random.Random(seed)
    failed: list[str] = []
    dialect: Any = engine.database.dialect
    real_commit = dialect.do_commit

    def roll(what: str) -> None:
        if chance.random() < rate:
            failed.append(what)
            raise dialect.dbapi.OperationalError(f"injected fault in {what}")

    def execute(cursor: Any, statement: str, *args: Any) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb in verbs:
            roll(verb)

    def commit(dbapi_connection: Any) -> None:
        roll("COMMIT")
        real_commit(dbapi_connection)

    event.listen(engine.database, "do_execute", execute)
    event.listen(engine.database, "do_executemany", execute)
    dialect.do_commit = commit
    try:
        yield failed
    finally:
        event.remove(engine.database, "do_execute", execute)
        event.remove(engine.database, "do_executemany", execute)
        del dialect.do_commit
