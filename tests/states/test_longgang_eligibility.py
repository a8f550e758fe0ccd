"""LG-ELIG-1..5 and LG-MAT-1/2: who may apply, from which supplier, with which materials."""

from __future__ import annotations

from typing import Any

import pytest

from states.longgang_ai_compute_2025.materials import CHECKLIST
from states.provider_catalogue import CATALOGUE
from tests.support.invariants import database_image
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data, uscc
from workflow.engine import Engine
from workflow.errors import GuardRefused, InvalidInput

OUTSIDE = uscc(9001)  # a supplier with no entry in the provider catalogue


def _supplier(**changes: Any) -> dict[str, Any]:
    supplier = dict(complete_data()["supplier"])
    supplier.update(changes)
    return supplier


def _refusal(engine: Engine, data: dict[str, Any]) -> GuardRefused:
    case = engine.open_case(PROGRAM, applicant=applicant(), data=data, actor=PLATFORM)
    before = database_image(engine)
    with pytest.raises(GuardRefused) as refused:
        engine.fire(case.id, "submit", actor=PLATFORM)
    assert database_image(engine) == before, "a refused submission writes nothing"
    return refused.value


@pytest.mark.parametrize(
    ("data", "rule", "field"),
    [
        (complete_data(operating_in_longgang=False), "LG-ELIG-1", "data.operating_in_longgang"),
        (
            {k: v for k, v in complete_data().items() if k != "operating_in_longgang"},
            "LG-ELIG-1",
            "data.operating_in_longgang",
        ),
        (complete_data(on_serious_dishonesty_list=True), "LG-ELIG-2", "data.on_serious_dishonesty_list"),
        (complete_data(supplier=_supplier(affiliated=True)), "LG-ELIG-3", "data.supplier.affiliated"),
        (complete_data(compute_uses=[]), "LG-ELIG-4", "data.compute_uses"),
        (
            complete_data(supplier=_supplier(code=OUTSIDE, capacity_pflops_fp16="1999.9")),
            "LG-ELIG-5",
            "data.supplier",
        ),
        (
            complete_data(supplier=_supplier(code=OUTSIDE, idc_isp_licence=False)),
            "LG-ELIG-5",
            "data.supplier",
        ),
        (
            complete_data(supplier=_supplier(code=OUTSIDE, serves_longgang=False)),
            "LG-ELIG-5",
            "data.supplier",
        ),
    ],
)
def test_ineligible_submission_is_refused_with_the_rule(
    engine: Engine, data: dict[str, Any], rule: str, field: str
) -> None:
    # LG-ELIG-1, LG-ELIG-2, LG-ELIG-3, LG-ELIG-4, LG-ELIG-5
    refused = _refusal(engine, data)
    assert (refused.rule, refused.field) == (rule, field)


def test_lg_elig_4_generative_ai_application_exploration_is_a_use_in_scope(engine: Engine) -> None:
    # LG-ELIG-4: 二(一) "购买非关联方的算力进行大模型训练推理、生成式人工智能应用探索的企业"
    case = engine.open_case(
        PROGRAM, applicant=applicant(), data=complete_data(compute_uses=["genai_exploration"]), actor=PLATFORM
    )
    assert case.data["compute_uses"] == ["genai_exploration"]
    assert engine.fire(case.id, "submit", actor=PLATFORM).state == "online_review"


def test_supplier_outside_catalogue_qualifies_by_licence_and_capacity(engine: Engine) -> None:
    # LG-ELIG-5: EITHER catalogued OR (licence AND serves Longgang AND >= 2000 PFLOPS FP16) ...
    materials = dict(complete_data()["materials"])
    materials.update(supplier_idc_isp_licence="provided", supplier_capacity_proof="provided")
    data = complete_data(supplier=_supplier(code=OUTSIDE, capacity_pflops_fp16="2000"), materials=materials)
    case = engine.open_case(PROGRAM, applicant=applicant(), data=data, actor=PLATFORM)
    assert engine.fire(case.id, "submit", actor=PLATFORM).state == "online_review"


def test_supplier_outside_catalogue_needs_its_licence_copy(engine: Engine) -> None:
    # LG-MAT-2: ... and then the licence copy and capacity proof are required materials
    data = complete_data(supplier=_supplier(code=OUTSIDE))
    refused = _refusal(engine, data)
    assert (refused.rule, refused.field) == ("LG-MAT-2", "data.materials.supplier_idc_isp_licence")
    assert "supplier_capacity_proof" in str(refused)


