"""Secrets have no default in the source (issue 13 item 1): generated on SQLite, required on PostgreSQL."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from app.keys import audit_key, console_keys, hkdf
from app.settings import Settings, SettingsError
from tests.app.test_cli import run


def test_a_fresh_install_generates_unique_private_secrets(tmp_path: Path) -> None:
    installs = [
        Settings(database_url=f"sqlite:///{tmp_path / name / 'ff.db'}", var_dir=str(tmp_path / name / "var"))
        for name in ("one", "two")
    ]
    first, second = ((audit_key(s), console_keys(s)) for s in installs)
    assert first[0] != second[0]
    assert first[1].session != second[1].session
    assert first[1].csrf != second[1].csrf
    assert len({first[1].session, first[1].csrf, first[1].flash, first[0]}) == 4, "one key per purpose"
    for name in ("audit_key", "session_key", "csrf_key"):
        path = tmp_path / "one" / "var" / "secrets" / f"{name}.key"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
        assert len(path.read_text().strip()) == 64
    assert stat.S_IMODE((tmp_path / "one" / "var" / "secrets").stat().st_mode) == 0o700
    assert (audit_key(installs[0]), console_keys(installs[0])) == first, "the next start reads the same secrets"


def test_rotating_the_session_secret_changes_only_the_session_keys(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'ff.db'}", var_dir=str(tmp_path / "var"))
    before = (audit_key(settings), console_keys(settings))
    (tmp_path / "var" / "secrets" / "session_key.key").unlink()
    after = (audit_key(settings), console_keys(settings))
    assert after[0] == before[0]
    assert after[1].csrf == before[1].csrf
    assert after[1].session != before[1].session
    assert after[1].flash != before[1].flash


def test_secrets_come_from_files_named_by_file_variables(tmp_path: Path) -> None:
    (tmp_path / "audit").write_text("from-a-file\n")
    settings = Settings.from_env({"FILINGFLOW_AUDIT_KEY_FILE": str(tmp_path / "audit"), "FILINGFLOW_CSRF_KEY": "c"})
    assert (settings.audit_key, settings.csrf_key, settings.session_key) == ("from-a-file", "c", None)
    with pytest.raises(SettingsError, match="FILINGFLOW_AUDIT_KEY and FILINGFLOW_AUDIT_KEY_FILE"):
        Settings.from_env({"FILINGFLOW_AUDIT_KEY_FILE": str(tmp_path / "audit"), "FILINGFLOW_AUDIT_KEY": "x"})
    with pytest.raises(SettingsError, match="FILINGFLOW_SESSION_KEY_FILE"):
        Settings.from_env({"FILINGFLOW_SESSION_KEY_FILE": str(tmp_path / "missing")})


def test_postgresql_without_secrets_is_refused_naming_the_variable() -> None:
    settings = Settings(database_url="postgresql+psycopg://ff@127.0.0.1:1/ff")
    with pytest.raises(SettingsError, match="FILINGFLOW_AUDIT_KEY"):
        audit_key(settings)
    with pytest.raises(SettingsError, match="FILINGFLOW_SESSION_KEY"):
        console_keys(Settings(database_url=settings.database_url, audit_key="a", csrf_key="c"))


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "FILINGFLOW_AUDIT_KEY"),
        ({"FILINGFLOW_AUDIT_KEY": "a"}, "FILINGFLOW_SESSION_KEY"),
        ({"FILINGFLOW_AUDIT_KEY": "a", "FILINGFLOW_SESSION_KEY": "s"}, "FILINGFLOW_CSRF_KEY"),
    ],
)
def test_serve_on_postgresql_without_a_secret_stops_with_one_line(
    env: dict[str, str], variable: str, tmp_path: Path
) -> None:
    url = "postgresql+psycopg://ff@127.0.0.1:1/ff"  # never reached: the check comes first
    clean = {"FILINGFLOW_AUDIT_KEY": "", "FILINGFLOW_SESSION_KEY": "", "FILINGFLOW_CSRF_KEY": ""}
    result = run("serve", "--port", "0", env={**clean, "FILINGFLOW_DATABASE_URL": url, **env}, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {variable} (or {variable}_FILE) must be set"), lines
    assert not (tmp_path / "var").exists(), "nothing generated for a shared database"


def test_hkdf_matches_rfc_5869_test_case_3() -> None:
    okm = hkdf(b"\x0b" * 22, "", 42)
    assert okm.hex() == ("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")
