"""The dispatcher as real processes: killed mid-batch, and two at once (at-least-once, never lost)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import AUDIT_KEY
from tests.support.longgang import PLATFORM, PROGRAM, applicant, complete_data
from tests.support.sms_gateway import SECRET, SmsProvider
from tests.support.smtp import SmtpServer
from workflow.engine import Engine
from workflow.tables import notices

FILINGFLOW = str(Path(sys.executable).with_name("filingflow"))


def _env(
    database_url: str, smtp: SmtpServer, sms: SmsProvider, tmp_path: Path, run: int = 0, **extra: str
) -> dict[str, str]:
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
        **extra,
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


@pytest.mark.parametrize("commit_every", [1, 5])
def test_sigkill_mid_batch_loses_nothing_and_duplicates_at_most_commit_every_per_kill(
    engine: Engine, database_url: str, tmp_path: Path, commit_every: int
) -> None:
    smtp, sms = SmtpServer(delay=0.03), SmsProvider()
    smtp.start()
    sms.start()
    extra = {"FILINGFLOW_OUTBOX_COMMIT_EVERY": str(commit_every)}
    try:
        total = _queue(engine, 40)  # 40 applicant emails + 40 staff alerts, one batch
        runs: list[int] = []  # index of the first message each run received
        for run in range(3):  # kill it three times, mid-batch; each run starts an hour later
            before = len(smtp.mailbox.messages)
            runs.append(before)
            proc = subprocess.Popen(
                [FILINGFLOW, "notifications", "dispatch"],
                env=_env(database_url, smtp, sms, tmp_path, run, **extra),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 60
            while len(smtp.mailbox.messages) < before + 10 and proc.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            assert proc.poll() is None, "still mid-batch when killed"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        runs.append(len(smtp.mailbox.messages))
        finish = subprocess.run(  # an hour after the last kill: every lease has run out
            [FILINGFLOW, "notifications", "dispatch"],
            env=_env(database_url, smtp, sms, tmp_path, 3, **extra),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert finish.returncode == 0, finish.stderr
        assert _statuses(engine) == Counter({"sent": total}), "none lost"
        ids = smtp.mailbox.message_ids()
        received = Counter(ids)
        assert len(received) == total
        first_seen: dict[str, int] = {}
        for index, mid in enumerate(ids):
            first_seen.setdefault(mid, sum(index >= start for start in runs) - 1)
        per_run = Counter(first_seen[mid] for mid, n in received.items() for _ in range(n - 1))
        assert all(per_run[run] <= commit_every for run in range(3)), f"duplicates per killed run: {per_run}"
        assert per_run[3] == 0, "the run that was not killed duplicated nothing"
    finally:
        smtp.stop()
        sms.stop()


def test_two_dispatchers_share_the_queue_and_send_each_notice_once(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    smtp, sms = SmtpServer(delay=0.02), SmsProvider()
    smtp.mailbox.hold_for_sessions = 2  # the first to connect waits for the other: they overlap
    smtp.start()
    sms.start()
    try:
        total = _queue(engine, 60)
        env = _env(database_url, smtp, sms, tmp_path, FILINGFLOW_OUTBOX_BATCH="5")  # default 120 s lease
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
        sent = [int(re.search(r"dispatch: \d+ claimed, (\d+) sent", out).group(1)) for out in outputs]  # type: ignore[union-attr]
        assert all(n > 0 for n in sent), f"both dispatchers sent some: {sent}"
        assert sum(sent) == total
        assert _statuses(engine) == Counter({"sent": total})
        received = Counter(smtp.mailbox.message_ids())
        assert len(received) == total
        assert set(received.values()) == {1}, "each notice sent once"
    finally:
        smtp.stop()
        sms.stop()
