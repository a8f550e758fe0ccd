"""Types that survive both databases: exact money, aware UTC times, JSON payloads, the same answers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.bootstrap import bootstrap
from app.settings import Settings
from tests.conftest import AUDIT_KEY
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data, sh
from tests.support.postgres import PostgresCluster
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.tables import deadlines, notices


@pytest.fixture
def both(
    tmp_path: Path, sqlite_template: Path, postgres: PostgresCluster
) -> Iterator[tuple[Engine, Engine, ManualClock]]:
    import shutil

    shutil.copyfile(sqlite_template, tmp_path / "types.db")
    postgres.execute("CREATE DATABASE types_compare TEMPLATE ff_template")
    clock = ManualClock(sh("2025-08-20 09:00:00.123456"))
    lite = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'types.db'}", audit_key=AUDIT_KEY), clock=clock)
    pg = bootstrap(Settings(database_url=postgres.url("types_compare"), audit_key=AUDIT_KEY), clock=clock)
    yield lite, pg, clock
    lite.database.dispose()
    pg.database.dispose()
    postgres.execute("DROP DATABASE types_compare WITH (FORCE)")


def test_both_databases_give_back_the_same_case(both: tuple[Engine, Engine, ManualClock]) -> None:
    lite, pg, _clock = both
    data = complete_data(fees_cny="33333333.33")
    data["supplier"] = {**data["supplier"], "name": '算力供给方 "引号" & <标签> 😀'}
    for engine in (lite, pg):
        case = engine.open_case(PROGRAM, applicant=applicant(), data=data, actor=PLATFORM)
        engine.fire(case.id, "submit", actor=PLATFORM)
        engine.fire(case.id, "return_for_correction", actor=STAFF, payload={"reason": "请补充\n第二行"})
    a, b = lite.get_case(1), pg.get_case(1)
    assert a == b
    assert a.amount_fen == 600_000_000
    assert isinstance(a.amount_fen, int)
    assert a.data["fees_cny"] == "33333333.33", "money stays an exact decimal string in JSON"
    assert a.data["supplier"]["name"] == '算力供给方 "引号" & <标签> 😀'
    assert a.created_at == sh("2025-08-20 09:00:00.123456"), "microseconds survive"
    assert a.created_at.tzinfo is UTC
    assert b.created_at.tzinfo is UTC
    assert lite.history(1) == pg.history(1)
    assert [e.at.tzinfo for e in pg.history(1)] == [UTC, UTC, UTC]


def _rows(engine: Engine, table: sa.Table) -> list[dict[str, object]]:
    with engine.database.connect() as conn:
        rows = conn.execute(sa.select(table).order_by(table.c.id)).mappings().all()
    return [dict(r) for r in rows]


def test_deadlines_and_notices_come_back_the_same(both: tuple[Engine, Engine, ManualClock]) -> None:
    # LG-DL-1's deadline (due instant, ledger, working days) and the outbox rows with their JSON context
    lite, pg, clock = both
    for engine in (lite, pg):
        clock.set(sh("2025-08-20 09:00:00.123456"))
        case = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM)
        for event, actor in (("submit", PLATFORM), ("pass_online_review", STAFF), ("file_on_portal", PLATFORM)):
            engine.fire(case.id, event, actor=actor)
        clock.set(sh("2025-09-26 10:00:00.654321"))
        opened = engine.fire(case.id, "approve_on_portal", actor=STAFF, payload={"portal_reference": "粤政 #1"})
        engine.extend_deadline(case.id, opened.deadlines[0].id, actor=STAFF, reason="延期 “台风” 😀", working_days=2)
    for table in (deadlines, notices):
        a, b = _rows(lite, table), _rows(pg, table)
        assert a == b, table.name
    (paper,) = [d for d in _rows(pg, deadlines) if d["key"] == "paper_delivery"]
    assert paper["due_at"] == sh("2025-10-14 00:00")
    assert paper["due_at"].tzinfo is UTC  # type: ignore[union-attr]
    assert paper["ledger"][0]["reason"] == "延期 “台风” 😀"  # type: ignore[index]
