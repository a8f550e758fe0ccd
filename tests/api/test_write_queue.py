"""The per-process write queue: one API write at a time on SQLite, none on PostgreSQL, 503 when no turn comes."""

from __future__ import annotations

import threading

import pytest

from app.api.problems import ApiProblem
from app.api.writers import WriteQueue
from workflow.engine import Engine


def test_writers_take_turns_on_sqlite_only(engine: Engine) -> None:
    queue = WriteQueue(engine.database, wait=0.2)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with queue.turn():
            holding.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(5)
        if engine.database.dialect.name == "sqlite":
            with pytest.raises(ApiProblem) as busy, queue.turn():
                pass
            assert (busy.value.status, busy.value.slug, busy.value.headers) == (503, "busy", {"Retry-After": "1"})
        else:
            with queue.turn():  # PostgreSQL locks rows, not the database: nothing to queue for
                pass
    finally:
        release.set()
        holder.join(5)
    with queue.turn():  # the turn is free again once the holder is done
        pass
