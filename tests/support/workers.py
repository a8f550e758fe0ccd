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
        Settings(database_url=url, audit_key=key), clock=ManualClock(datetime.fromisoformat(now)), create_tables=False
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
