"""The invariants a whole round must keep, checked when it is over; every breach is named.

* every trail verifies: ``filingflow audit verify`` (the operator's command) exits 0, and the
  whole-database checks of tests/support/invariants.py pass (chains, version = audit count,
  one running paper deadline per case awaiting paper, amounts following the shared caps);
* every deadline fired exactly once and none is left due: per case and expiry event, as many
  audit events by the scheduler as expired deadlines, none pending past due;
* caps hold: no applicant holds more than its cap across its cases (LG-AMT-2, SZ-AMT-2);
* every notice delivered at least once and at most once plus the kills that hit it: each email
  counted at the SMTP server by its ``X-FilingFlow-Notice`` header, each SMS at the gateway by its
  idempotency key; none left pending or dead;
* no 5xx except 503s inside the database outage.
"""

from __future__ import annotations

import email.parser
from collections import Counter
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bench.round_driver import Call
from bench.round_fleet import AUDIT_KEY, Fleet
from states.longgang_ai_compute_2025 import LONGGANG_2025
from states.shenzhen_training_voucher_2024 import SHENZHEN_2024
from tests.support.invariants import assert_invariants
from workflow.database import create_database_engine
from workflow.engine import Engine
from workflow.tables import audit_events, cases, deadlines, notices

CAPS_FEN = {LONGGANG_2025.key: 600_000_000, SHENZHEN_2024.key: SHENZHEN_2024.cap_sme_fen}  # LG-AMT-2, SZ-AMT-2
GONE = ("rejected", "withdrawn", "abandoned")


def audit_cli(fleet: Fleet) -> list[str]:
    done = fleet.cli("audit", "verify", timeout=1800)
    return [] if done.returncode == 0 else [f"filingflow audit verify exited {done.returncode}: {done.stdout[-800:]}"]


def one_timeline(fleet: Fleet) -> list[str]:
    """Every process joined its phase's timeline (none began one of its own, hours apart at a high rate)."""
    strays = [
        log.name
        for log in sorted((fleet.folder / "logs").glob("*.log"))
        if "starts a new timeline" in log.read_text(errors="replace")
    ]
    return [f"processes began timelines of their own: {strays}"] if strays else []


def whole_database(engine: Engine) -> list[str]:
    try:
        assert_invariants(engine, AUDIT_KEY.encode())
    except AssertionError as breach:
        return [f"database invariants: {breach}"]
    return []


def deadlines_once(url: str, now: datetime) -> list[str]:
    database = create_database_engine(url)
    breaches: list[str] = []
    try:
        with database.connect() as conn:
            expired = Counter(
                (case_id, event)
                for case_id, event in conn.execute(
                    sa.select(deadlines.c.case_id, deadlines.c.on_expiry).where(deadlines.c.status == "expired")
                )
            )
            fired = Counter(
                (case_id, event)
                for case_id, event in conn.execute(
                    sa.select(audit_events.c.case_id, audit_events.c.event).where(audit_events.c.via == "scheduler")
                )
            )
            left = conn.execute(
                sa.select(sa.func.count()).where(deadlines.c.status == "pending", deadlines.c.due_at <= now)
            ).scalar_one()
            failed = conn.execute(sa.select(sa.func.count()).where(deadlines.c.status == "failed")).scalar_one()
    finally:
        database.dispose()
    expiry_events = {event for _, event in expired}
    fired = Counter({key: n for key, n in fired.items() if key[1] in expiry_events})
    for key in set(expired) | set(fired):
        if expired[key] != fired[key]:
            breaches.append(f"case {key[0]}: {expired[key]} expired deadline(s) for {key[1]}, fired {fired[key]} times")
    if left:
        breaches.append(f"{left} deadline(s) still pending past due at {now.isoformat()}")
    if failed:
        breaches.append(f"{failed} deadline(s) failed (an expiry refused by a rule)")
    return breaches[:20]


def caps(url: str) -> list[str]:
    database = create_database_engine(url)
    try:
        with database.connect() as conn:
            held = conn.execute(
                sa.select(cases.c.program_key, cases.c.applicant_code, sa.func.sum(cases.c.amount_fen))
                .where(cases.c.state.not_in(GONE), cases.c.amount_fen.is_not(None))
                .group_by(cases.c.program_key, cases.c.applicant_code)
            ).all()
    finally:
        database.dispose()
    return [
        f"{code} holds {total} fen of {program}, over its cap {CAPS_FEN[program]}"
        for program, code, total in held
        if program in CAPS_FEN and int(total) > CAPS_FEN[program]
    ]


def delivered(fleet: Fleet, allowance: int) -> tuple[list[str], dict[str, Any]]:
    """Each sent notice received at least once; duplicates no more than ``allowance`` (kills and restarts)."""
    parser = email.parser.BytesHeaderParser()
    emails = Counter(
        "".join(str(parser.parsebytes(raw)["X-FilingFlow-Notice"]).split()) for raw in list(fleet.smtp.mailbox.raw)
    )
    texts = Counter(str(body.get("idempotency_key")) for body in list(fleet.sms.received))
    database = create_database_engine(fleet.database.url)
    try:
        with database.connect() as conn:
            rows = conn.execute(
                sa.select(notices.c.channel, notices.c.status, notices.c.idempotency_key, notices.c.sent_at)
            ).all()
    finally:
        database.dispose()
    breaches: list[str] = []
    statuses = Counter(status for _, status, _, _ in rows)
    if set(statuses) - {"sent"}:
        breaches.append(f"notices not sent at the end: { {s: n for s, n in statuses.items() if s != 'sent'} }")
    missing: list[str] = []
    duplicates = 0
    for channel, _, key, sent_at in rows:
        got = emails[key] if channel == "email" else texts[key] if channel == "sms" else 1
        if got == 0:
            missing.append(f"{channel} {key} (sent_at {sent_at})")
        duplicates += max(got - 1, 0)
    if missing:
        breaches.append(f"{len(missing)} notice(s) never reached their server, e.g. {missing[:4]}")
    if duplicates > allowance:
        breaches.append(f"{duplicates} duplicate deliveries, more than the {allowance} kills/restarts could cause")
    figures = {
        "notices": len(rows),
        "by_channel": dict(Counter(channel for channel, _, _, _ in rows)),
        "emails_received": sum(emails.values()),
        "sms_received": sum(texts.values()),
        "duplicates": duplicates,
        "duplicates_allowed": allowance,
    }
    return breaches, figures


def server_errors(calls: list[Call], outages: list[tuple[float, float]]) -> tuple[list[str], dict[str, int]]:
    codes = Counter(call.status for call in calls)

    def in_outage(call: Call) -> bool:  # sent before the database went down counts too: it was answered in it
        answered = call.real + call.ms / 1000
        return any(call.real <= b and answered >= a for a, b in outages)

    bad = [call for call in calls if call.status >= 500 and not (call.status == 503 and in_outage(call))]
    breaches = [f"{len(bad)} server error(s) outside the outage, e.g. {bad[0].label} -> {bad[0].status}"] if bad else []
    return breaches, {str(code): n for code, n in sorted(codes.items())}
