"""Database engines for SQLite and PostgreSQL, with the settings each needs to be safe.

SQLite: WAL journal, ``synchronous=FULL`` (a committed decision or deadline survives a
power cut, not only a process crash; NORMAL could lose the last commits, and these are
legal records), a 30 s busy timeout, foreign keys on, and every transaction started with
``BEGIN IMMEDIATE``: a deferred ``BEGIN`` upgrades its lock late and produced
"database is locked" errors under concurrent writers here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA foreign_keys=ON",
)


READ_ONLY = "filingflow_read_only"


@contextmanager
def read_only(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection for queries only, seeing one consistent snapshot across its statements.

    On SQLite its transaction is a deferred BEGIN (WAL readers do not block writers and
    read one snapshot); on PostgreSQL it is REPEATABLE READ, so a multi-statement read
    (a case and its deadlines, a whole audit walk) never mixes before and after a commit.
    """
    with engine.connect() as conn:
        options: dict[str, Any] = {READ_ONLY: True}
        if conn.dialect.name == "postgresql":
            options["isolation_level"] = "REPEATABLE READ"
        yield conn.execution_options(**options)


def create_database_engine(url: str, **options: Any) -> sa.Engine:
    """Build an engine for ``url``; no connection is opened until first use."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url, parsed.database, **options)
    else:
        options.setdefault("pool_pre_ping", True)
        engine = sa.create_engine(url, **options)
    event.listen(engine, "checkin", _end_leftover_transaction)
    return engine


def _end_leftover_transaction(dbapi_connection: Any, record: Any) -> None:
    """Never pool a connection still inside a transaction.

    A COMMIT that fails (disk full, lost server) leaves the driver inside the transaction
    while SQLAlchemy considers it over and skips its reset; pooled like that, the next
    command would fail to BEGIN on SQLite, or on PostgreSQL silently carry the failed
    command's writes into its own commit. Found by the storage fault-injection test.
    """
    if dbapi_connection is None:
        return
    try:
        dbapi_connection.rollback()
    except Exception:
        record.invalidate()


def _sqlite_engine(url: str, database: str | None, **options: Any) -> sa.Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"check_same_thread": False}, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # reads (see read_only) take a deferred BEGIN so they never queue behind writers
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def is_postgres(engine: sa.Engine) -> bool:
    return engine.dialect.name == "postgresql"
