"""LG-ELIG-1 (enterprises only, by the credit code), LG-MAT-1/SZ-MAT-1 tax certificate, LG-MAT-2 delivery proof.

The kind of body is read from the unified social credit code's registration-authority and
category digits (GB 32100-2015; the table is ``workflow.applicants.APPLICANT_KINDS``).
"""

from __future__ import annotations

import pytest

from tests.support.invariants import database_image
from tests.support.longgang import PLATFORM, PROGRAM, applicant, complete_data, sh, uscc
from tests.support.shenzhen import PROGRAM as SHENZHEN
from tests.support.shenzhen import voucher_data
from workflow.applicants import applicant_kind
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.errors import GuardRefused


@pytest.mark.parametrize(
    ("digits", "kind"),
    [
        ("91", "enterprise"),
        ("92", "individual_business"),
        ("93", "farmer_cooperative"),
        ("11", "government_organ"),
        ("12", "public_institution"),
        ("51", "social_organisation"),
        ("52", "private_non_enterprise"),
        ("53", "foundation"),
        ("Y1", "other"),
        ("31", "other"),
    ],
)
def test_the_credit_code_says_what_kind_of_body_applies(digits: str, kind: str) -> None:
    # LG-ELIG-1: GB 32100-2015 registration authority (1st) and category (2nd) characters
    assert applicant_kind(uscc(1, digits)) == kind


@pytest.mark.parametrize("digits", ["52", "51", "53", "12", "92", "93"])
def test_lg_elig_1_a_non_enterprise_cannot_open_a_longgang_case(engine: Engine, digits: str) -> None:
    # LG-ELIG-1: 申报单位须为企业 (a 民办非企业单位, an association, a 事业单位, a 个体工商户 ... are refused)
    before = database_image(engine)
    with pytest.raises(GuardRefused) as refused:
        engine.open_case(PROGRAM, applicant=applicant(kind=digits), data=complete_data(), actor=PLATFORM)
    assert (refused.value.rule, refused.value.field) == ("LG-ELIG-1", "applicant.code")
    assert "企业" in str(refused.value)
    assert database_image(engine) == before


def test_lg_elig_1_an_enterprise_is_accepted(engine: Engine) -> None:
    # LG-ELIG-1
    case = engine.open_case(PROGRAM, applicant=applicant(kind="91"), data=complete_data(), actor=PLATFORM)
    assert engine.fire(case.id, "submit", actor=PLATFORM).state == "online_review"


def test_lg_mat_2_the_compute_delivery_proof_is_required(engine: Engine) -> None:
    # LG-MAT-2: 算力交付凭证 (二(三)) must be provided
    data = complete_data()
    del data["materials"]["delivery_proof"]
    case = engine.open_case(PROGRAM, applicant=applicant(), data=data, actor=PLATFORM)
    with pytest.raises(GuardRefused) as refused:
        engine.fire(case.id, "submit", actor=PLATFORM)
    assert (refused.value.rule, refused.value.field) == ("LG-MAT-2", "data.materials.delivery_proof")


def test_lg_mat_1_an_enterprise_provides_the_tax_certificate(engine: Engine) -> None:
    # LG-MAT-1: 上年度纳税证明（非事业单位提供）
    data = complete_data()
    del data["materials"]["tax_certificate"]
    case = engine.open_case(PROGRAM, applicant=applicant(), data=data, actor=PLATFORM)
    with pytest.raises(GuardRefused) as refused:
        engine.fire(case.id, "submit", actor=PLATFORM)
    assert (refused.value.rule, refused.value.field) == ("LG-MAT-1", "data.materials.tax_certificate")


@pytest.mark.parametrize(
    ("digits", "entity_type", "required"),
    [
        ("12", "university", False),  # a public university (事业单位): the only exemption
        ("12", "research_institute", False),
        ("52", "research_institute", True),  # a 民办非企业 institute is not a 事业单位
        ("52", "university", True),
        ("91", "research_institute", True),  # a company-form institute
        ("91", "enterprise", True),
    ],
)
def test_sz_mat_1_the_tax_certificate_is_asked_of_everyone_but_public_institutions(
    engine: Engine, clock: ManualClock, digits: str, entity_type: str, required: bool
) -> None:
    # SZ-MAT-1: 上年度纳税证明（非事业单位提供）, by the credit code, not by the declared entity type
    clock.set(sh("2024-11-20 09:00"))
    data = voucher_data(entity_type=entity_type)
    del data["materials"]["tax_certificate"]
    case = engine.open_case(SHENZHEN, applicant=applicant(kind=digits), data=data, actor=PLATFORM)
    checklist = {m["key"]: m for m in engine.programs.get(SHENZHEN).definition.checklist(data, case.applicant.code)}
    assert checklist["tax_certificate"]["required"] is required
    if required:
        with pytest.raises(GuardRefused) as refused:
            engine.fire(case.id, "submit", actor=PLATFORM)
        assert (refused.value.rule, refused.value.field) == ("SZ-MAT-1", "data.materials.tax_certificate")
    else:
        assert engine.fire(case.id, "submit", actor=PLATFORM).state == "pending_acceptance"
