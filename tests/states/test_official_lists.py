"""LG-LIST-1 and SZ-LIST-1: eligibility is decided against the official lists, kept as data.

Entries are added by hand or imported (dry run first); the list guards refuse at submission and
at the decision events by the entries valid at the command's clock; an applicant listed while a
case is open gets the case flagged (audited) and the staff mailbox told. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.support import shenzhen
from tests.support.invariants import assert_invariants, database_image
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, awaiting_paper, complete_data, sh, uscc
from workflow.clock import ManualClock
from workflow.definition import Actor
from workflow.engine import Engine
from workflow.errors import GuardRefused, InvalidInput, NotPermitted
from workflow.listings import Listings
from workflow.tables import listings, notices

CODE = uscc(1)


def entry(**changes: Any) -> dict[str, Any]:
    values = {
        "list": "serious_dishonesty",
        "credit_code": CODE,
        "since": "2025-01-01",
        "until": None,
        "source": "信用中国 2025-08 批次",
        "note": "",
    }
    values.update(changes)
    return values


def _refused_submission(engine: Engine, data: dict[str, Any] | None = None) -> GuardRefused:
    case = engine.open_case(PROGRAM, applicant=applicant(1), data=data or complete_data(), actor=PLATFORM)
    before = database_image(engine)
    with pytest.raises(GuardRefused) as refused:
        engine.fire(case.id, "submit", actor=PLATFORM)
    assert database_image(engine) == before, "a refused submission writes nothing"
    return refused.value


def test_lg_list_1_a_listed_applicant_is_refused_at_submission_whatever_it_declared(engine: Engine) -> None:
    Listings(engine).add(entry(), actor=STAFF, reason="信用中国公示")
    refused = _refused_submission(engine)  # it declares on_serious_dishonesty_list = false
    assert (refused.rule, refused.field) == ("LG-LIST-1", "lists.serious_dishonesty")
    assert "declared on_serious_dishonesty_list = false, which the list contradicts" in str(refused)
    assert refused.params["declaration_contradicted"] is True
    assert refused.message_zh is not None
    assert "与名单不符" in refused.message_zh


@pytest.mark.parametrize(
    ("since", "until"),
    [("2024-01-01", "2025-08-19"), ("2025-08-21", None)],  # ended the day before; starts the day after (LG-LIST-1)
)
def test_lg_list_1_only_an_entry_valid_at_the_commands_clock_counts(engine: Engine, since: str, until: str) -> None:
    Listings(engine).add(entry(since=since, until=until), actor=STAFF, reason="导入")
    case = engine.open_case(PROGRAM, applicant=applicant(1), data=complete_data(), actor=PLATFORM)
    assert engine.fire(case.id, "submit", actor=PLATFORM).state == "online_review"


def test_lg_list_1_a_removed_entry_no_longer_refuses_and_stays_on_record(engine: Engine) -> None:
    lists = Listings(engine)
    added, _ = lists.add(entry(), actor=STAFF, reason="信用中国公示")
    with pytest.raises(InvalidInput) as no_reason:
        lists.remove(added["id"], actor=STAFF, reason=" ")
    assert no_reason.value.field == "reason"
    removed = lists.remove(added["id"], actor=STAFF, reason="信用修复，已移出名单")
    assert (removed["removed_by"], removed["removed_reason"]) == (STAFF.name, "信用修复，已移出名单")
    case = engine.open_case(PROGRAM, applicant=applicant(1), data=complete_data(), actor=PLATFORM)
    assert engine.fire(case.id, "submit", actor=PLATFORM).state == "online_review"
    assert lists.entries(applicant_code=CODE) == []
    assert [e["id"] for e in lists.entries(applicant_code=CODE, include_removed=True)] == [added["id"]]


def test_lg_list_1_the_declaration_still_refuses_without_a_list_entry(engine: Engine) -> None:
    refused = _refused_submission(engine, complete_data(on_serious_dishonesty_list=True))
    assert (refused.rule, refused.field) == ("LG-ELIG-2", "data.on_serious_dishonesty_list")


def test_lg_list_1_listing_an_open_case_flags_it_tells_staff_and_the_decision_is_refused(
    engine: Engine, clock: ManualClock, audit_key: bytes
) -> None:
    case_id, _ = awaiting_paper(engine, clock, "2025-09-01 10:00")
    engine.fire(case_id, "receive_paper", actor=STAFF, payload={"service_window": 1})
    version = engine.get_case(case_id).version
    added, flagged = Listings(engine).add(entry(), actor=STAFF, reason="信用中国公示")
    assert flagged == [case_id]
    case = engine.get_case(case_id)
    assert (case.state, case.version) == ("evaluation", version + 1), "flagged, not moved"
    last = engine.history(case_id)[-1]
    assert (last.kind, last.event, last.actor) == ("listing", "listing.flagged", STAFF.name)
    assert last.new_values["listing"]["id"] == added["id"]
    assert last.new_values["rule"] == "LG-LIST-1"
    with engine.database.connect() as conn:
        staff = conn.execute(
            sa.select(notices.c.kind).where(notices.c.case_id == case_id, notices.c.recipient == "staff")
        ).scalars()
        assert "applicant_listed" in list(staff)
    clock.set(sh("2025-09-15 09:00"))
    [option] = [o for o in engine.available_events(case_id, actor=STAFF) if o.name == "start_publicity"]
    assert option.allowed is False, "the staff's options say so before they try"
    assert option.refusal is not None
    assert option.refusal.rule == "LG-LIST-1"
    with pytest.raises(GuardRefused) as refused:
        engine.fire(case_id, "start_publicity", actor=STAFF)
    assert refused.value.rule == "LG-LIST-1"
    assert_invariants(engine, audit_key)


def test_lg_list_1_only_staff_keep_the_lists_and_bad_entries_name_the_column(engine: Engine) -> None:
    lists = Listings(engine)
    with pytest.raises(NotPermitted):
        lists.add(entry(), actor=PLATFORM, reason="x")
    for changes, column in (
        ({"list": "no_such_list"}, "list"),
        ({"credit_code": CODE[:-1] + "0"}, "credit_code"),
        ({"since": "2025-02-30"}, "since"),
        ({"until": "2024-12-31"}, "until"),
        ({"source": ""}, "source"),
    ):
        before = database_image(engine)
        with pytest.raises(InvalidInput) as refused:
            lists.add(entry(**changes), actor=STAFF, reason="x")
        assert refused.value.field == column
        assert database_image(engine) == before


def test_lg_list_1_import_dry_run_then_apply_and_errors_by_line_and_column(engine: Engine) -> None:
    lists = Listings(engine)
    rows = [(2, entry()), (3, entry(credit_code=uscc(2), list="overdue_acceptance"))]
    before = database_image(engine)
    dry = lists.import_rows(rows, actor=STAFF, reason="2025-08 批次", apply=False)
    assert (dry.dry_run, len(dry.added), dry.errors) == (True, 2, [])
    assert database_image(engine) == before, "a dry run writes nothing"
    bad = lists.import_rows(
        [*rows, (4, entry(since="08/01/2025")), (5, entry(list="blacklist")), (6, entry())],
        actor=STAFF,
        reason="2025-08 批次",
        apply=True,
    )
    assert [(e.line, e.column) for e in bad.errors] == [(4, "since"), (5, "list"), (6, "credit_code")]
    assert "repeats line 2" in bad.errors[2].message
    assert database_image(engine) == before, "a file with errors is refused whole"
    done = lists.import_rows(rows, actor=STAFF, reason="2025-08 批次", apply=True)
    assert (len(done.added), done.batch is not None) == (2, True)
    again = lists.import_rows(rows, actor=STAFF, reason="2025-08 批次", apply=True)
    assert (again.added, len(again.unchanged)) == ([], 2), "importing the same file twice changes nothing"
    with engine.database.connect() as conn:
        stored = conn.execute(sa.select(listings.c.added_by, listings.c.batch)).all()
    assert stored == [(STAFF.name, done.batch)] * 2


def test_sz_list_1_each_list_refuses_naming_it(engine: Engine, clock: ManualClock) -> None:
    clock.set(sh("2024-11-25 10:00"))
    Listings(engine).add(entry(list="overdue_acceptance", since="2024-06-01"), actor=STAFF, reason="市科技局通报")
    case = engine.open_case(shenzhen.PROGRAM, applicant=applicant(1), data=shenzhen.voucher_data(), actor=PLATFORM)
    with pytest.raises(GuardRefused) as refused:
        engine.fire(case.id, "submit", actor=PLATFORM)
    assert (refused.value.rule, refused.value.field) == ("SZ-LIST-1", "lists.overdue_acceptance")
    assert refused.value.params["declaration"] == "declarations.overdue_acceptance"


def test_sz_list_1_the_lists_are_checked_again_at_approval(engine: Engine, clock: ManualClock) -> None:
    clock.set(sh("2024-11-25 10:00"))
    case = engine.open_case(shenzhen.PROGRAM, applicant=applicant(1), data=shenzhen.voucher_data(), actor=PLATFORM)
    for event in ("submit", "accept", "pass_preliminary", "pass_expert_review"):
        engine.fire(case.id, event, actor=PLATFORM if event == "submit" else STAFF)
    clock.set(sh("2024-12-20 09:00"))
    engine.expire_due()
    admin = Actor("admin-chen", "admin", "tests")
    _, flagged = Listings(engine).add(
        entry(list="research_integrity_abnormal", since="2024-12-20"), actor=admin, reason="科研诚信通报"
    )
    assert flagged == [case.id]
    with pytest.raises(GuardRefused) as refused:
        engine.fire(case.id, "approve", actor=STAFF)
    assert (refused.value.rule, refused.value.field) == ("SZ-LIST-1", "lists.research_integrity_abnormal")
