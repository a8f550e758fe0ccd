"""The OpenAPI example of opening a Longgang case (``ProcessDefinition.examples``), named by the round's key."""

from __future__ import annotations

from typing import Any

from .data import EXAMPLE
from .round import LonggangRound


def examples(round_: LonggangRound) -> dict[str, Any]:
    """A complete request: it opens a case that passes every submission rule inside the window."""
    return {
        round_.key: {
            "summary": f"{round_.year} Longgang AI compute subsidy (rules LG-*)",
            "description": "fees_cny is a decimal string (integer fen internally); materials map each checklist "
            "item (LG-MAT-1/2) to provided or not_applicable; supplier flags decide LG-ELIG-3/5.",
            "value": {
                "program": round_.key,
                "applicant": {
                    "name": "深圳市龙岗云智科技有限公司",
                    "code": "91440300000000001H",
                    "email": "filing@example.cn",
                    "phone": "13800138000",
                },
                "data": EXAMPLE,
            },
        }
    }
