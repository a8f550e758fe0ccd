"""The program data a voucher case carries, validated field by field (drafts may be incomplete)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from workflow.applicants import validate_uscc
from workflow.errors import InvalidInput
from workflow.money import fen_to_yuan, parse_yuan

from .materials import ITEMS, MATERIAL_STATUSES
from .providers import CATALOGUE

ENTITY_TYPES = ("enterprise", "university", "research_institute")
CONTRACT_KINDS = ("compute_rental", "model_service")
FLAGS = ("independent_legal_person", "operating_in_shenzhen", "is_sme", "ethics_sensitive")
DECLARATIONS = ("research_integrity_abnormal", "overdue_acceptance", "unreturned_funds", "serious_dishonesty")
MAX_CONTRACTS = 20

EXAMPLE: dict[str, Any] = {
    "entity_type": "enterprise",
    "independent_legal_person": True,
    "operating_in_shenzhen": True,
    "is_sme": True,
    "registered_on": "2019-05-20",
    "annual_spend_cny": "4000000.00",
    "ethics_sensitive": False,
    "declarations": {name: False for name in DECLARATIONS},
    "contracts": [
        {
            "provider_code": CATALOGUE[0].code,
            "provider_name": CATALOGUE[0].name,
            "kind": "compute_rental",
            "amount_cny": "4000000.00",
            "signed_on": "2024-09-01",
            "service_until": "2025-08-31",
            "other_fiscal_funding_cny": "0.00",
        }
    ],
    "materials": {item: "provided" for item in ITEMS},
}


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput("must be true or false", field=field)
    return value


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date(value: Any, field: str) -> str:
    """``YYYY-MM-DD`` only: Python 3.11's ``date.fromisoformat`` also takes "20240801" and the ISO week date
    "2024-W31-4", which a reviewer would not read as the contract date the rules check (SZ-ELIG-5)."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise InvalidInput(f"must be a date YYYY-MM-DD, got {str(value)[:40]!r}", field=field)
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date YYYY-MM-DD", field=field) from None


def _contract(raw: Any, index: int) -> dict[str, Any]:
    where = f"data.contracts.{index}"
    if not isinstance(raw, Mapping):
        raise InvalidInput("must be an object", field=where)
    out: dict[str, Any] = {}
    for key, value in raw.items():
        field = f"{where}.{key}"
        if key == "provider_code":
            out[key] = validate_uscc(value, field=field)
        elif key == "provider_name":
            if not isinstance(value, str) or not value.strip() or len(value) > 200:
                raise InvalidInput("must be non-empty text of at most 200 characters", field=field)
            out[key] = value.strip()
        elif key == "kind":
            if value not in CONTRACT_KINDS:
                raise InvalidInput(f"must be one of {', '.join(CONTRACT_KINDS)}", field=field)
            out[key] = value
        elif key in ("amount_cny", "other_fiscal_funding_cny"):
            out[key] = fen_to_yuan(parse_yuan(value, field=field))
        elif key in ("signed_on", "service_until"):
            out[key] = _date(value, field)
        else:
            raise InvalidInput(f"unknown contract field {key!r}", field=field)
    return out


def prepare_data(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalise voucher case data; raise :class:`InvalidInput` naming the field."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        field = f"data.{key}"
        if key in FLAGS:
            out[key] = _bool(value, field)
        elif key == "entity_type":
            if value not in ENTITY_TYPES:
                raise InvalidInput(f"must be one of {', '.join(ENTITY_TYPES)}", field=field)
            out[key] = value
        elif key == "registered_on":
            out[key] = _date(value, field)
        elif key == "annual_spend_cny":
            out[key] = fen_to_yuan(parse_yuan(value, field=field))
        elif key == "declarations":
            if not isinstance(value, Mapping):
                raise InvalidInput("must be an object", field=field)
            for name in value:
                if name not in DECLARATIONS:
                    raise InvalidInput(f"unknown declaration {name!r}", field=f"{field}.{name}")
            out[key] = {name: _bool(flag, f"{field}.{name}") for name, flag in value.items()}
        elif key == "contracts":
            if not isinstance(value, list) or len(value) > MAX_CONTRACTS:
                raise InvalidInput(f"must be a list of at most {MAX_CONTRACTS} contracts", field=field)
            out[key] = [_contract(c, i) for i, c in enumerate(value)]
        elif key == "materials":
            if not isinstance(value, Mapping):
                raise InvalidInput("must be an object of item: status", field=field)
            for item, status in value.items():
                if item not in ITEMS:
                    raise InvalidInput(f"unknown material {item!r}", field=f"{field}.{item}")
                if status not in MATERIAL_STATUSES:
                    raise InvalidInput(f"status must be one of {', '.join(MATERIAL_STATUSES)}", field=f"{field}.{item}")
            out[key] = dict(value)
        else:
            raise InvalidInput(f"unknown field {key!r}", field=field)
    return out
