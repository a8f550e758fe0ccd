"""Applicants and their identifiers: the unified social credit code (GB 32100-2015).

An applicant is identified by its 18-character unified social credit code (统一社会信用代码);
the last character is a check digit over the first 17, so a mistyped code is caught at
the door instead of creating a case nobody can match to a real enterprise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from workflow.errors import InvalidInput
from workflow.text import is_blank

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 32100-2015 4.1/4.2: the first character is the registration authority, the second the
# category of body within it. Only the combinations programs decide on are named; any other
# valid code is "other" (it still identifies the applicant, it just says nothing we rely on).
APPLICANT_KINDS: dict[str, tuple[str, str]] = {
    "11": ("government_organ", "机关（机构编制）"),
    "12": ("public_institution", "事业单位（机构编制）"),
    "13": ("mass_organisation", "中央编办直接管理机构编制的群众团体"),
    "19": ("other_establishment", "其他（机构编制）"),
    "51": ("social_organisation", "社会团体（民政）"),
    "52": ("private_non_enterprise", "民办非企业单位（民政）"),
    "53": ("foundation", "基金会（民政）"),
    "59": ("other_civil_affairs", "其他（民政）"),
    "91": ("enterprise", "企业（工商）"),
    "92": ("individual_business", "个体工商户（工商）"),
    "93": ("farmer_cooperative", "农民专业合作社（工商）"),
    "Y1": ("other", "其他（其他登记管理机关）"),
}
"""The registration-authority and category digits of a unified social credit code, and what
kind of body they mean (key, zh-CN label). Programs decide eligibility on the key."""
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def uscc_check_digit(first17: str) -> str:
    """The check character GB 32100-2015 assigns to the first 17 characters."""
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(code: str, *, field: str = "applicant.code") -> str:
    """Return the normalised code or raise :class:`InvalidInput` saying what is wrong."""
    if not isinstance(code, str):
        raise InvalidInput("unified social credit code must be a string", field=field)
    code = code.strip().upper()
    if len(code) != 18:
        raise InvalidInput(f"unified social credit code must have 18 characters, got {len(code)}", field=field)
    bad = sorted({ch for ch in code if ch not in USCC_ALPHABET})
    if bad:
        raise InvalidInput(f"unified social credit code has invalid characters {''.join(bad)}", field=field)
    expected = uscc_check_digit(code[:17])
    if code[17] != expected:
        raise InvalidInput(
            f"unified social credit code check digit is {code[17]}, expected {expected} (GB 32100-2015)",
            field=field,
        )
    return code


def applicant_kind(code: str) -> str:
    """The kind of body a (valid) code belongs to, from its first two characters (``other`` if unlisted)."""
    return APPLICANT_KINDS.get(code[:2], ("other", ""))[0]


def applicant_kind_label(code: str) -> str:
    """The zh-CN label of the code's registration authority and category, for refusals."""
    return APPLICANT_KINDS.get(code[:2], ("other", f"登记管理机关及类别代码 {code[:2]}"))[1]


@dataclass(frozen=True, slots=True)
class Applicant:
    """Who applies and how to reach them; contact details drive the notice channels."""

    name: str
    code: str
    email: str | None = None
    phone: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def parse_applicant(raw: Mapping[str, Any] | Applicant) -> Applicant:
    """Validate an applicant given as a mapping (API input) or an :class:`Applicant`."""
    if isinstance(raw, Applicant):
        raw = raw.to_json()
    if not isinstance(raw, Mapping):
        raise InvalidInput("applicant must be an object", field="applicant")
    name = raw.get("name")
    if not isinstance(name, str) or is_blank(name):
        raise InvalidInput("applicant name is required", field="applicant.name")
    if len(name) > 200:
        raise InvalidInput("applicant name is longer than 200 characters", field="applicant.name")
    code = validate_uscc(raw.get("code"))  # type: ignore[arg-type]
    email = raw.get("email") or None
    if email is not None and (not isinstance(email, str) or not _EMAIL.match(email) or len(email) > 254):
        raise InvalidInput("applicant email is not a valid address", field="applicant.email")
    phone = raw.get("phone") or None
    if phone is not None:
        phone = str(phone).replace(" ", "").removeprefix("+86")
        if not _MOBILE.match(phone):
            raise InvalidInput("applicant phone must be a mainland mobile number", field="applicant.phone")
    if email is None and phone is None:
        raise InvalidInput("applicant needs an email or a phone for notices", field="applicant.email")
    return Applicant(name=name.strip(), code=code, email=email, phone=phone)
