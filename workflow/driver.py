"""The store's fast path: Core statements compiled once and run straight on the DB-API driver.

Only :mod:`workflow.store` (and the engine's few store-side helpers) may use this module; the
import-linter contracts keep the app, the scheduler and the notifications out of it. Why it
exists: SQLAlchemy's per-execute machinery cost more than the database work of a command.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from workflow.tables import UTCDateTime

_CURSOR = "filingflow_cursor"


Processor = Callable[[Any], Any] | None
_NOTHING = object()


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    """Bind names in the order the driver takes them (positional) or as keys (named)."""
    slots: tuple[tuple[str | None, Processor, Any], ...]
    """Per bind: the caller's key and its conversion, or ``None`` and the value the statement carries."""
    positional: bool
    results: tuple[Processor, ...]
    keys: tuple[str, ...]
    """The result columns' names, the keys of each row returned."""


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

    __slots__ = ("_by_dialect", "_last", "statement")

    def __init__(self, statement: sa.Executable | Callable[[Dialect], sa.Executable]) -> None:
        self.statement = statement
        self._by_dialect: weakref.WeakKeyDictionary[Dialect, _Compiled] = weakref.WeakKeyDictionary()
        self._last: tuple[weakref.ref[Dialect], _Compiled] | None = None
        """The last dialect asked for and its statement: a weak dictionary's lookup makes a weak
        reference each time, and a process almost always asks for one dialect."""

    def compiled(self, dialect: Dialect) -> _Compiled:
        last = self._last
        if last is not None and last[0]() is dialect:
            return last[1]
        found = self._by_dialect.get(dialect)
        if found is None:
            statement = self.statement(dialect) if callable(self.statement) else self.statement
            found = self._by_dialect[dialect] = _compile(statement, dialect)
        self._last = (weakref.ref(dialect), found)
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
        process = _bind_conversion(bind.type, dialect)
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
        results=tuple(_result_conversion(c.type, dialect) for c in selected),
        keys=tuple(c.key for c in selected),
    )


def _result_conversion(type_: sa.types.TypeEngine[Any], dialect: Dialect) -> Processor:
    """The type's result conversion; an instant read from SQLite in one step (:func:`_sqlite_instant`)."""
    if type(type_) is UTCDateTime and dialect.name == "sqlite":
        return _sqlite_instant
    return type_.dialect_impl(dialect).result_processor(dialect, None)


def _sqlite_instant(value: str | None) -> datetime | None:
    """What SQLAlchemy's SQLite ``DATETIME`` and :class:`~workflow.tables.UTCDateTime` make of a stored
    instant, without their two layers of calls: parsed (``fromisoformat``, as SQLAlchemy does), then
    UTC (a naive value is UTC; one with an offset is converted). A row holds four to seven instants."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _bind_conversion(type_: sa.types.TypeEngine[Any], dialect: Dialect) -> Processor:
    """The type's bind conversion; for instants and dates one shared by every statement (:func:`_remembering`)."""
    process = type_.dialect_impl(dialect).bind_processor(dialect)
    base = type_.impl_instance if isinstance(type_, sa.types.TypeDecorator) else type_  # e.g. UTCDateTime
    try:
        python_type = base.python_type
    except NotImplementedError:
        return process
    if process is None or not issubclass(python_type, date):
        return process
    shared = _REMEMBERED.setdefault(dialect, {})
    key = (type(type_), repr(type_))  # the type with its arguments, e.g. DateTime(timezone=True)
    found = shared.get(key)
    if found is None:
        found = shared[key] = _remembering(process)
    return found


_REMEMBERED: weakref.WeakKeyDictionary[Dialect, dict[tuple[type, str], Processor]] = weakref.WeakKeyDictionary()


def _remembering(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """An instant's (or a date's) conversion that returns its last result when given the same object again.

    A command binds its one ``now`` a dozen times across its statements (audit event, case,
    each outbox row, deadlines), and converting an aware instant for SQLite (to UTC, naive,
    formatted) costs a few microseconds each time; so every statement of a dialect shares
    one such conversion per type. Instants and dates are immutable, so the same object
    always converts to the same value (an equal but other object is converted afresh); the
    last pair is one tuple, read and replaced whole, so threads never see half of it.
    """
    last: tuple[Any, Any] = (_NOTHING, None)

    def remembered(value: Any) -> Any:
        nonlocal last
        seen = last
        if value is seen[0]:
            return seen[1]
        out = convert(value)
        last = (value, out)
        return out

    return remembered


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


def pipeline(conn: sa.Connection) -> AbstractContextManager[None]:
    """Statements run inside go to PostgreSQL without waiting for each other: one round trip for all.

    For writes whose results are not needed at once (row counts are not known inside;
    read rows of :func:`send` after the block). An error of any of them is raised when the
    block ends. On SQLite, which has no round trips, the statements simply run (in a
    context that costs nothing to enter: a command opens two).
    """
    if conn.dialect.name != "postgresql":
        return _NO_PIPELINE
    return _pipelined(conn)


_NO_PIPELINE = nullcontext()


@contextmanager
def _pipelined(conn: sa.Connection) -> Iterator[None]:
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


def fetch(conn: sa.Connection, statement: Prepared, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Execute a statement that returns rows (a SELECT, or DML with RETURNING); rows as dicts by column name."""
    compiled = statement.compiled(conn.dialect)
    return _rows(compiled, _run(conn, compiled, _parameters(compiled, values), many=False))


def send(conn: sa.Connection, statement: Prepared, values: Mapping[str, Any]) -> Callable[[], list[dict[str, Any]]]:
    """Execute a statement that returns rows; call the result for them (after :func:`pipeline`, if in one)."""
    compiled = statement.compiled(conn.dialect)
    later = conn.dialect.name != "sqlite"  # (a half-read SQLite statement stays active: read at once)
    cursor = _run(conn, compiled, _parameters(compiled, values), many=False, own=later)
    if not later:
        rows = _rows(compiled, cursor)
        return lambda: rows
    return lambda: _rows(compiled, cursor, close=True)


def _rows(compiled: _Compiled, cursor: Any, *, close: bool = False) -> list[dict[str, Any]]:
    """The cursor's rows, converted, as plain dicts: an SQLAlchemy ``Row`` and its ``_mapping`` cost
    more to build than converting the values (about 5 us a case row); callers only read them by name."""
    raw = cursor.fetchall()
    if close:
        cursor.close()
    keys, results = compiled.keys, compiled.results
    return [
        dict(zip(keys, [v if p is None else p(v) for p, v in zip(results, row, strict=True)], strict=True))
        for row in raw
    ]
