"""``/v1/reports/money``: granted, redeemed and expired per applicant and per round (SZ-REDEEM-1, SZ-REDEEM-2)."""

from __future__ import annotations

import csv
import io

from tests.api.conftest import Api
from tests.support.redemption import redeemed_and_expired
from tests.support.shenzhen import PROGRAM
from workflow.clock import ManualClock


def test_money_report_per_applicant_and_round(api: Api, clock: ManualClock) -> None:
    # SZ-REDEEM-1, SZ-REDEEM-2: what was granted, redeemed and expired
    redeemed_and_expired(api.engine, clock)
    with api.client("staff") as client:
        body = client.get("/v1/reports/money", params={"program": PROGRAM}).json()
    assert body["figures"] == ["granted_fen", "redeemed_fen", "expired_fen", "remaining_fen"]
    (total,) = body["rounds"]
    assert (total["program"], total["cases"]) == (PROGRAM, 2)
    assert total["figures"] == {
        "granted_fen": 400_000_000,
        "redeemed_fen": 120_000_000,
        "expired_fen": 280_000_000,
        "remaining_fen": 0,
    }
    by_code = {line["applicant_code"]: line["figures"] for line in body["applicants"]}
    assert sorted(f["expired_fen"] for f in by_code.values()) == [80_000_000, 200_000_000]
    assert sorted(f["redeemed_fen"] for f in by_code.values()) == [0, 120_000_000]


def test_money_report_as_csv(api: Api, clock: ManualClock) -> None:
    # SZ-REDEEM-2
    redeemed_and_expired(api.engine, clock)
    with api.client("admin") as client:
        response = client.get("/v1/reports/money.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "program",
        "round",
        "applicant_code",
        "applicant_name",
        "cases",
        "granted_cny",
        "redeemed_cny",
        "expired_cny",
        "remaining_cny",
    ]
    assert rows[-1][2:] == ["(round total)", "", "2", "4000000.00", "1200000.00", "2800000.00", "0.00"]


def test_money_report_is_for_staff(api: Api) -> None:
    for role in ("platform", "applicant"):
        with api.client(role) as client:
            response = client.get("/v1/reports/money")
        assert (response.status_code, response.json()["field"]) == (403, "role")
    with api.client("staff") as client:
        response = client.get("/v1/reports/money", params={"program": "no-such-round"})
        assert response.status_code == 422
        response = client.get("/v1/reports/money", params={"program": "longgang-ai-compute-2025"})
        assert (response.status_code, response.json()["field"]) == (422, "program")  # it names no money figures
