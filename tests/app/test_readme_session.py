"""The README's "Try it in five minutes" session, run verbatim in a shell (issue 15, item 1).

The block is copied out of README.md between its markers and run by bash in a scratch folder
that links the clone's Makefile, pyproject.toml and virtualenv, on a free port; what a newcomer
is promised (a case opened, submitted, passed by a reviewer; its SMS and emails delivered to the
local sinks) is checked on the output and the sinks.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from app.api.schemas import CASE_CREATE_EXAMPLES
from tests.support.postgres import free_port

ROOT = Path(__file__).resolve().parents[2]


def session() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- try-it:start -->\n```sh\n(.*?)```\n<!-- try-it:end -->", text, flags=re.DOTALL)
    assert block, "the README's try-it block is missing"
    return block.group(1)


def test_the_case_body_in_the_readme_is_the_specs_example() -> None:
    body = re.search(r"cat > case.json <<'JSON'\n(.*?)\nJSON\n", session(), flags=re.DOTALL)
    assert body
    assert json.loads(body.group(1)) == CASE_CREATE_EXAMPLES["longgang-ai-compute-2025"]["value"]


def test_the_readme_session_runs_as_written(tmp_path: Path) -> None:
    # LG-FLOW-1 and LG-WIN-1 on the sandbox clock: submitted inside the 2025 window, then passed by staff
    stamp = ROOT / ".venv" / ".installed-runtime"
    if not stamp.exists() or stamp.stat().st_mtime < (ROOT / "pyproject.toml").stat().st_mtime:
        # the session's `make` would reinstall the clone's virtualenv from this scratch folder and break it
        pytest.fail("the virtualenv is older than pyproject.toml: run `make .venv/.installed` first")
    for name in ("Makefile", "pyproject.toml", ".venv"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FILINGFLOW_")}
    env["PORT"] = str(free_port())
    script = "set -e\n" + session() + 'kill "$SERVER"; wait "$SERVER" || true\n'
    result = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert '"state":"online_review"' in out
    assert '"state":"online_approved"' in out
    assert re.search(r"dispatch: (\d+) claimed, \1 sent", out), out
    sms = (tmp_path / "var" / "sms.log").read_text(encoding="utf-8")
    assert "13800138000" in sms
    assert len(list((tmp_path / "var" / "mail").glob("*.eml"))) >= 2
    assert "console: http://127.0.0.1:" in out
