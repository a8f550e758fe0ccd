"""The published spec makes a working client, and /docs works with no internet (issue 15, item 2)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import Api
from tests.support.browser import browser  # noqa: F401 (fixture)
from tests.support.longgang import PROGRAM, applicant, complete_data

GENERATOR = Path(sys.executable).parent / "openapi-python-client"


def test_the_spec_declares_a_bearer_scheme_readable_operation_ids_and_tags(api: Api) -> None:
    spec = httpx.get(f"{api.base}/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "`filingflow tokens create` prints one",
    }
    operations = {op["operationId"]: op for path in spec["paths"].values() for op in path.values()}
    for name in ("open_case", "fire_event", "get_case", "list_cases", "override_case", "advance_batch"):
        assert operations[name]["security"] == [{"bearer": []}], name
    assert operations["get_health"]["tags"] == ["health"]
    assert "security" not in operations["get_health"]
    declared = {tag["name"] for tag in spec["tags"]}
    assert {tag for op in operations.values() for tag in op["tags"]} <= declared
    # the bearer header is the security scheme, not a loose "authorization" parameter
    assert all(p["name"].lower() != "authorization" for op in operations.values() for p in op.get("parameters", []))


def test_a_generated_client_opens_and_submits_a_case(api: Api, tmp_path: Path) -> None:
    # LG-FLOW-1: open and submit through openapi-python-client's output, against the live server
    (tmp_path / "openapi.json").write_text(json.dumps(httpx.get(f"{api.base}/openapi.json").json()))
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(GENERATOR), "generate", "--path", "openapi.json", "--meta", "none", "--output-path", "ffclient"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        client_mod: Any = importlib.import_module("ffclient.client")
        open_case: Any = importlib.import_module("ffclient.api.cases.open_case")
        fire_event: Any = importlib.import_module("ffclient.api.cases.fire_event")
        get_case: Any = importlib.import_module("ffclient.api.cases.get_case")
        models: Any = importlib.import_module("ffclient.models")
        client = client_mod.AuthenticatedClient(base_url=api.base, token=api.tokens["platform"])
        anonymous = client_mod.Client(base_url=api.base)
        with client, anonymous:
            body = models.CaseCreate.from_dict({"program": PROGRAM, "applicant": applicant(1), "data": complete_data()})
            opened = open_case.sync_detailed(client=client, body=body)
            assert opened.status_code == 201, opened.content
            case = opened.parsed
            assert isinstance(case, models.CaseOut)
            assert case.state == "draft"
            submitted = fire_event.sync(
                case.id, client=client, body=models.EventIn.from_dict({"event": "submit"}), if_match=f'"{case.version}"'
            )
            assert isinstance(submitted, models.CaseOut), submitted
            assert submitted.state == "online_review"
            assert get_case.sync(case.id, client=client).version == submitted.version == 2
            refused = fire_event.sync(case.id, client=client, body=models.EventIn.from_dict({"event": "submit"}))
            assert isinstance(refused, models.Problem)  # the problem schema parses too
            assert refused.status == 409
            assert get_case.sync_detailed(case.id, client=anonymous).status_code == 401
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "ffclient" or m.startswith("ffclient.")]:
            del sys.modules[name]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_docs_render_with_every_request_off_localhost_blocked(api: Api, browser: Any) -> None:  # noqa: F811
    page = browser.new_context().new_page()
    outside: list[str] = []

    def route(request: Any) -> None:
        if request.request.url.startswith(api.base):
            request.continue_()
        else:
            outside.append(request.request.url)
            request.abort()

    page.route("**/*", route)
    page.goto(f"{api.base}/docs")
    page.get_by_text("/v1/cases/{case_id}/events", exact=True).wait_for(timeout=15000)
    assert page.get_by_role("button", name="Authorize").is_visible()
    page.get_by_role("button", name="Authorize").click()
    assert page.get_by_text("bearer  (http, Bearer)").is_visible()
    assert outside == []
    assert httpx.get(f"{api.base}/redoc").status_code == 200
