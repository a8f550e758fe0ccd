"""Settings through pydantic-settings (issue 15 item 6): every bad variable listed at once, ``.env``, ``*_FILE``."""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

import pytest

from app.settings import SECRET_FILES, Settings, SettingsError, _same_fields
from tests.app.test_cli import run

SECRET_VARIABLES = [f"FILINGFLOW_{name.upper()}" for name in SECRET_FILES]


def test_every_bad_variable_is_listed_in_one_error(tmp_path: Path) -> None:
    bad = {
        "FILINGFLOW_SMTP_PORT": "70000",
        "FILINGFLOW_STAFF_EMAIL": "nobody",
        "FILINGFLOW_VAR_DIR": str(tmp_path / "a-file" / "var"),
        "FILINGFLOW_OUTBOX_BATCH": "0",
        "FILINGFLOW_LOG_FORMAT": "xml",
        "FILINGFLOW_CSRF_KEY_FILE": str(tmp_path / "missing"),
    }
    (tmp_path / "a-file").write_text("not a directory")
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({**bad, "FILINGFLOW_DB_POOL_SIZE": "3"})
    message = str(refused.value)
    assert message.startswith("6 bad configuration variables:")
    assert len(refused.value.problems) == 6
    for name, problem in zip(sorted(bad), sorted(refused.value.problems), strict=True):
        assert problem.startswith(f"{name}="), (name, problem)
        assert problem in message
    assert "FILINGFLOW_DB_POOL_SIZE" not in message, "a good variable is not listed"


def test_the_cli_lists_every_bad_variable_and_exits_2(tmp_path: Path) -> None:
    refused = run(
        "programs",
        "list",
        env={"FILINGFLOW_STAFF_EMAIL": "nobody", "FILINGFLOW_SMTP_TLS": "maybe", "FILINGFLOW_VAR_DIR": str(tmp_path)},
    )
    assert refused.returncode == 2, refused.stderr
    assert "FILINGFLOW_STAFF_EMAIL='nobody'" in refused.stderr
    assert "FILINGFLOW_SMTP_TLS='maybe'" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_an_unwritable_var_dir_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    for var_dir in (tmp_path / "file", tmp_path / "file" / "below"):
        with pytest.raises(SettingsError, match="FILINGFLOW_VAR_DIR"):
            Settings.from_env({"FILINGFLOW_VAR_DIR": str(var_dir)})
    # a directory that does not exist yet is fine when it can be made: it is made at first use
    fresh = tmp_path / "new" / "var"
    assert Settings.from_env({"FILINGFLOW_VAR_DIR": str(fresh)}).var_dir == str(fresh)
    assert not fresh.exists(), "reading the settings creates nothing"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory")
def test_a_read_only_var_dir_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(SettingsError, match=r"FILINGFLOW_VAR_DIR.*not writable"):
            Settings.from_env({"FILINGFLOW_VAR_DIR": str(locked / "var")})
    finally:
        locked.chmod(stat.S_IRWXU)


def test_a_dotenv_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# FilingFlow on this machine\n"
        "FILINGFLOW_OUTBOX_BATCH=17\n"
        "FILINGFLOW_STAFF_EMAIL=review@example.gov.cn\n"
        'FILINGFLOW_MAIL_FROM="龙岗区AI署 <noreply@example.gov.cn>"\n'
        "OTHER_TOOL_SETTING=ignored\n",
        encoding="utf-8",
    )
    settings = Settings.from_env({"FILINGFLOW_OUTBOX_BATCH": "9"}, env_file=env_file)
    assert (settings.outbox_batch, settings.staff_email) == (9, "review@example.gov.cn")
    assert settings.mail_from == "龙岗区AI署 <noreply@example.gov.cn>"
    assert Settings.from_env({}, env_file=tmp_path / "absent.env") == Settings.from_env({}), "no file, no change"


