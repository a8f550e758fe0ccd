"""The shape of a round's workload: who opens and submits when, who is returned, late, silent or objected to.

Drawn once from a fixed seed, so two runs of one size replay the same round. The shape follows
what filing windows look like: opening spread across the window, and about half of all
submissions in its last 8 hours (the surge), a few drafts never submitted. Staff return some
cases for correction; after the portal's approval most paper arrives in time, some late, some
never; a few cases draw an objection during publicity. The Shenzhen voucher round has its SMEs,
a fifth of which file a second contract that meets the yearly cap (SZ-AMT-2).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from workflow.clock import SHANGHAI


def sh(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


# Longgang 2025: the window is 2025-08-13 00:00 .. 2025-09-13 24:00 (LG-WIN-1)
LG_OPENS = sh("2025-08-13 00:00")
LG_SURGE = sh("2025-09-13 16:00")  # the last 8 hours of the window
LG_QUIET = sh("2025-09-08 20:00")  # every step outside the surge happens by then: a quiet gap before it
LG_CLOSES = sh("2025-09-14 00:00")
# Shenzhen 2024: 2024-11-19 00:00 .. 2024-12-09 18:00 (SZ-WIN-1)
SZ_OPENS = sh("2024-11-19 00:00")
SZ_CLOSES = sh("2024-12-09 18:00")

PAPER = ("on_time", "late", "never")
PAPER_WEIGHTS = (0.85, 0.07, 0.08)


@dataclass(frozen=True, slots=True)
class Filer:
    """One Longgang applicant."""

    serial: int
    opens_at: datetime
    submits_at: datetime | None  # None: a draft left to the window's end (LG-WIN-1)
    returned: bool  # staff return it once for correction (LG-FLOW-2)
    paper: str  # on_time, late or never (LG-DL-1)
    objection: bool  # an objection during publicity


@dataclass(frozen=True, slots=True)
class Sme:
    """One Shenzhen SME; ``second_contract`` files a second case that meets the yearly cap."""

    serial: int
    opens_at: datetime
    submits_at: datetime | None
    second_at: datetime | None
    returned: bool
    objection: bool


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + timedelta(seconds=rng.uniform(0, (end - start).total_seconds()))


def longgang(applicants: int, seed: int) -> list[Filer]:
    """``applicants`` Longgang filers: half submit in the last 8 hours, 3 % never do."""
    rng = random.Random(seed)
    filers = []
    for serial in range(applicants):
        never = rng.random() < 0.03
        surge = rng.random() < 0.5
        opens = _between(rng, LG_OPENS, LG_QUIET - timedelta(days=1))
        if surge:  # within the last 8 hours; if the surge phase starts late, these run as soon as it starts
            submits = _between(rng, LG_SURGE, LG_CLOSES - timedelta(minutes=20))
        else:
            submits = _between(rng, opens + timedelta(hours=1), LG_QUIET)
        filers.append(
            Filer(
                serial=serial,
                opens_at=opens,
                submits_at=None if never else submits,
                returned=rng.random() < 0.15,
                paper=rng.choices(PAPER, PAPER_WEIGHTS)[0],
                objection=rng.random() < 0.05,
            )
        )
    return filers


def shenzhen(smes: int, seed: int) -> list[Sme]:
    """``smes`` voucher applicants across the 2024 window; a fifth file a second contract."""
    rng = random.Random(seed + 1)
    out = []
    for serial in range(smes):
        opens = _between(rng, SZ_OPENS, SZ_CLOSES - timedelta(days=2))
        submits = _between(rng, opens + timedelta(hours=1), SZ_CLOSES - timedelta(hours=2))
        second = rng.random() < 0.2
        out.append(
            Sme(
                serial=serial,
                opens_at=opens,
                submits_at=None if rng.random() < 0.03 else submits,
                second_at=_between(rng, submits, SZ_CLOSES - timedelta(hours=1)) if second else None,
                returned=rng.random() < 0.1,
                objection=rng.random() < 0.05,
            )
        )
    return out


def surge_share(filers: list[Filer]) -> float:
    """The share of submissions in the window's last 8 hours (the shape's promise: about half)."""
    submitted = [f.submits_at for f in filers if f.submits_at is not None]
    return sum(1 for at in submitted if at >= LG_SURGE) / max(len(submitted), 1)
