"""Start-up and storage faults a user meets: one clear line each, exit 2 (issue 13 item 9)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from app.api import create_app
from app.settings import Settings, SettingsError
from tests.app.test_cli import FILINGFLOW, run
from tests.support.http import serving
from tests.support.longgang import PROGRAM, applicant, complete_data
from tests.support.postgres import free_port
from workflow.engine import Engine

SECRETS = {"FILINGFLOW_AUDIT_KEY": "k", "FILINGFLOW_SESSION_KEY": "s", "FILINGFLOW_CSRF_KEY": "c"}


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("garbage", "FILINGFLOW_DATABASE_URL='garbage': is not a database URL: write sqlite:///"),
        ("mysql://u@db/ff", "FILINGFLOW_DATABASE_URL='mysql://u@db/ff': uses 'mysql', which FilingFlow does not"),
        ("postgresql+psycopg2://u@db/ff", "uses 'postgresql+psycopg2', which FilingFlow does not support"),
        ("postgresql://ff@127.0.0.1:1/ff", "cannot use the database (connection failed: connection to server at"),
    ],
)
def test_a_bad_database_url_is_one_line_and_exit_2(url: str, says: str, tmp_path: Path) -> None:
    result = run("worker", "--once", env={**SECRETS, "FILINGFLOW_DATABASE_URL": url}, cwd=tmp_path)
    assert result.returncode == 2
    assert _one_line(result).startswith("error: "), result.stderr
    assert says in result.stderr


def test_a_sqlite_url_naming_a_missing_directory_creates_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'typo' / 'dir' / 'x.db'}"
    result = run("worker", "--once", env={**SECRETS, "FILINGFLOW_DATABASE_URL": url}, cwd=tmp_path)
    assert result.returncode == 2
    assert "does not exist: create it or correct the URL" in _one_line(result)
    assert not (tmp_path / "typo").exists()


def test_the_usual_postgresql_form_means_psycopg_3(postgres: object) -> None:
    settings = Settings.from_env({"FILINGFLOW_DATABASE_URL": "postgresql://ff:pw@db.internal:5432/ff"})
    assert settings.database_url == "postgresql+psycopg://ff:pw@db.internal:5432/ff"
    url = postgres.url("ff_template").replace("postgresql+psycopg://", "postgresql://")  # type: ignore[attr-defined]
    current = run("db", "current", env={**SECRETS, "FILINGFLOW_DATABASE_URL": url})
    assert current.returncode == 0, current.stderr
    with pytest.raises(SettingsError, match="FILINGFLOW_DATABASE_URL"):
        Settings.from_env({"FILINGFLOW_DATABASE_URL": "oracle://u@db/ff"})


def test_a_deleted_sqlite_file_fails_health_and_refuses_writes(engine: Engine, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("a PostgreSQL database is not a file")
    from app.api.auth import create_token

    _, token = create_token(engine.database, name="p", role="platform", applicant_code=None, now=engine.clock.now())
    path = Path(str(engine.database.url.database))
    with serving(create_app(engine)) as base, httpx.Client(base_url=base, timeout=30) as http:
        assert http.get("/healthz").status_code == 200
        path.unlink()
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        health = http.get("/healthz")
        assert (health.status_code, health.json()["database"]) == (503, "unreachable: OperationalError")
        body = {"program": PROGRAM, "applicant": applicant(1), "data": complete_data()}
        write = http.post("/v1/cases", json=body, headers={"Authorization": f"Bearer {token}"})
        assert write.status_code == 503, write.text
    assert not path.exists(), "nothing recreated the file"


def test_one_worker_per_sqlite_database_and_a_busy_port_is_one_line(tmp_path: Path) -> None:
    env = {**os.environ, **SECRETS, "FILINGFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'ff.db'}"}
    env["FILINGFLOW_VAR_DIR"] = str(tmp_path / "var")
    port = free_port()
    first = subprocess.Popen(
        [FILINGFLOW, "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert first.poll() is None, "the first serve stopped"
            assert time.monotonic() < deadline, "the first serve did not start"
            time.sleep(0.2)
        second = subprocess.Popen(
            [FILINGFLOW, "serve", "--port", str(free_port())], env=env, stderr=subprocess.PIPE, text=True, cwd=tmp_path
        )
        busy = subprocess.run(
            [FILINGFLOW, "serve", "--port", str(port)], env=env, capture_output=True, text=True, timeout=60
        )
        assert busy.returncode == 2
        assert _one_line(busy) == (
            f"error: cannot listen on 127.0.0.1:{port} (Address already in use): is another server using it? "
            "choose another with --port"
        )
        time.sleep(3)
        second.send_signal(signal.SIGTERM)
        _, said = second.communicate(timeout=30)
        assert f"no in-process worker: the worker of this SQLite database runs elsewhere (pid {first.pid} on" in said
        assert "scheduler worker running" not in said
        log = tmp_path / "standby.log"
        with log.open("w") as out:
            standby = subprocess.Popen([FILINGFLOW, "worker", "--once"], env=env, stderr=out, text=True)
        holder = f"standing by: the worker of this SQLite database runs elsewhere (pid {first.pid} on"
        deadline = time.monotonic() + 60
        while holder not in log.read_text():
            assert standby.poll() is None, f"a second worker waits while the first holds it: {log.read_text()}"
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    assert standby.wait(timeout=60) == 0, log.read_text()


def test_a_refused_database_url_is_shown_without_its_password(tmp_path: Path) -> None:
    url = "mysql://filing:s3cret-pw@db/ff"
    result = run("worker", "--once", env={**SECRETS, "FILINGFLOW_DATABASE_URL": url}, cwd=tmp_path)
    assert result.returncode == 2
    assert "s3cret-pw" not in result.stderr
    assert "FILINGFLOW_DATABASE_URL='mysql://filing:***@db/ff': uses 'mysql'" in result.stderr