def test_a_bad_value_in_the_dotenv_file_is_named(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("FILINGFLOW_STAFF_EMAIL=nobody\nFILINGFLOW_DATABASE_URL=sqlite:///x.db\n")
    with pytest.raises(SettingsError, match="FILINGFLOW_STAFF_EMAIL='nobody'"):
        Settings.from_env({}, env_file=env_file)
    assert Settings.from_env({"FILINGFLOW_STAFF_EMAIL": "a@b.cn"}, env_file=env_file).database_url_from_env


def test_the_process_reads_dot_env_in_its_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "from-dotenv.db"
    (tmp_path / ".env").write_text(f"FILINGFLOW_OUTBOX_COMMIT_EVERY=4\nFILINGFLOW_DATABASE_URL=sqlite:///{database}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FILINGFLOW_OUTBOX_COMMIT_EVERY", raising=False)
    monkeypatch.delenv("FILINGFLOW_DATABASE_URL", raising=False)
    assert Settings.from_env().outbox_commit_every == 4
    assert Settings.from_env({}).outbox_commit_every == 1, "a given mapping is read alone"
    # an empty variable counts as unset, so the .env line applies
    listed = run("notifications", "list", "--status", "dead", env={"FILINGFLOW_DATABASE_URL": ""}, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert database.exists(), "the CLI used the database its directory's .env names"


@pytest.mark.parametrize("variable", SECRET_VARIABLES)
def test_each_secret_can_come_from_a_file(variable: str, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("  from-a-file \n", encoding="utf-8")
    environ = {f"{variable}_FILE": str(tmp_path / "secret")}
    if variable == "FILINGFLOW_SMS_GATEWAY_SECRET":
        environ["FILINGFLOW_SMS_GATEWAY_URL"] = "https://sms.example.gov.cn/send"
    settings = Settings.from_env(environ)
    name = variable.removeprefix("FILINGFLOW_").lower()
    assert getattr(settings, name) == "from-a-file"
    assert "from-a-file" not in repr(settings), "secrets stay out of logs"


@pytest.mark.parametrize("variable", SECRET_VARIABLES)
def test_a_secret_given_both_ways_is_refused(variable: str, tmp_path: Path) -> None:
    # precedence would hide a stale value: the secret must be given one way
    (tmp_path / "secret").write_text("from-a-file\n")
    environ = {variable: "given-directly", f"{variable}_FILE": str(tmp_path / "secret")}
    with pytest.raises(SettingsError, match=f"{variable} and {variable}_FILE are both set") as refused:
        Settings.from_env(environ)
    assert "given-directly" not in str(refused.value)
    # also when one of the two comes from .env
    (tmp_path / ".env").write_text(f"{variable}=given-in-dotenv\n")
    with pytest.raises(SettingsError, match=f"{variable}_FILE"):
        Settings.from_env({f"{variable}_FILE": str(tmp_path / "secret")}, env_file=tmp_path / ".env")


def test_a_bad_secret_is_named_and_never_echoed(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(
            {
                "FILINGFLOW_AUDIT_KEY_FILE": str(tmp_path / "empty"),
                "FILINGFLOW_SESSION_KEY_FILE": str(tmp_path / "missing"),
                "FILINGFLOW_SMS_GATEWAY_URL": "https://sms.example.gov.cn/send",
            }
        )
    assert [problem.split(":")[0].split("=")[0] for problem in refused.value.problems] == [
        "FILINGFLOW_AUDIT_KEY_FILE",
        "FILINGFLOW_SESSION_KEY_FILE",
        "FILINGFLOW_SMS_GATEWAY_SECRET",
    ]
    assert "names an empty file" in str(refused.value)
    assert "cannot be read: FileNotFoundError" in str(refused.value)


def test_every_setting_is_read_from_the_environment() -> None:
    assert _same_fields()


def test_settings_stay_a_plain_value_for_tests_and_tools() -> None:
    # tests build Settings directly and derive variants with dataclasses.replace; neither reads the environment
    base = Settings(database_url="sqlite:///x.db", audit_key="k", calendar_package_until=2026)
    variant = dataclasses.replace(base, smtp_port=2525)
    assert (variant.smtp_port, variant.audit_key, base.smtp_port) == (2525, "k", 25)