@pytest.mark.parametrize("item", [i for i in CHECKLIST if i.condition == ""], ids=lambda i: i.key)
def test_every_required_material_is_checked(engine: Engine, item: Any) -> None:
    # LG-MAT-1 (basic) and LG-MAT-2 (specific): each always-required item is named when missing
    materials = dict(complete_data()["materials"])
    del materials[item.key]
    refused = _refusal(engine, complete_data(materials=materials))
    assert (refused.rule, refused.field) == (item.rule, f"data.materials.{item.key}")


def test_not_applicable_is_refused_for_a_required_item(engine: Engine) -> None:
    # LG-MAT-1: an item is present or explicitly not applicable, and N/A only where it does not apply
    materials = {**complete_data()["materials"], "credit_report": "not_applicable"}
    refused = _refusal(engine, complete_data(materials=materials))
    assert (refused.rule, refused.field) == ("LG-MAT-1", "data.materials.credit_report")


def test_branch_needs_head_office_authorisation(engine: Engine) -> None:
    # LG-ELIG-1: a branch must attach the head office's authorisation (LG-MAT-1 item)
    refused = _refusal(engine, complete_data(is_branch=True))
    assert (refused.rule, refused.field) == ("LG-MAT-1", "data.materials.head_office_authorisation")


def test_ethics_materials_required_when_the_project_touches_ethics(engine: Engine) -> None:
    # LG-MAT-1: ethics/security materials if the project touches those areas
    refused = _refusal(engine, complete_data(touches_ethics_or_security=True))
    assert refused.field == "data.materials.ethics_security_materials"


def test_duplicate_filing_by_the_same_applicant_is_refused(engine: Engine) -> None:
    # LG-ELIG-2: no duplicate or multiple filing of the same matter
    first = engine.open_case(PROGRAM, applicant=applicant(7), data=complete_data(), actor=PLATFORM)
    before = database_image(engine)
    with pytest.raises(GuardRefused) as refused:
        engine.open_case(PROGRAM, applicant=applicant(7), data=complete_data(), actor=PLATFORM)
    assert (refused.value.rule, refused.value.field) == ("LG-ELIG-2", "applicant.code")
    assert str(first.id) in str(refused.value)
    assert database_image(engine) == before


def test_a_closed_case_does_not_block_a_new_filing(engine: Engine) -> None:
    # LG-ELIG-2: only live cases count
    first = engine.open_case(PROGRAM, applicant=applicant(8), data=complete_data(), actor=PLATFORM)
    engine.fire(first.id, "withdraw", actor=PLATFORM)
    second = engine.open_case(PROGRAM, applicant=applicant(8), data=complete_data(), actor=PLATFORM)
    assert second.id != first.id


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"unknown_field": 1}, "data.unknown_field"),
        ({"operating_in_longgang": "yes"}, "data.operating_in_longgang"),
        ({"compute_uses": ["mining"]}, "data.compute_uses"),
        ({"supplier": {"name": "x", "capacity_pflops_fp16": "-5"}}, "data.supplier.capacity_pflops_fp16"),
        ({"supplier": {"owner": "x"}}, "data.supplier.owner"),
        ({"materials": {"invoices": "maybe"}}, "data.materials.invoices"),
        ({"materials": {"passport": "provided"}}, "data.materials.passport"),
    ],
)
def test_malformed_data_is_refused_naming_the_field(engine: Engine, data: dict[str, Any], field: str) -> None:
    before = database_image(engine)
    with pytest.raises(InvalidInput) as refused:
        engine.open_case(PROGRAM, applicant=applicant(), data=data, actor=PLATFORM)
    assert refused.value.field == field
    assert database_image(engine) == before


@pytest.mark.parametrize("capacity", ["٣٠٠٠", "3_000", "3e3", "-0", "+3000", ".5", "3000.", "0E-1000000", "03000", "x"])
def test_lg_elig_5_a_capacity_is_plain_ascii_decimal_text_never_a_look_alike(engine: Engine, capacity: str) -> None:
    # LG-ELIG-5: Decimal() would read Arabic-Indic digits, underscores and exponents as 3000 (a hostile client's
    # "٣٠٠٠" was stored as "3000"); the capacity a reviewer checks is the number the applicant typed
    before = database_image(engine)
    with pytest.raises(InvalidInput) as refused:
        engine.open_case(
            PROGRAM,
            applicant=applicant(),
            data=complete_data(supplier=_supplier(capacity_pflops_fp16=capacity)),
            actor=PLATFORM,
        )
    assert refused.value.field == "data.supplier.capacity_pflops_fp16"
    assert database_image(engine) == before


