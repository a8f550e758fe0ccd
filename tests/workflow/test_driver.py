"""The store's fast path (workflow.driver) stores and reads values exactly as ``Connection.execute`` does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from tests.support.longgang import sh
from workflow.driver import Prepared, fetch, run
from workflow.engine import Engine
from workflow.tables import UTCDateTime

_TIMES = sa.Table(
    "driver_times",
    sa.MetaData(),
    sa.Column("worker", sa.String(20), primary_key=True),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("beat_at", UTCDateTime),
)
_BEAT = Prepared(
    _TIMES.insert().values(
        worker=sa.bindparam("worker"), started_at=sa.bindparam("at"), beat_at=sa.bindparam("beat_at")
    )
)
_READ = Prepared(sa.select(_TIMES).where(_TIMES.c.worker == sa.bindparam("worker")))


@pytest.fixture
def times(engine: Engine) -> Engine:
    _TIMES.create(engine.database)
    return engine


def test_an_instant_bound_again_converts_afresh_when_it_is_another_value(times: Engine) -> None:
    """The fast path remembers the last instant it converted (a command binds one ``now`` a dozen
    times): the same object gives the remembered value, any other object is converted itself."""
    first = sh("2025-08-20 09:00:00.123456")
    later = first + timedelta(microseconds=1)
    same_instant_elsewhere = first.astimezone(timezone(timedelta(hours=-5)))
    written = [
        ("a", first, first),  # the same object twice in one statement
        ("b", later, first),
        ("c", same_instant_elsewhere, later),
        ("d", first, None),
        ("e", datetime(2025, 8, 20, 1, 0, 0, 123456, tzinfo=UTC), first),  # equal to ``first``, not it
    ]
    with times.database.begin() as conn:
        for worker, at, beat in written:
            run(conn, _BEAT, {"worker": worker, "at": at, "beat_at": beat})
    with times.database.connect() as conn:
        for worker, at, beat in written:
            (row,) = fetch(conn, _READ, {"worker": worker})
            assert row["started_at"] == at, worker
            assert row["started_at"].tzinfo is UTC, worker
            assert row["beat_at"] == beat, worker
        via_execute = conn.execute(sa.select(_TIMES).order_by(_TIMES.c.worker)).mappings().all()
    assert [(r["worker"], r["started_at"], r["beat_at"]) for r in via_execute] == written


def test_a_naive_instant_is_refused_each_time_not_remembered(times: Engine) -> None:
    """A naive datetime is refused (workflow.tables.UTCDateTime) even right after an aware one was converted."""
    aware = sh("2025-08-20 09:00")
    naive = aware.replace(tzinfo=None)
    with times.database.begin() as conn:
        run(conn, _BEAT, {"worker": "a", "at": aware, "beat_at": aware})
    for _ in range(2):
        with times.database.begin() as conn, pytest.raises(ValueError, match="naive datetime"):
            run(conn, _BEAT, {"worker": "b", "at": naive, "beat_at": aware})
    with times.database.connect() as conn:
        assert [r["worker"] for r in conn.execute(sa.select(_TIMES)).mappings()] == ["a"]


def test_stored_instants_read_back_as_execute_reads_them(times: Engine) -> None:
    """Read on the fast path, an instant stored naive (as the engine writes it on SQLite) or with an
    offset (written by hand) is the same aware UTC value as ``Connection.execute`` gives."""
    with times.database.begin() as conn:
        if conn.dialect.name == "sqlite":
            stored = ["2025-08-20 01:00:00.123456", "2025-08-20 09:00:00.123456+08:00", "2025-08-20 01:00:00"]
        else:
            stored = ["2025-08-20 01:00:00.123456+00", "2025-08-20 09:00:00.123456+08", "2025-08-20 01:00:00+00"]
        for index, text in enumerate(stored):
            conn.execute(
                sa.text("INSERT INTO driver_times (worker, started_at) VALUES (:w, :t)"), {"w": f"w{index}", "t": text}
            )
    with times.database.connect() as conn:
        fast = [fetch(conn, _READ, {"worker": f"w{index}"})[0]["started_at"] for index in range(len(stored))]
        slow = conn.execute(sa.select(_TIMES.c.started_at).order_by(_TIMES.c.worker)).scalars().all()
    assert fast == slow == [sh("2025-08-20 09:00:00.123456")] * 2 + [sh("2025-08-20 09:00")]
    assert all(value.tzinfo is UTC for value in fast)
