"""Progress for long CLI jobs, on standard error so standard output stays the result.

A job the engine runs as one call (an audit walk, a migration, a calendar load) announces
what it is about to do and how big it is, then how long it took; a job made of batches (the
outbox dispatch) reports each batch as it finishes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import typer


def note(message: str) -> None:
    typer.echo(message, err=True)


@contextmanager
def step(message: str) -> Iterator[None]:
    """``message ...`` before the work, ``... done in 1.2 s`` after it (or ``failed after``)."""
    note(f"{message} ...")
    started = time.perf_counter()
    try:
        yield
    except BaseException:
        note(f"... failed after {time.perf_counter() - started:.1f} s")
        raise
    note(f"... done in {time.perf_counter() - started:.1f} s")
