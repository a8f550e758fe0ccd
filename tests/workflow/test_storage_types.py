"""Types that survive both databases: exact money, aware UTC times, JSON payloads, the same answers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest

from app.bootstrap import bootstrap
from app.settings import Settings
from tests.conftest import AUDIT_KEY
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data, sh
from tests.support.postgres import PostgresCluster
from workflow.clock import ManualClock
from workflow.engine import Engine


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
