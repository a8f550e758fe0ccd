"""Database engines for SQLite and PostgreSQL, with the settings each needs to be safe.

SQLite: WAL journal, ``synchronous=FULL`` (a committed decision or deadline survives a
power cut, not only a process crash; NORMAL could lose the last commits, and these are
legal records), a 30 s busy timeout, foreign keys on, and every transaction started with
``BEGIN IMMEDIATE``: a deferred ``BEGIN`` upgrades its lock late and produced
"database is locked" errors under concurrent writers here.

PostgreSQL: a pooled connection is checked before use without a round trip
(:func:`_check_alive`). The write path's statements run straight on the driver
(:mod:`workflow.driver`, used by the store alone).
"""

from __future__ import annotations

import os
import select
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url

from workflow.errors import InvalidInput

BUSY_SECONDS = 30.0
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}",
    "PRAGMA foreign_keys=ON",
)


READ_ONLY = "filingflow_read_only"
IDLE_PING_SECONDS = 30.0
"""A pooled server connection idle longer than this is pinged before use (see :func:`_check_alive`)."""
_IDLE_SINCE = "filingflow_idle_since"
_WRITER = "filingflow_write_turn"


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
        engine = sa.create_engine(url, **options)
        if not options.get("pool_pre_ping"):
            event.listen(engine, "checkout", _check_alive)
    event.listen(engine, "checkin", _end_leftover_transaction)
    return engine


def _check_alive(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Hand out a server connection only if it is alive, usually without a round trip.

    SQLAlchemy's ``pool_pre_ping`` sends a query at every checkout: one more round trip
    per command, about a tenth of a transition's cost here. A connection idle in the pool
    has nothing to read, so a socket with something to read (a terminated backend's FATAL,
    or the end of the stream after a server restart) or a closed/broken driver connection
    means it is gone; only one idle longer than :data:`IDLE_PING_SECONDS` (when a silent
    network drop becomes likely) is pinged. Raising ``DisconnectionError`` makes the pool
    drop it and connect afresh, so the command never sees the dead connection.
    """
    if getattr(dbapi_connection, "closed", False) or getattr(dbapi_connection, "broken", False):
        raise sa.exc.DisconnectionError("the driver connection is closed")
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
    if poller.poll(0):
        raise sa.exc.DisconnectionError("the server spoke or hung up on an idle connection")
    idle_since = record.info.get(_IDLE_SINCE)
    if idle_since is not None and time.monotonic() - idle_since > IDLE_PING_SECONDS:
        try:
            _ping(dbapi_connection)
        except Exception as exc:
            raise sa.exc.DisconnectionError(f"ping failed: {exc}") from exc


def _ping(dbapi_connection: Any) -> None:
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True  # a bare SELECT would otherwise open a transaction
    try:
        dbapi_connection.execute(";")
    finally:
        dbapi_connection.autocommit = autocommit


def _end_leftover_transaction(dbapi_connection: Any, record: Any) -> None:
    """Never pool a connection still inside a transaction.

    A COMMIT that fails (disk full, lost server) leaves the driver inside the transaction
    while SQLAlchemy considers it over and skips its reset; pooled like that, the next
    command would fail to BEGIN on SQLite, or on PostgreSQL silently carry the failed
    command's writes into its own commit. Found by the storage fault-injection test.
    """
    if dbapi_connection is None:
        return
    turn = record.info.pop(_WRITER, None)  # a transaction that ended without a commit or rollback event
    if turn is not None:
        turn.release()
    record.info[_IDLE_SINCE] = time.monotonic()
    if not _in_transaction(dbapi_connection):
        return
    try:
        dbapi_connection.rollback()
    except Exception:
        record.invalidate()


def _in_transaction(dbapi_connection: Any) -> bool:
    """Whether the driver is inside a transaction (unknown drivers: assume it is)."""
    info = getattr(dbapi_connection, "info", None)
    status = getattr(info, "transaction_status", None)
    if status is not None:  # psycopg: IDLE is 0
        return bool(status != 0)
    return bool(getattr(dbapi_connection, "in_transaction", True))


def _sqlite_engine(url: str, database: str | None, **options: Any) -> sa.Engine:
    """SQLite with the pragmas above; writers of one process take turns on a lock.

    SQLite lets one transaction write at a time, and a second ``BEGIN IMMEDIATE`` waits in
    its busy handler, which sleeps 1, 2, 5, ... up to 100 ms between retries while the
    database sits idle. Writers of one process (API requests, console, the in-process
    worker and dispatcher) therefore queue on a Python lock and start as soon as the last
    one commits (measured with 16 API clients: p99 from about 1 s to 0.1-0.2 s); other
    processes still meet the busy handler. No turn within the busy timeout is the same
    "database is locked" error SQLite would give.
    """
    on_disk = bool(database) and database != ":memory:" and not str(database).startswith("file:")
    if on_disk and not Path(str(database)).parent.is_dir():  # a typo must not create directories
        raise InvalidInput(
            f"the directory of the SQLite database {database!r} does not exist: create it or correct the URL",
            field="database_url",
        )
    # No rollback-on-return: every transaction is ended explicitly, and a connection still inside one
    # (a failed COMMIT) is rolled back by the checkin listener (_end_leftover_transaction).
    options.setdefault("pool_reset_on_return", None)
    engine = sa.create_engine(url, connect_args={"check_same_thread": False}, **options)

    event.listen(engine, "connect", _sqlite_pragmas)
    writers = threading.Lock()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # straight on the driver: SQLAlchemy's execute machinery costs more than the BEGIN itself
        driver: Any = connection.connection.dbapi_connection
        if on_disk and not os.path.exists(str(database)):  # deleted while serving: refuse, never write into the void
            gone = sqlite3.OperationalError(f"the database file {database!r} is gone")
            raise sa.exc.OperationalError("BEGIN", None, gone)
        if connection.get_execution_options().get(READ_ONLY, False):
            driver.execute("BEGIN")  # reads take a deferred BEGIN so they never queue behind writers
            return
        if not writers.acquire(timeout=BUSY_SECONDS):
            busy = sqlite3.OperationalError(f"database is locked: no write turn within {BUSY_SECONDS:.0f} s")
            raise sa.exc.OperationalError("BEGIN IMMEDIATE", None, busy)
        try:
            driver.execute("BEGIN IMMEDIATE")
        except BaseException:
            writers.release()
            raise
        connection.info[_WRITER] = writers

    event.listen(engine, "commit", _end_write_turn)
    event.listen(engine, "rollback", _end_write_turn)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Every new SQLite connection: our own BEGINs, then the pragmas above."""
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _end_write_turn(connection: sa.Connection) -> None:
    """The next writer of this process may begin (see :func:`_sqlite_engine`)."""
    turn = connection.info.pop(_WRITER, None)
    if turn is not None:
        turn.release()
