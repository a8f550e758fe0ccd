"""The dispatcher as real processes: killed mid-batch, and two at once (at-least-once, never lost)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from tests.conftest import AUDIT_KEY
from tests.support.longgang import PLATFORM, PROGRAM, applicant, complete_data
from tests.support.sms_gateway import SECRET, SmsProvider
from tests.support.smtp import SmtpServer
from workflow.engine import Engine
from workflow.tables import notices

FILINGFLOW = str(Path(sys.executable).with_name("filingflow"))


def _env(database_url: str, smtp: SmtpServer, sms: SmsProvider, tmp_path: Path, run: int = 0) -> dict[str, str]:
    """The dispatcher's environment; each ``run`` starts its sandbox clock an hour later (time passes)."""
    return {
        **os.environ,
        "FILINGFLOW_DATABASE_URL": database_url,
        "FILINGFLOW_AUDIT_KEY": AUDIT_KEY,
        "FILINGFLOW_SANDBOX": "1",
        "FILINGFLOW_CLOCK_START": f"2025-08-21T{9 + run:02d}:00:00+08:00",
        "FILINGFLOW_SMTP_HOST": "127.0.0.1",
        "FILINGFLOW_SMTP_PORT": str(smtp.port),
        "FILINGFLOW_SMS_GATEWAY_URL": sms.url,
        "FILINGFLOW_SMS_GATEWAY_SECRET": SECRET,
        "FILINGFLOW_VAR_DIR": str(tmp_path / "var"),
        "FILINGFLOW_OUTBOX_LEASE_SECONDS": "1",
    }


def _queue(engine: Engine, cases: int) -> int:
    for serial in range(cases):
        case_id = engine.open_case(
            PROGRAM, applicant=applicant(serial, phone=False), data=complete_data(), actor=PLATFORM
        ).id
        engine.fire(case_id, "submit", actor=PLATFORM)
    with engine.database.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(notices)).scalar_one())


def _statuses(engine: Engine) -> Counter[str]:
    with engine.database.connect() as conn:
        return Counter(conn.execute(sa.select(notices.c.status)).scalars())


def test_sigkill_mid_batch_loses_nothing_and_duplicates_at_most_the_one_in_flight(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    smtp, sms = SmtpServer(delay=0.03), SmsProvider()
    smtp.start()
    sms.start()
    try:
        total = _queue(engine, 40)  # 40 applicant emails + 40 staff alerts
        kills = 0
        for run in range(3):  # kill it three times, mid-batch; each run starts an hour later
            before = len(smtp.mailbox.messages)
            proc = subprocess.Popen(
                [FILINGFLOW, "notifications", "dispatch"],
                env=_env(database_url, smtp, sms, tmp_path, run),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 60
            while len(smtp.mailbox.messages) < before + 10 and proc.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=30)
        finish = subprocess.run(  # an hour after the last kill: every lease has run out
            [FILINGFLOW, "notifications", "dispatch"],
            env=_env(database_url, smtp, sms, tmp_path, 3),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert finish.returncode == 0, finish.stderr
        assert _statuses(engine) == Counter({"sent": total}), "none lost"
        received = Counter(smtp.mailbox.message_ids())
        assert len(received) == total
        duplicates = sum(n - 1 for n in received.values())
        assert kills == 3
        assert duplicates <= kills, f"{duplicates} duplicates after {kills} kills"
    finally:
        smtp.stop()
        sms.stop()


def test_two_dispatchers_send_each_notice_once(engine: Engine, database_url: str, tmp_path: Path) -> None:
    smtp, sms = SmtpServer(), SmsProvider()
    smtp.start()
    sms.start()
    try:
        total = _queue(engine, 60)
        env = _env(database_url, smtp, sms, tmp_path)
        procs = [
            subprocess.Popen(
                [FILINGFLOW, "notifications", "dispatch"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [p.communicate(timeout=120)[0] for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outputs
        assert _statuses(engine) == Counter({"sent": total})
        received = Counter(smtp.mailbox.message_ids())
        assert len(received) == total
        assert set(received.values()) == {1}, "each notice sent once"
    finally:
        smtp.stop()
        sms.stop()
