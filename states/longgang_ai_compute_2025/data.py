"""The program data a Longgang case carries, validated field by field.

A draft may be incomplete (the applicant fills it in over days), so this checks the type
and range of every field that is present and refuses unknown fields; whether everything
needed is there is a matter for the submission guards (:mod:`.rules`), which name the
rule ID.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from states.provider_catalogue import CATALOGUE
from workflow.applicants import validate_uscc
from workflow.errors import InvalidInput
from workflow.money import fen_to_yuan, parse_yuan

from .materials import ITEMS, MATERIAL_STATUSES

COMPUTE_USES = ("pretraining", "sft", "rl", "inference", "genai_exploration")
"""LG-ELIG-4: 三(二)1 names training (pre-training, SFT, RL) and inference; 二(一) also puts buying compute for
生成式人工智能应用探索 (generative-AI application exploration) in scope, so it counts as a use too."""
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


_FULL_WIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")  # an input method left in full-width mode
_PFLOPS = re.compile(r"(0|[1-9][0-9]{0,7})(\.[0-9]{1,6})?")


def _pflops(value: Any, field: str) -> str:
    """A capacity in PFLOPS: a JSON integer, or plain decimal text (``"2000"``, ``"1999.5"``) of ASCII digits
    (full-width ones read as their twins), never ``Decimal()``'s wider grammar: it takes "٣٠٠٠", "3_000",
    "3e3" and "-0", which a reviewer would not read as the same number (issue 13: no look-alike digits)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidInput('must be a decimal string such as "2000"', field=field)
    if isinstance(value, int):
        if value.bit_length() > 64 or not 0 <= value <= MAX_PFLOPS:  # bit_length first: no 5000-digit conversion
            raise InvalidInput(f"must be a non-negative number of at most {MAX_PFLOPS} PFLOPS", field=field)
        return str(value)
    text = value.strip().translate(_FULL_WIDTH)
    if len(text) > 20 or not _PFLOPS.fullmatch(text):
        raise InvalidInput(
            f'{value[:40]!r} is not a plain non-negative decimal such as "2000" or "1999.5" (ASCII digits)',
            field=field,
        )
    number = Decimal(text)
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
