"""Outbox dispatch throughput: 2,000 queued emails through the Dispatcher to a loopback aiosmtpd,
against a bare aiosmtplib loop sending the same number of messages over one reused connection.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import sqlalchemy as sa

from app.bootstrap import bootstrap
from app.delivery import build_dispatcher
from app.settings import Settings
from tests.support.longgang import PROGRAM, sh
from tests.support.smtp import SmtpServer
from workflow.audit import GENESIS
from workflow.clock import ManualClock
from workflow.tables import cases, notices

NOW = sh("2025-08-20 09:00")


def _queue(engine: Any, count: int) -> None:
    with engine.database.begin() as conn:
        case_id = conn.execute(
            sa.insert(cases).returning(cases.c.id),
            {
                "program_key": PROGRAM,
                "program_version": 1,
                "state": "online_review",
                "final": False,
                "version": 1,
                "applicant_name": "深圳市测试科技有限公司",
                "applicant_code": "BENCH",
                "applicant_email": "a@example.cn",
                "data": {},
                "chain_head": GENESIS,
                "created_at": NOW,
                "updated_at": NOW,
            },
        ).scalar_one()
        context = {
            "case_id": case_id,
            "program": PROGRAM,
            "applicant_name": "深圳市测试科技有限公司",
            "state": "online_review",
            "event": "submit",
            "reason": None,
            "deadlines": {},
        }
        conn.execute(
            sa.insert(notices),
            [
                {
                    "case_id": case_id,
                    "kind": "submission_received",
                    "channel": "email",
                    "recipient": f"u{i}@example.cn",
                    "idempotency_key": f"bench/{i}",
                    "context": context,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": NOW,
                    "created_at": NOW,
                }
                for i in range(count)
            ],
        )


async def _bare(port: int, count: int) -> float:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
    await client.connect()
    started = time.perf_counter()
    for i in range(count):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "noreply@example.cn", f"u{i}@example.cn", "申报已收到"
        message.set_content("您提交的申报已收到。")
        await client.send_message(message)
    elapsed = time.perf_counter() - started
    await client.quit()
    return elapsed


def run(quick: bool) -> dict[str, Any]:
    count = 300 if quick else 2000
    smtp = SmtpServer()
    smtp.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'dispatch.db'}", audit_key="bench")
            engine = bootstrap(settings, clock=ManualClock(NOW))
            _queue(engine, count)
            dispatcher = build_dispatcher(
                replace(settings, smtp_host="127.0.0.1", smtp_port=smtp.port, var_dir=tmp), engine
            )
            started = time.perf_counter()
            report = dispatcher.dispatch_all()
            engine_s = time.perf_counter() - started
            assert report.sent == count, report
            engine.database.dispose()
        bare_s = asyncio.run(_bare(smtp.port, count))
    finally:
        smtp.stop()
    return {
        "messages": count,
        "dispatcher_per_s": round(count / engine_s, 1),
        "bare_aiosmtplib_per_s": round(count / bare_s, 1),
        "ratio": round((count / engine_s) / (count / bare_s), 2),
        "target_ratio": 0.8,
    }
