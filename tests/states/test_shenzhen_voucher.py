"""The 2024 Shenzhen training-compute voucher: SZ-WIN-1, SZ-ELIG-1..5, SZ-MAT-1, SZ-AMT-1..3, SZ-FLOW-1..3."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.support.invariants import assert_invariants, database_image
from tests.support.longgang import PLATFORM, STAFF, applicant, sh
from tests.support.shenzhen import PROGRAM, PROVIDER, contract, voucher_data
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.errors import GuardRefused, InvalidInput, TransitionNotAllowed


@pytest.fixture
def in_window(clock: ManualClock) -> ManualClock:
    clock.set(sh("2024-11-25 10:00"))
    return clock


def _open(engine: Engine, serial: int = 1, data: dict[str, Any] | None = None) -> int:
    return engine.open_case(PROGRAM, applicant=applicant(serial), data=data or voucher_data(), actor=PLATFORM).id


def _refused(engine: Engine, data: dict[str, Any], serial: int = 1) -> GuardRefused:
    case_id = _open(engine, serial, data)
    before = database_image(engine)
    with pytest.raises(GuardRefused) as refused:
        engine.fire(case_id, "submit", actor=PLATFORM)
    assert database_image(engine) == before
    return refused.value


@pytest.mark.parametrize(
    ("moment", "accepted"),
    [
        ("2024-11-18 23:59:59", False),
        ("2024-11-19 00:00:00", True),
        ("2024-12-09 17:59:59", True),
        ("2024-12-09 18:00:00", False),  # SZ-WIN-1 closes at 18:00, not midnight
        ("2024-12-09 23:00:00", False),
    ],
)
def test_filing_window_closes_at_six_in_the_evening(
    engine: Engine, clock: ManualClock, moment: str, accepted: bool
) -> None:
    # SZ-WIN-1
    clock.set(sh("2024-11-18 09:00"))
    case_id = _open(engine)
    clock.set(sh(moment))
    if accepted:
        assert engine.fire(case_id, "submit", actor=PLATFORM).state == "pending_acceptance"
    else:
        with pytest.raises(GuardRefused) as refused:
            engine.fire(case_id, "submit", actor=PLATFORM)
        assert refused.value.rule == "SZ-WIN-1"


def test_unsubmitted_drafts_are_abandoned_at_18_00(engine: Engine, clock: ManualClock) -> None:
    # SZ-WIN-1
    clock.set(sh("2024-11-20 09:00"))
    case_id = _open(engine)
    clock.set(sh("2024-12-09 17:59"))
    assert engine.expire_due() == []
    clock.set(sh("2024-12-09 18:00"))
    assert engine.expire_due() == [(case_id, "online_window")]
    assert engine.get_case(case_id).state == "abandoned"


@pytest.mark.parametrize(
    ("changes", "rule", "field"),
    [
        ({"independent_legal_person": False}, "SZ-ELIG-1", "data.independent_legal_person"),
        ({"operating_in_shenzhen": False}, "SZ-ELIG-1", "data.operating_in_shenzhen"),
        (
            {
                "declarations": {
                    "research_integrity_abnormal": True,
                    "overdue_acceptance": False,
                    "unreturned_funds": False,
                    "serious_dishonesty": False,
                }
            },
            "SZ-ELIG-2",
            "data.declarations.research_integrity_abnormal",
        ),
        ({"declarations": {}}, "SZ-ELIG-2", "data.declarations.research_integrity_abnormal"),
        (
            {"contracts": [contract("1000000.00", other_fiscal_funding_cny="500000.01")]},
            "SZ-ELIG-3",
            "data.contracts.0.other_fiscal_funding_cny",
        ),
        ({"contracts": [contract("1000000.00", signed_on="2024-07-30")]}, "SZ-ELIG-5", "data.contracts.0.signed_on"),
        (
            {"contracts": [contract("1000000.00", service_until="2027-01-01")]},
            "SZ-ELIG-5",
            "data.contracts.0.service_until",
        ),
        (
            {"contracts": [contract("1000000.00", provider_code="91440300000000009A")]},
            "SZ-ELIG-5",
            "data.contracts.0.provider_code",
        ),
        ({"contracts": []}, "SZ-ELIG-5", "data.contracts"),
        ({"materials": {"business_licence": "provided"}}, "SZ-MAT-1", "data.materials.compute_contract"),
        (
            {
                "materials": {
                    k: "provided"
                    for k in (
                        "business_licence",
                        "compute_contract",
                        "financial_report",
                        "tax_certificate",
                        "commitment_letters",
                    )
                }
            },
            "SZ-FLOW-1",
            "data.materials.signed_page",
        ),
    ],
)
def test_ineligible_applications_are_refused_with_the_rule(
    engine: Engine, in_window: ManualClock, changes: dict[str, Any], rule: str, field: str
) -> None:
    # SZ-ELIG-1, SZ-ELIG-2, SZ-ELIG-3, SZ-ELIG-5, SZ-MAT-1, SZ-FLOW-1
    refused = _refused(engine, voucher_data(**changes))
    assert (refused.rule, refused.field) == (rule, field)


def test_half_of_other_funding_is_still_allowed(engine: Engine, in_window: ManualClock) -> None:
    # SZ-ELIG-3: "over 50%" refuses; exactly 50% does not
    case_id = _open(engine, data=voucher_data(contracts=[contract("1000000.00", other_fiscal_funding_cny="500000.00")]))
    assert engine.fire(case_id, "submit", actor=PLATFORM).state == "pending_acceptance"


def test_a_contract_with_a_provider_whose_listing_had_lapsed_is_refused(engine: Engine, in_window: ManualClock) -> None:
    # SZ-ELIG-5 with the catalogue's validity dates
    from states.shenzhen_training_voucher_2024.providers import CATALOGUE

    lapsed = CATALOGUE[2]
    data = voucher_data(contracts=[contract("1000000.00", provider_code=lapsed.code, signed_on="2024-11-05")])
    refused = _refused(engine, data)
    assert (refused.rule, refused.field) == ("SZ-ELIG-5", "data.contracts.0.provider_code")


def test_a_catalogued_provider_cannot_apply(engine: Engine, in_window: ManualClock) -> None:
    # SZ-ELIG-4
    case_id = engine.open_case(
        PROGRAM, applicant={**applicant(1), "code": PROVIDER.code}, data=voucher_data(), actor=PLATFORM
    ).id
    with pytest.raises(GuardRefused) as refused:
        engine.fire(case_id, "submit", actor=PLATFORM)
    assert (refused.value.rule, refused.value.field) == ("SZ-ELIG-4", "applicant.code")


def test_sme_contracts_are_half_each_and_capped_at_three_million(engine: Engine, in_window: ManualClock) -> None:
    # SZ-AMT-1, SZ-AMT-2: 4,000,000 + 3,000,000 -> 2,000,000 + 1,500,000, capped at 3,000,000
    case = engine.open_case(
        PROGRAM, applicant=applicant(1), data=voucher_data("4000000.00", "3000000.00"), actor=PLATFORM
    )
    assert case.amount_fen == 300_000_000
    amount = engine.explain_amount(case.id)
    assert amount is not None
    assert [s.split(":")[0] for s in amount.steps] == ["SZ-AMT-1", "SZ-AMT-1", "SZ-AMT-2"]
    # contract by contract: 2,000,000 for the first, the 1,000,000 left of the cap for the second
    assert amount.steps[0].endswith("= 2,000,000.00 CNY")
    assert amount.steps[1].endswith("SZ-AMT-2: 1,000,000.00 CNY of the annual cap is left for it")


def test_the_cap_is_shared_across_an_applicants_cases(engine: Engine, in_window: ManualClock, audit_key: bytes) -> None:
    # SZ-AMT-2 across cases: the first case takes 2,000,000; the second gets only the 1,000,000 that remains
    first = engine.open_case(PROGRAM, applicant=applicant(1), data=voucher_data("4000000.00"), actor=PLATFORM)
    second = engine.open_case(PROGRAM, applicant=applicant(1), data=voucher_data("3000000.00"), actor=PLATFORM)
    other = engine.open_case(PROGRAM, applicant=applicant(2), data=voucher_data("3000000.00"), actor=PLATFORM)
    assert (first.amount_fen, second.amount_fen, other.amount_fen) == (200_000_000, 100_000_000, 150_000_000)
    engine.fire(first.id, "withdraw", actor=PLATFORM)  # a withdrawn case frees its share
    assert engine.fire(second.id, "submit", actor=PLATFORM).amount_fen == 150_000_000
    assert_invariants(engine, audit_key)


def _to_voucher(engine: Engine, clock: ManualClock, case_id: int) -> int:
    """Take a submitted case through review, public notice and approval to its voucher; returns the amount."""
    for event in ("accept", "pass_preliminary", "pass_expert_review"):
        engine.fire(case_id, event, actor=STAFF)
    clock.advance(timedelta(days=14))
    engine.expire_due()  # the public notice ends by itself
    engine.fire(case_id, "approve", actor=STAFF)
    case = engine.fire(case_id, "issue_voucher", actor=STAFF, payload={"approval_document": "深科技创新〔2024〕1号"})
    assert case.state == "voucher_issued"
    assert case.amount_fen is not None
    return case.amount_fen


def test_a_case_that_grows_never_takes_what_a_granted_case_holds(
    engine: Engine, in_window: ManualClock, audit_key: bytes
) -> None:
    # SZ-AMT-2: the earlier-opened case grows after a later one was granted; the cap still holds
    early = _open(engine, 1, voucher_data("4000000.00"))
    late = _open(engine, 1, voucher_data("3000000.00"))
    engine.fire(late, "submit", actor=PLATFORM)  # the later case is submitted (and granted) first
    assert engine.get_case(late).amount_fen == 150_000_000
    assert engine.get_case(early).amount_fen == 150_000_000, "a draft claims after every submitted case"
    assert _to_voucher(engine, in_window, late) == 150_000_000
    in_window.set(sh("2024-12-02 10:00"))
    grown = engine.fire(early, "submit", actor=PLATFORM, payload={"data": {"contracts": [contract("6000000.00")]}})
    assert grown.amount_fen == 150_000_000, "3,000,000 cap - 1,500,000 granted"
    total = sum(engine.get_case(i).amount_fen or 0 for i in (early, late))
    assert total == 300_000_000
    assert_invariants(engine, audit_key)


def test_other_cases_are_rebalanced_and_audited_when_one_changes(
    engine: Engine, in_window: ManualClock, audit_key: bytes
) -> None:
    # SZ-AMT-2: the stored amounts always follow the allocation; every amount that moves is audited
    first = _open(engine, 1, voucher_data("4000000.00"))
    second = _open(engine, 1, voucher_data("3000000.00"))
    assert engine.get_case(second).amount_fen == 100_000_000
    engine.fire(first, "withdraw", actor=PLATFORM)
    assert engine.get_case(second).amount_fen == 150_000_000, "the withdrawn case's share is freed at once"
    rebalanced = [e for e in engine.history(second) if e.kind == "amount"]
    assert len(rebalanced) == 1
    assert (rebalanced[0].old_values, rebalanced[0].new_values) == (
        {"amount_fen": 100_000_000},
        {"amount_fen": 150_000_000},
    )
    assert "SZ-AMT-2" in (rebalanced[0].reason or "")
    assert_invariants(engine, audit_key)


def test_non_sme_enterprise_cap_is_two_million(engine: Engine, in_window: ManualClock) -> None:
    # SZ-AMT-2
    case = engine.open_case(
        PROGRAM, applicant=applicant(1), data=voucher_data("6000000.00", is_sme=False), actor=PLATFORM
    )
    assert case.amount_fen == 200_000_000
    university = engine.open_case(
        PROGRAM,
        applicant=applicant(2),
        data=voucher_data("8000000.00", is_sme=False, entity_type="university"),
        actor=PLATFORM,
    )
    assert university.amount_fen == 300_000_000, "institutions have the general 3,000,000 cap"


@pytest.mark.parametrize(
    ("registered", "spend", "expected"),
    [
        ("2024-03-01", "600000.00", 60_000_000),  # SZ-AMT-3: start-up spending >= 500,000 -> 60%
        ("2024-03-01", "499999.99", 50_000_000),  # below the spend threshold -> base 50%
        ("2023-11-18", "600000.00", 50_000_000),  # registered more than a year before the guide -> 50%
        ("2023-11-19", "600000.00", 50_000_000),  # exactly a year before the guide (2024-11-19): not less
        ("2023-11-20", "600000.00", 60_000_000),  # 2024 is a leap year: still under a year, not 365 days
        ("2024-03-01", "500000.00", 60_000_000),  # exactly 500,000 CNY counts
    ],
)
def test_start_ups_get_sixty_percent_in_their_first_year(
    engine: Engine, in_window: ManualClock, registered: str, spend: str, expected: int
) -> None:
    # SZ-AMT-3
    data = voucher_data("1000000.00", registered_on=registered, annual_spend_cny=spend)
    assert engine.open_case(PROGRAM, applicant=applicant(1), data=data, actor=PLATFORM).amount_fen == expected


def test_bad_voucher_data_is_refused_naming_the_field(engine: Engine) -> None:
    # SZ-AMT-1: money is exact
    for data, field in (
        ({"contracts": [contract("-5")]}, "data.contracts.0.amount_cny"),
        ({"contracts": [contract("1.001")]}, "data.contracts.0.amount_cny"),
        ({"contracts": [contract("1000.00", signed_on="2024-13-01")]}, "data.contracts.0.signed_on"),
        ({"contracts": [contract("1000.00", kind="gpu")]}, "data.contracts.0.kind"),
        ({"entity_type": "individual"}, "data.entity_type"),
    ):
        with pytest.raises(InvalidInput) as refused:
            engine.open_case(PROGRAM, applicant=applicant(1), data=data, actor=PLATFORM)
        assert refused.value.field == field


def test_voucher_case_goes_from_filing_to_voucher(engine: Engine, clock: ManualClock, audit_key: bytes) -> None:
    # SZ-FLOW-1, SZ-FLOW-2: online filing, preliminary review, expert review, public notice, approval, voucher
    clock.set(sh("2024-11-25 10:00"))
    case_id = _open(engine)
    steps = [
        ("submit", PLATFORM, {}, "pending_acceptance"),
        ("accept", STAFF, {}, "preliminary_review"),
        ("return_for_correction", STAFF, {"reason": "合同金额页不清晰"}, "returned"),
        ("resubmit", PLATFORM, {}, "preliminary_review"),
        ("pass_preliminary", STAFF, {}, "expert_review"),
        ("pass_expert_review", STAFF, {}, "public_notice"),
    ]
    for event, actor, payload, state in steps:
        assert engine.fire(case_id, event, actor=actor, payload=payload).state == state
    clock.set(sh("2024-12-20 09:00"))
    assert engine.expire_due() == [(case_id, "publicity_period")]
    engine.fire(case_id, "approve", actor=STAFF)
    with pytest.raises(TransitionNotAllowed):
        engine.fire(case_id, "approve", actor=STAFF)  # approved once; the voucher is the approval document
    with pytest.raises(InvalidInput) as refused:
        engine.fire(case_id, "issue_voucher", actor=STAFF)
    assert refused.value.field == "payload.approval_document"
    case = engine.fire(case_id, "issue_voucher", actor=STAFF, payload={"approval_document": "深科技创新〔2024〕123号"})
    # the voucher lives on after issue: redeemed or expired (SZ-REDEEM-1/2), so it is not final (SZ-CLAW-1 may follow)
    assert (case.state, case.final, case.amount_fen) == ("voucher_issued", False, 200_000_000)
    assert "paper" not in " ".join(d.key for d in case.deadlines), "online only (SZ-MAT-1)"
    assert_invariants(engine, audit_key)


def test_batches_go_in_submission_order(engine: Engine, in_window: ManualClock) -> None:
    # SZ-FLOW-3: processed in batches, in order of submission
    ids = []
    for serial in (1, 2, 3, 4):
        ids.append(_open(engine, serial))
        engine.fire(ids[-1], "submit", actor=PLATFORM)
        in_window.advance(timedelta(minutes=5))
    with pytest.raises(GuardRefused) as refused:
        engine.fire(ids[2], "accept", actor=STAFF)  # skipping the queue
    assert refused.value.rule == "SZ-FLOW-3"
    assert str(ids[0]) in str(refused.value)
    batch = engine.advance_batch(PROGRAM, "accept", count=2, actor=STAFF)
    assert batch.advanced == (ids[0], ids[1])
    assert [engine.get_case(i).state for i in ids] == ["preliminary_review"] * 2 + ["pending_acceptance"] * 2
    outcome = engine.override(ids[3], "preliminary_review", actor=STAFF, reason="企业资料齐全，提前受理")
    assert outcome.to_state == "preliminary_review", "an override with a reason may take a case out of order"
    assert engine.advance_batch(PROGRAM, "accept", count=5, actor=STAFF).advanced == (ids[2],)
