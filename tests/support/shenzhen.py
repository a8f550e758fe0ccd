"""Test data for the Shenzhen training-compute voucher program."""

from __future__ import annotations

import copy
from typing import Any

from states.provider_catalogue import CATALOGUE
from states.shenzhen_training_voucher_2024 import SHENZHEN_2024
from states.shenzhen_training_voucher_2024.data import EXAMPLE

PROGRAM = SHENZHEN_2024.key
PROVIDER = CATALOGUE[0]


def contract(amount: str, **changes: Any) -> dict[str, Any]:
    base = dict(EXAMPLE["contracts"][0])
    base["amount_cny"] = amount
    base.update(changes)
    return base


def voucher_data(*amounts: str, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(EXAMPLE)
    if amounts:
        data["contracts"] = [contract(a) for a in amounts]
    data.update(changes)
    return data
