"""Database engines for SQLite and PostgreSQL, with the settings each needs to be safe.

SQLite: WAL journal, ``synchronous=FULL`` (a committed decision or deadline survives a
power cut, not only a process crash; NORMAL could lose the last commits, and these are
legal records), a 30 s busy timeout, foreign keys on, and every transaction started with
``BEGIN IMMEDIATE``: a deferred ``BEGIN`` upgrades its lock late and produced
"database is locked" errors under concurrent writers here.

PostgreSQL: a pooled connection is checked before use without a round trip
(:func:`_check_alive`). Both: the write path's statements run straight on the driver
(:class:`Prepared`, :func:`pipeline`), keeping SQLAlchemy's SQL, types and errors.
"""

from __future__ import annotations

import os
import select
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Dialect, make_url, result_tuple

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
_CURSOR = "filingflow_cursor"
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
    engine = sa.create_engine(url, connect_args={"check_same_thread": False}, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

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


def _end_write_turn(connection: sa.Connection) -> None:
    """The next writer of this process may begin (see :func:`_sqlite_engine`)."""
    turn = connection.info.pop(_WRITER, None)
    if turn is not None:
        turn.release()


# ---- the write path's statements, run on the driver ---------------------------------------

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    """Bind names in the order the driver takes them (positional) or as keys (named)."""
    slots: tuple[tuple[str | None, Processor, Any], ...]
    """Per bind: the caller's key and its conversion, or ``None`` and the value the statement carries."""
    positional: bool
    results: tuple[Processor, ...]
    make_row: Callable[[Sequence[Any]], sa.Row[Any]]


class Prepared:
    """A Core statement compiled once per dialect and run straight on the DB-API cursor.

    Why: SQLAlchemy's ``Connection.execute`` spends about 40-60 us of Python per statement
    (execution context, cache key, result machinery) where the driver needs 5-10 us, and a
    command runs six to eight statements. What is kept: SQLAlchemy's SQL for the dialect and
    its own bind and result conversions (:class:`~workflow.tables.UTCDateTime`, JSON,
    booleans), so rows are stored and read exactly as through ``execute``; the dialect's
    ``do_execute``/``do_executemany`` hooks (called with ``context=None``), so anything that
    wraps the driver still sees these statements; and driver errors come out as SQLAlchemy's
    (``IntegrityError``, ``OperationalError``, ...), a lost connection invalidated. What is
    not: ``before/after_cursor_execute`` events and echo logging. Statements with
    Python-side column defaults must be given every value (nothing is filled in).
    ``statement`` may be a function of the dialect, for SQL that differs between them.
    """

    __slots__ = ("_by_dialect", "statement")

    def __init__(self, statement: sa.Executable | Callable[[Dialect], sa.Executable]) -> None:
        self.statement = statement
        self._by_dialect: weakref.WeakKeyDictionary[Dialect, _Compiled] = weakref.WeakKeyDictionary()

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect)
        if found is None:
            statement = self.statement(dialect) if callable(self.statement) else self.statement
            found = self._by_dialect[dialect] = _compile(statement, dialect)
        return found


def _compile(statement: sa.Executable, dialect: Dialect) -> _Compiled:
    compiled: Any = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    if compiled.escaped_bind_names:
        raise ValueError(f"bind names need escaping, use execute(): {compiled.string}")
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    if any(bind.expanding for bind in by_name.values()):
        raise ValueError(f"expanding IN parameters are not bound plainly, use OR or execute(): {compiled.string}")
    names = tuple(compiled.positiontup) if compiled.positional else tuple(by_name)
    prefetched = {c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)}
    slots: list[tuple[str | None, Processor, Any]] = []
    for name in names:
        bind = by_name[name]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if bind.required or name in prefetched or bind.callable is not None:
            slots.append((name, process, None))
        else:  # a literal of the statement itself, e.g. status = 'pending'
            slots.append((None, None, bind.value if process is None else process(bind.value)))
    selected: Sequence[Any] = list(
        statement.selected_columns if isinstance(statement, sa.Select) else getattr(statement, "exported_columns", ())
    )
    return _Compiled(
        sql=compiled.string,
        names=names,
        slots=tuple(slots),
        positional=bool(compiled.positional),
        results=tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in selected),
        make_row=result_tuple([c.key for c in selected]),
    )


def _parameters(compiled: _Compiled, values: Mapping[str, Any]) -> Any:
    # the conversion runs on None too, as in execute(): JSON stores it as 'null'
    out = [
        fixed if name is None else values[name] if process is None else process(values[name])
        for name, process, fixed in compiled.slots
    ]
    return tuple(out) if compiled.positional else dict(zip(compiled.names, out, strict=True))


