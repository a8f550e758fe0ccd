"""``python -m bench.round_dispatcher``: a long-running outbox dispatcher for the round simulation.

``filingflow notifications dispatch`` drains what is due and exits; restarting it every fraction
of a second would spend a core on imports. This runs the very same code (settings from the
environment, ``bootstrap``, ``build_dispatcher``, ``dispatch_due``) in a loop, and keeps going
when the database is away (the PostgreSQL restart fault), as a supervised dispatcher would.
"""

from __future__ import annotations

import logging
import signal
import time
from types import FrameType

from app.bootstrap import bootstrap
from app.delivery import build_dispatcher
from app.settings import Settings

log = logging.getLogger("bench.round")
IDLE = 0.2  # real seconds between polls when nothing was due


def main() -> None:
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    settings = Settings.from_env()
    engine = bootstrap(settings)
    dispatcher = build_dispatcher(settings, engine)
    try:
        while not stopping:
            try:
                report = dispatcher.dispatch_due()
            except Exception as exc:  # the database restarting: try again shortly
                log.warning("dispatch failed: %s", exc)
                time.sleep(IDLE)
                continue
            if not report.claimed:
                time.sleep(IDLE)
    finally:
        engine.database.dispose()


if __name__ == "__main__":
    main()
