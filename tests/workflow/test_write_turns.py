"""SQLite writers of one process take turns on a lock in front of BEGIN IMMEDIATE.

Every way a transaction ends passes the turn on; reads never wait.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.bootstrap import bootstrap
from app.settings import Settings
from tests.conftest import AUDIT_KEY
from workflow.clock import ManualClock
from workflow.database import read_only
from workflow.engine import Engine
from workflow.tables import worker_heartbeats


def _write(engine: Engine, name: str) -> None:
    with engine.database.begin() as conn:
        conn.execute(worker_heartbeats.insert().values(name=name, beat_at=engine.clock.now(), info={}))


@pytest.fixture
def lite(tmp_path: Path, sqlite_template: Path, clock: ManualClock) -> Iterator[Engine]:
    """SQLite only: PostgreSQL locks rows, not the database, so its writers do not queue."""
    shutil.copyfile(sqlite_template, tmp_path / "turns.db")
    engine = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'turns.db'}", audit_key=AUDIT_KEY), clock=clock)
    yield engine
    engine.database.dispose()


@pytest.mark.parametrize("end", ["commit", "rollback"])
def test_a_writer_waits_for_the_turn_and_gets_it_when_the_holder_ends(lite: Engine, end: str) -> None:
    engine = lite
    holding, release, done = threading.Event(), threading.Event(), threading.Event()

    def hold() -> None:
        with engine.database.connect() as conn:
            transaction = conn.begin()
            conn.execute(worker_heartbeats.insert().values(name="holder", beat_at=engine.clock.now(), info={}))
            holding.set()
            release.wait(10)
            transaction.commit() if end == "commit" else transaction.rollback()

    def second() -> None:
        _write(engine, "second")
        done.set()

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    waiter = threading.Thread(target=second)
    waiter.start()
    try:
        assert not done.wait(0.3), "the second writer waits its turn"
        with read_only(engine.database) as conn:  # a read does not wait for writers
            assert conn.execute(sa.select(sa.func.count()).select_from(worker_heartbeats)).scalar_one() == 0
    finally:
        release.set()
        holder.join(10)
    assert done.wait(10), "the turn passed on when the holder ended"
    waiter.join(10)
    with read_only(engine.database) as conn:
        names = set(conn.execute(sa.select(worker_heartbeats.c.name)).scalars())
    assert names == ({"holder", "second"} if end == "commit" else {"second"})


def test_a_failed_command_gives_up_its_turn(lite: Engine) -> None:
    engine = lite
    with pytest.raises(ZeroDivisionError), engine.database.begin():
        _ = 1 / 0
    _write(engine, "after")  # would wait forever if the failed transaction kept the turn
