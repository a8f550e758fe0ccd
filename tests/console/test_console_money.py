"""资金报表 in the console: granted, redeemed, expired, remaining per round and applicant (SZ-REDEEM-1/2)."""

from __future__ import annotations

import csv
import io

from tests.console.conftest import Console, section_text
from tests.support.longgang import uscc
from tests.support.redemption import redeemed_and_expired
from tests.support.shenzhen import PROGRAM
from workflow.clock import ManualClock


def _rows(section: str, marker: str) -> list[list[str]]:
    """The whitespace-split cells of the table rows whose text holds ``marker``."""
    return [line.split() for line in section.splitlines() if marker in line]


def test_sz_redeem_2_the_money_page_per_round_and_per_applicant(console: Console, clock: ManualClock) -> None:
    redeemed_and_expired(console.engine, clock)
    with console.signed_in() as http:
        page = http.get("/console/reports/money", params={"program": PROGRAM})
    assert page.status_code == 200
    rounds = section_text(page.text, "money-rounds")
    for heading in ("已授予", "已兑现", "已失效", "剩余"):
        assert heading in rounds
    # the round: 2 cases, granted 4,000,000.00, redeemed 1,200,000.00, expired 2,800,000.00, nothing remaining
    ((*_, cases, granted, redeemed, expired, remaining),) = _rows(rounds, PROGRAM)
    assert [cases, granted, redeemed, expired, remaining] == [
        "2",
        "4,000,000.00",
        "1,200,000.00",
        "2,800,000.00",
        "0.00",
    ]
    applicants = section_text(page.text, "money-applicants")
    figures = sorted(cells[-4:] for code in (uscc(1), uscc(3)) for cells in _rows(applicants, code))
    assert figures == [
        ["2,000,000.00", "0.00", "2,000,000.00", "0.00"],
        ["2,000,000.00", "1,200,000.00", "800,000.00", "0.00"],
    ]


def test_sz_redeem_2_the_money_csv_reuses_the_report(console: Console, clock: ManualClock) -> None:
    redeemed_and_expired(console.engine, clock)
    with console.signed_in("admin") as http:
        response = http.get("/console/reports/money.csv", params={"program": PROGRAM})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert f"money-report-{PROGRAM}.csv" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][4:] == ["cases", "granted_cny", "redeemed_cny", "expired_cny", "remaining_cny"]
    assert rows[-1][2:] == ["(round total)", "", "2", "4000000.00", "1200000.00", "2800000.00", "0.00"]
    assert sorted(row[2] for row in rows[1:-1]) == sorted([uscc(1), uscc(3)])


def test_sz_redeem_2_an_unknown_or_figureless_round_is_named(console: Console) -> None:
    with console.signed_in() as http:
        unknown = http.get("/console/reports/money", params={"program": "no-such-round"})
        figureless = http.get("/console/reports/money", params={"program": "longgang-ai-compute-2025"})
        unknown_csv = http.get("/console/reports/money.csv", params={"program": "no-such-round"})
        figureless_csv = http.get("/console/reports/money.csv", params={"program": "longgang-ai-compute-2025"})
    assert unknown.status_code == 404
    assert "no-such-round" in unknown.text
    assert figureless.status_code == 422
    assert "字段 program" in figureless.text
    assert unknown_csv.status_code == 404
    assert (figureless_csv.status_code, figureless_csv.json()["field"]) == (422, "program")


def test_sz_redeem_2_the_money_page_is_for_staff_only(console: Console) -> None:
    # a platform or applicant token cannot even sign in; its bearer beside a staff session is refused
    for role in ("platform", "applicant"):
        bearer = {"Authorization": f"Bearer {console.tokens[role]}"}
        with console.signed_in() as http:
            assert http.get("/console/reports/money", headers=bearer).status_code == 403
            assert http.get("/console/reports/money.csv", headers=bearer).status_code == 403
    with console.signed_in() as http:
        http.cookies.clear()
        assert http.get("/console/reports/money").headers["location"] == "/console/login"
        assert http.get("/console/reports/money.csv").status_code == 303
