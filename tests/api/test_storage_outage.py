"""A database outage over HTTP: 503 with Retry-After, never a 500, and nothing half-written."""

from __future__ import annotations

from tests.api.conftest import Api, api_image
from tests.support.faults import EVERYTHING, failing_statements
from tests.support.longgang import applicant, complete_data


def test_an_outage_is_503_with_retry_after_and_changes_nothing(api: Api) -> None:
    with api.client("platform") as http:
        created = http.post(
            "/v1/cases",
            json={"program": "longgang-ai-compute-2025", "applicant": applicant(1), "data": complete_data()},
        )
        assert created.status_code == 201, created.text
        case_id = created.json()["id"]
        before = api_image(api.engine)
        with failing_statements(api.engine, rate=1.0, seed=1):  # every write and commit fails
            fired = http.post(f"/v1/cases/{case_id}/events", json={"event": "submit"})
        assert fired.status_code == 503, fired.text
        assert fired.headers["content-type"].startswith("application/problem+json")
        assert fired.headers["retry-after"] == "5"
        assert fired.json()["type"].endswith("/storage-unavailable")
        assert api_image(api.engine) == before, "nothing half-written"
        with failing_statements(api.engine, rate=1.0, seed=1, verbs=EVERYTHING):  # reads fail too
            read = http.get(f"/v1/cases/{case_id}")
        assert (read.status_code, read.headers.get("retry-after")) == (503, "5"), read.text
        again = http.post(f"/v1/cases/{case_id}/events", json={"event": "submit"})
        assert again.status_code == 200, "once the database is back the same request succeeds"
