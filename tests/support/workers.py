"""Functions run in child processes by concurrency tests (real processes, separate connections)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.bootstrap import bootstrap
from app.settings import Settings
from tests.support.longgang import STAFF
from workflow.clock import ManualClock
from workflow.errors import ConflictError


def fire_once(url: str, key: str, now: str, case_id: int, event: str, version: int, start: Any) -> str:
    """Wait for every process (a barrier), fire once, say how it went: ``ok``, ``conflict`` or the error."""
    engine = bootstrap(
        Settings(database_url=url, audit_key=key), clock=ManualClock(datetime.fromisoformat(now)), migrate=False
    )
    start.wait(60)
    try:
        engine.fire(case_id, event, actor=STAFF, expected_version=version)
    except ConflictError:
        return "conflict"
    except Exception as exc:  # reported to the test, which fails on anything but ok/conflict
        return f"{type(exc).__name__}: {exc}"
    finally:
        engine.database.dispose()
    return "ok"


def busy_applicant(url: str, key: str, now: str, worker: int, cases: int, rounds: int, start: Any) -> int:
    """Open ``cases`` cases and cycle return/resubmit on them; returns commands completed."""
    from tests.support.longgang import PLATFORM, PROGRAM, applicant, complete_data

    engine = bootstrap(
        Settings(database_url=url, audit_key=key), clock=ManualClock(datetime.fromisoformat(now)), migrate=False
    )
    start.wait(60)
    done = 0
    try:
        ids = []
        for i in range(cases):
            ids.append(
                engine.open_case(
                    PROGRAM, applicant=applicant(worker * 1000 + i), data=complete_data(), actor=PLATFORM
                ).id
            )
            done += 1
        for case_id in ids:
            engine.fire(case_id, "submit", actor=PLATFORM)
            done += 1
        for step in range(rounds):
            for case_id in ids:
                if step % 2 == 0:
                    engine.fire(case_id, "return_for_correction", actor=STAFF, payload={"reason": f"第{step}轮"})
                else:
                    engine.fire(case_id, "resubmit", actor=PLATFORM)
                done += 1
    finally:
        engine.database.dispose()
    return done


def open_for(url: str, key: str, now: str, serial: int, start: Any) -> str:
    """Open a case for applicant ``serial`` once every process is ready."""
    from tests.support.longgang import PLATFORM, PROGRAM, applicant
    from workflow.errors import GuardRefused

    engine = bootstrap(
        Settings(database_url=url, audit_key=key), clock=ManualClock(datetime.fromisoformat(now)), migrate=False
    )
    start.wait(60)
    try:
        engine.open_case(PROGRAM, applicant=applicant(serial), data={}, actor=PLATFORM)
    except GuardRefused as refused:
        return f"refused {refused.rule}"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        engine.database.dispose()
    return "ok"