def constant(value: str) -> sa.ColumnElement[str]:
    """A string constant written into the SQL instead of bound, for the write path's statements.

    SQLite re-prepares a statement at every execution when a bound value decides whether
    a partial index applies (``status = ?`` against the pending-only indexes): 40 us of
    the 50 a deadline lookup took here.
    """
    return sa.literal_column("'" + value.replace("'", "''") + "'", type_=sa.String)


def _driver(conn: sa.Connection) -> Any:
    if not conn.in_transaction():
        conn.begin()  # as execute() would: on SQLite the BEGIN (see _on_begin) gives one snapshot
    return conn.connection.dbapi_connection


def _shared_cursor(conn: sa.Connection, driver: Any) -> Any:
    """One cursor per driver connection, kept: a new psycopg cursor costs ~20 us of setup per statement."""
    info = conn.connection.info
    kept = info.get(_CURSOR)
    if kept is None or kept[0] is not driver:
        kept = info[_CURSOR] = (driver, driver.cursor())
    return kept[1]


def _run(conn: sa.Connection, compiled: _Compiled, parameters: Any, *, many: bool, own: bool = False) -> Any:
    """Execute on the shared cursor, or on a cursor of its own (``own``) whose rows are read later."""
    dialect = conn.dialect
    driver = _driver(conn)
    cursor = driver.cursor() if own else _shared_cursor(conn, driver)
    hooks = dialect.dispatch.do_executemany if many else dialect.dispatch.do_execute
    try:
        for hook in hooks:
            if hook(cursor, compiled.sql, parameters, None):
                break
        else:
            (cursor.executemany if many else cursor.execute)(compiled.sql, parameters)
    except dialect.loaded_dbapi.Error as exc:
        if own:
            cursor.close()
        raise _translated(conn, exc, compiled.sql, parameters, many=many) from exc
    return cursor


def _translated(conn: sa.Connection, exc: Any, sql: str, parameters: Any, *, many: bool) -> sa.exc.StatementError:
    """The driver's error as SQLAlchemy raises it; a lost connection is invalidated as SQLAlchemy does."""
    dialect = conn.dialect
    lost = dialect.is_disconnect(exc, conn.connection.dbapi_connection, None)
    error: sa.exc.StatementError = sa.exc.DBAPIError.instance(
        sql, parameters, exc, dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect, ismulti=many
    )
    if lost:
        conn.invalidate(error)
    return error


@contextmanager
def pipeline(conn: sa.Connection) -> Iterator[None]:
    """Statements run inside go to PostgreSQL without waiting for each other: one round trip for all.

    For writes whose results are not needed at once (row counts are not known inside;
    read rows of :func:`send` after the block). An error of any of them is raised when the
    block ends. On SQLite, which has no round trips, the statements simply run.
    """
    if conn.dialect.name != "postgresql":
        yield
        return
    driver = _driver(conn)
    try:
        with driver.pipeline():
            yield
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _translated(conn, exc, "(pipelined statements)", None, many=False) from exc


def run(conn: sa.Connection, statement: Prepared, values: Mapping[str, Any]) -> int:
    """Execute a statement that returns no rows; returns the driver's row count."""
    compiled = statement.compiled(conn.dialect)
    count: int = _run(conn, compiled, _parameters(compiled, values), many=False).rowcount
    return count


def fetch(conn: sa.Connection, statement: Prepared, values: Mapping[str, Any]) -> list[sa.RowMapping]:
    """Execute a statement that returns rows (a SELECT, or DML with RETURNING); rows as mappings."""
    compiled = statement.compiled(conn.dialect)
    return _rows(compiled, _run(conn, compiled, _parameters(compiled, values), many=False))


def send(conn: sa.Connection, statement: Prepared, values: Mapping[str, Any]) -> Callable[[], list[sa.RowMapping]]:
    """Execute a statement that returns rows; call the result for them (after :func:`pipeline`, if in one)."""
    compiled = statement.compiled(conn.dialect)
    later = conn.dialect.name != "sqlite"  # (a half-read SQLite statement stays active: read at once)
    cursor = _run(conn, compiled, _parameters(compiled, values), many=False, own=later)
    if not later:
        rows = _rows(compiled, cursor)
        return lambda: rows
    return lambda: _rows(compiled, cursor, close=True)


def _rows(compiled: _Compiled, cursor: Any, *, close: bool = False) -> list[sa.RowMapping]:
    raw = cursor.fetchall()
    if close:
        cursor.close()
    make, results = compiled.make_row, compiled.results
    return [make([v if p is None else p(v) for p, v in zip(results, row, strict=True)])._mapping for row in raw]
