"""``filingflow notifications dispatch [--once] | list --status | retry ID`` through the real CLI."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from app.cli import cli
from app.settings import SettingsError
from tests.conftest import AUDIT_KEY
from tests.notifications.cases import rows
from tests.support.longgang import submitted
from tests.support.sms_gateway import SECRET, SmsProvider
from tests.support.smtp import SmtpServer
from workflow.engine import Engine


def _env(database_url: str, smtp: SmtpServer, sms: SmsProvider, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "FILINGFLOW_DATABASE_URL": database_url,
        "FILINGFLOW_AUDIT_KEY": AUDIT_KEY,
        "FILINGFLOW_SMTP_HOST": "127.0.0.1",
        "FILINGFLOW_SMTP_PORT": str(smtp.port),
        "FILINGFLOW_SMS_GATEWAY_URL": sms.url,
        "FILINGFLOW_SMS_GATEWAY_SECRET": SECRET,
        "FILINGFLOW_STAFF_EMAIL": "reviewers@ai.lg.example.cn",
        "FILINGFLOW_VAR_DIR": str(tmp_path / "var"),
        **extra,
    }


def test_dispatch_once_sends_one_batch_and_plain_dispatch_sends_everything_due(
    engine: Engine, database_url: str, smtp: SmtpServer, sms: SmsProvider, tmp_path: Path
) -> None:
    for serial in range(1, 5):
        submitted(engine, serial, phone=False)  # 8 emails
    env = _env(database_url, smtp, sms, tmp_path, FILINGFLOW_OUTBOX_BATCH="3")
    runner = CliRunner()
    once = runner.invoke(cli, ["notifications", "dispatch", "--once"], env=env)
    assert once.exit_code == 0, once.output
    assert "dispatch: 3 claimed, 3 sent" in once.output
    assert [r["status"] for r in rows(engine)].count("sent") == 3
    assert len(smtp.mailbox.messages) == 3
    rest = runner.invoke(cli, ["notifications", "dispatch"], env=env)
    assert rest.exit_code == 0, rest.output
    assert "dispatch: 5 claimed, 5 sent" in rest.output
    assert {r["status"] for r in rows(engine)} == {"sent"}
    assert len(smtp.mailbox.messages) == 8
    assert smtp.mailbox.sessions() == 3, "batches of 3, then 3 and 2: one connection each"
    again = runner.invoke(cli, ["notifications", "dispatch", "--once"], env=env)
    assert "dispatch: 0 claimed, 0 sent" in again.output


def test_list_by_status_and_retry_a_dead_notice(
    engine: Engine, database_url: str, smtp: SmtpServer, sms: SmsProvider, tmp_path: Path
) -> None:
    case_id = submitted(engine, 1)
    sms.script.append(400)
    env = _env(database_url, smtp, sms, tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["notifications", "dispatch"], env=env).exit_code == 0
    (dead,) = rows(engine, status="dead")
    listed = runner.invoke(cli, ["notifications", "list", "--status", "dead"], env=env)
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines() == [
        f"[{dead['id']}] case {case_id} submission_received/sms to 13900000001 dead after 1 attempt(s)"
        f"  last error: {dead['last_error']}"
    ]
    sent = runner.invoke(cli, ["notifications", "list", "--status", "sent"], env=env).output.splitlines()
    assert len(sent) == 3, "applicant email, staff email, staff alert about the dead SMS"
    assert any("notice_dead/email to staff sent" in line for line in sent)
    assert (
        runner.invoke(cli, ["notifications", "list", "--status", "pending"], env=env).output == "no pending notices\n"
    )

    retried = runner.invoke(cli, ["notifications", "retry", str(dead["id"])], env=env)
    assert retried.exit_code == 0
    assert retried.output.strip() == f"notice {dead['id']} queued again"
    pending = runner.invoke(cli, ["notifications", "list", "--status", "pending"], env=env).output
    assert pending.startswith(f"[{dead['id']}] case {case_id} submission_received/sms to 13900000001 pending after 0")
    twice = runner.invoke(cli, ["notifications", "retry", str(dead["id"])], env=env)
    assert twice.exit_code == 1
    assert "is not dead" in twice.output
    assert runner.invoke(cli, ["notifications", "dispatch"], env=env).exit_code == 0
    assert {r["status"] for r in rows(engine)} == {"sent"}
    assert sms.received[-1]["to"] == "13900000001"


def test_bad_status_names_the_option_and_changes_nothing(
    engine: Engine, database_url: str, smtp: SmtpServer, sms: SmsProvider, tmp_path: Path
) -> None:
    submitted(engine, 1)
    before = rows(engine)
    result = CliRunner().invoke(
        cli, ["notifications", "list", "--status", "lost"], env=_env(database_url, smtp, sms, tmp_path)
    )
    assert result.exit_code == 2
    assert "--status" in result.output
    assert "pending, sent or dead" in result.output
    assert rows(engine) == before


def test_a_bad_batch_size_stops_dispatch_before_anything_is_sent(
    engine: Engine, database_url: str, smtp: SmtpServer, sms: SmsProvider, tmp_path: Path
) -> None:
    submitted(engine, 1)
    before = rows(engine)
    env = _env(database_url, smtp, sms, tmp_path, FILINGFLOW_OUTBOX_BATCH="0")
    result = CliRunner().invoke(cli, ["notifications", "dispatch"], env=env)
    assert isinstance(result.exception, SettingsError)
    assert "FILINGFLOW_OUTBOX_BATCH" in str(result.exception)
    assert rows(engine) == before
    assert smtp.mailbox.messages == []
