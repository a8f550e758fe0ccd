"""One scheduler worker per SQLite database: an exclusive lock file beside the database file.

On SQLite two workers stay correct (writers are serialised) but gain nothing, and a second
``filingflow serve`` used to start a second worker silently. The first worker holds
``<database>.worker.lock`` (``flock``, released by the kernel when the process dies, so a
crash never leaves it stuck) with its host and pid written inside; a second ``serve`` serves
the API without a worker and a second ``filingflow worker`` stands by until the first stops
(then takes over), both saying who holds it. PostgreSQL needs no lock: several workers share the work (``SKIP LOCKED``).
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
from typing import IO

from sqlalchemy.engine import make_url

log = logging.getLogger("filingflow")


class WorkerLock:
    """The lock a worker holds for its life (``acquire`` returns ``None`` when it got it, else the holder)."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        database = url.database if url.drivername.startswith("sqlite") else None
        self.path = f"{database}.worker.lock" if database and database != ":memory:" else None
        self._file: IO[str] | None = None

    def acquire(self, *, wait: bool = False) -> str | None:
        """``None`` once this process holds the lock (or none is needed); else who holds it.

        With ``wait`` a held lock is waited for (after logging who holds it), so it always ends held.
        """
        if self.path is None:
            return None
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for the process's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            if not wait:
                handle.close()
                return holder
            log.warning("standing by: the worker of this SQLite database runs elsewhere (%s)", holder)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        self._file = handle
        return None

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