@pytest.mark.parametrize(
    ("capacity", "stored"), [("３０００", "3000"), (" 2000 ", "2000"), (2000, "2000"), ("1999.5", "1999.5"), ("0", "0")]
)
def test_lg_elig_5_a_capacity_in_full_width_or_as_an_integer_is_read(
    engine: Engine, capacity: Any, stored: str
) -> None:
    # LG-ELIG-5: full-width digits (an input method in full-width mode) read as their ASCII twins, as amounts do
    case = engine.open_case(
        PROGRAM,
        applicant=applicant(),
        data=complete_data(supplier=_supplier(capacity_pflops_fp16=capacity)),
        actor=PLATFORM,
    )
    assert case.data["supplier"]["capacity_pflops_fp16"] == stored


def test_staff_can_list_why_submission_is_not_possible(engine: Engine) -> None:
    # LG-MAT-1: the refusal reason reaches the caller through available_events
    case = engine.open_case(PROGRAM, applicant=applicant(), data={"fees_cny": "800000.00"}, actor=PLATFORM)
    options = {o.name: o for o in engine.available_events(case.id, actor=PLATFORM)}
    assert options["submit"].allowed is False
    assert options["submit"].refusal is not None
    assert options["submit"].refusal.rule == "LG-ELIG-1"
    assert options["withdraw"].allowed is True
    staff_view = {o.name: o for o in engine.available_events(case.id, actor=STAFF)}
    assert staff_view["submit"].refusal is not None
    assert staff_view["submit"].refusal.rule == "ROLE"


def test_lg_elig_5_the_catalogue_route_is_a_lookup_valid_on_the_day(engine: Engine) -> None:
    # LG-ELIG-5: 训力券入库服务机构 "在认定有效期内": CATALOGUE[2]'s entry lapsed on 2024-10-31
    lapsed = CATALOGUE[2]
    refused = _refusal(
        engine, complete_data(supplier=_supplier(code=lapsed.code, idc_isp_licence=False, capacity_pflops_fp16="0"))
    )
    assert (refused.rule, refused.field) == ("LG-ELIG-5", "data.supplier")
    assert "not in the training-voucher catalogue on 2025-08-20" in str(refused)


def test_lg_mat_2_a_lapsed_catalogue_supplier_owes_the_licence_route_proofs(engine: Engine) -> None:
    # LG-MAT-2: 四(二)3 "若算力供给方不是深圳市科技创新局认定的训力券入库服务机构" asks for the IDC/ISP licence copy
    # and the capacity proof; a supplier whose recognition lapsed is not one (在认定有效期内), so it owes them,
    # though the checklist (which knows no date) asked them only of a supplier never catalogued
    lapsed = _supplier(code=CATALOGUE[2].code, idc_isp_licence=True, capacity_pflops_fp16="3000")
    refused = _refusal(engine, complete_data(supplier=lapsed))
    assert (refused.rule, refused.field) == ("LG-MAT-2", "data.materials.supplier_idc_isp_licence")
    assert "supplier_capacity_proof" in str(refused)
    materials = {
        **complete_data()["materials"],
        "supplier_idc_isp_licence": "provided",
        "supplier_capacity_proof": "provided",
    }
    case = engine.open_case(
        PROGRAM, applicant=applicant(2), data=complete_data(supplier=lapsed, materials=materials), actor=PLATFORM
    )
    assert engine.fire(case.id, "submit", actor=PLATFORM).state == "online_review"


def test_lg_elig_5_the_service_basis_binds_the_catalogue_route_too(engine: Engine) -> None:
    # LG-ELIG-5: 二(二) "须具备在龙岗区开展智能算力服务的基础" applies before both routes
    refused = _refusal(engine, complete_data(supplier=_supplier(serves_longgang=False)))
    assert (refused.rule, refused.field) == ("LG-ELIG-5", "data.supplier")
    assert "Longgang" in str(refused)


def test_lg_elig_5_catalogue_membership_cannot_be_self_declared(engine: Engine) -> None:
    # LG-ELIG-5: the old true/false flag is refused, naming where the answer comes from
    with pytest.raises(InvalidInput) as refused:
        engine.open_case(
            PROGRAM,
            applicant=applicant(),
            data=complete_data(supplier=_supplier(in_voucher_catalogue=True)),
            actor=PLATFORM,
        )
    assert refused.value.field == "data.supplier.in_voucher_catalogue"
    assert "data.supplier.code" in str(refused.value)


def test_lg_elig_5_one_catalogue_for_both_programs() -> None:
    # LG-ELIG-5 / SZ-ELIG-5: the Shenzhen package reads the shared catalogue
    from states.shenzhen_training_voucher_2024 import providers

    assert providers.CATALOGUE is CATALOGUE
