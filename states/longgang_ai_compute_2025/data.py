"""The program data a Longgang case carries, validated field by field.

A draft may be incomplete (the applicant fills it in over days), so this checks the type
and range of every field that is present and refuses unknown fields; whether everything
needed is there is a matter for the submission guards (:mod:`.rules`), which name the
rule ID.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from states.provider_catalogue import CATALOGUE
from workflow.applicants import validate_uscc
from workflow.errors import InvalidInput
from workflow.money import fen_to_yuan, parse_yuan

from .materials import ITEMS, MATERIAL_STATUSES

COMPUTE_USES = ("pretraining", "sft", "rl", "inference")
SUPPLIER_FLAGS = ("affiliated", "idc_isp_licence", "serves_longgang")
MAX_PFLOPS = Decimal(10_000_000)
"""The upper bound of a declared capacity (issue 13.3: no number without one)."""
CASE_FLAGS = ("operating_in_longgang", "is_branch", "on_serious_dishonesty_list", "touches_ethics_or_security")

EXAMPLE: dict[str, Any] = {
    "operating_in_longgang": True,
    "is_branch": False,
    "on_serious_dishonesty_list": False,
    "touches_ethics_or_security": False,
    "compute_uses": ["pretraining", "inference"],
    "fees_cny": "1200000.00",
    "supplier": {
        "name": CATALOGUE[0].name,
        "code": CATALOGUE[0].code,  # the catalogue route is looked up by credit code (LG-ELIG-5)
        "affiliated": False,
        "idc_isp_licence": True,
        "serves_longgang": True,
        "capacity_pflops_fp16": "3000",
    },
    "materials": {
        item: "provided"
        for item in ITEMS
        if item
        not in {
            "head_office_authorisation",
            "ethics_security_materials",
            "supplier_idc_isp_licence",
            "supplier_capacity_proof",
        }
    },
}


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput("must be true or false", field=field)
    return value


def _text(value: Any, field: str, *, limit: int = 200) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidInput(f"must be non-empty text of at most {limit} characters", field=field)
    return value.strip()


def _pflops(value: Any, field: str) -> str:
    if isinstance(value, (bool, float)):
        raise InvalidInput('must be a decimal string such as "2000"', field=field)
    if isinstance(value, int) and value.bit_length() > 64:
        raise InvalidInput(f"must be at most {MAX_PFLOPS} PFLOPS", field=field)
    text = str(value)
    if len(text) > 20:
        raise InvalidInput(f"must be at most 20 characters, got {len(text)}", field=field)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(f"{value!r} is not a number", field=field) from None
    if not number.is_finite() or number < 0:
        raise InvalidInput(f"{value!r} must be a non-negative number", field=field)
    if number > MAX_PFLOPS:  # far above any supplier on earth: a typo or an attack, never a capacity
        raise InvalidInput(f"must be at most {MAX_PFLOPS} PFLOPS", field=field)
    return str(number)


def _supplier(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise InvalidInput("must be an object", field="data.supplier")
    fields: dict[str, Callable[[Any, str], Any]] = {
        "name": _text,
        "code": lambda value, field: validate_uscc(value, field=field),
        "capacity_pflops_fp16": _pflops,
        **{flag: _bool for flag in SUPPLIER_FLAGS},
    }
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "in_voucher_catalogue":
            raise InvalidInput(
                "catalogue membership is not declared: it is looked up from the supplier's credit code "
                "(data.supplier.code) in the provider catalogue (LG-ELIG-5)",
                field="data.supplier.in_voucher_catalogue",
            )
        if key not in fields:
            raise InvalidInput(f"unknown supplier field {key!r}", field=f"data.supplier.{key}")
        out[key] = fields[key](value, f"data.supplier.{key}")
    return out


def _uses(raw: Any) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(u, str) for u in raw):
        raise InvalidInput(f"must be a list drawn from {', '.join(COMPUTE_USES)}", field="data.compute_uses")
    unknown = sorted(set(raw) - set(COMPUTE_USES))
    if unknown:
        raise InvalidInput(
            f"unknown compute uses {unknown}; allowed: {', '.join(COMPUTE_USES)}", field="data.compute_uses"
        )
    return sorted(set(raw), key=COMPUTE_USES.index)


def _materials(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        raise InvalidInput("must be an object of item: status", field="data.materials")
    out: dict[str, str] = {}
    for key, status in raw.items():
        if key not in ITEMS:
            raise InvalidInput(f"unknown material {key!r}", field=f"data.materials.{key}")
        if status not in MATERIAL_STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(MATERIAL_STATUSES)}", field=f"data.materials.{key}")
        out[key] = status
    return out


def prepare_data(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalise Longgang case data; raise :class:`InvalidInput` naming the field."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in CASE_FLAGS:
            out[key] = _bool(value, f"data.{key}")
        elif key == "fees_cny":
            out[key] = fen_to_yuan(parse_yuan(value, field="data.fees_cny"))
        elif key == "supplier":
            out[key] = _supplier(value)
        elif key == "compute_uses":
            out[key] = _uses(value)
        elif key == "materials":
            out[key] = _materials(value)
        else:
            raise InvalidInput(f"unknown field {key!r}", field=f"data.{key}")
    return out
