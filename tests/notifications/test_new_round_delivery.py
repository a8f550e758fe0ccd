"""A new round of a program sends its notices (issue 14 A): templates are found by program, not round key.

The README's own example, a 2026 Longgang round made with ``dataclasses.replace()`` and registered
through ``FILINGFLOW_PROGRAMS``, is opened and submitted, and its SMS and emails are delivered to a
real SMTP server (aiosmtpd) and the loopback SMS provider. Before templates moved into the program
package every notice of such a round went dead ("no template submission_received.sms.j2 for
longgang-ai-compute-2026 or _common").
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from app.bootstrap import bootstrap
from app.delivery import build_dispatcher
from app.settings import Settings
from states import longgang_ai_compute_2025
from states.longgang_ai_compute_2025 import LONGGANG_2025
from tests.support.longgang import PLATFORM, applicant, complete_data, sh
from tests.support.sms_gateway import SmsProvider
from tests.support.smtp import SmtpServer
from workflow.clock import ManualClock
from workflow.definition import ProcessDefinition

ROUND_2026 = "longgang-ai-compute-2026"


def rounds() -> list[ProcessDefinition]:
    """What a platform names in ``FILINGFLOW_PROGRAMS``: the README's 2026 round, as written there."""
    longgang_2026 = replace(
        LONGGANG_2025,
        key=ROUND_2026,
        year=2026,
        window_opens=date(2026, 8, 10),
        window_closes=date(2026, 9, 10),
    )
    return [longgang_ai_compute_2025.build(longgang_2026)]


def test_a_replace_round_registered_through_FILINGFLOW_PROGRAMS_delivers_its_sms_and_email(
    delivery_settings: Settings, smtp: SmtpServer, sms: SmsProvider
) -> None:
    # LG-FLOW-1, LG-NOTE-1: the 2026 round's submission receipt reaches the applicant by SMS and email
    environ = {"FILINGFLOW_PROGRAMS": f"{__name__}:rounds"}
    settings = replace(delivery_settings, programs=Settings.from_env(environ).programs)
    engine = bootstrap(settings, clock=ManualClock(sh("2026-08-20 09:00")))
    try:
        case = engine.open_case(ROUND_2026, applicant=applicant(7), data=complete_data(), actor=PLATFORM)
        engine.fire(case.id, "submit", actor=PLATFORM)
        report = build_dispatcher(settings, engine).dispatch_due()
    finally:
        engine.database.dispose()
    assert (report.claimed, report.sent, report.dead) == (3, 3, 0), report.errors
    (message,) = sms.received
    assert message["to"] == applicant(7)["phone"]
    assert message["text"].startswith("【"), message["text"]
    assert f"（编号{case.id}）已提交成功" in message["text"], message["text"]
    by_to = {str(m["To"]): m for m in smtp.mailbox.messages}
    mail = by_to[applicant(7)["email"]]
    assert str(case.id) in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "深圳市测试科技7号有限公司" in str(by_to["reviewers@ai.lg.example.cn"]["Subject"])
