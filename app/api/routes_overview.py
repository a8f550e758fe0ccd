"""``GET /v1/programs/{key}/staff-refusals``: the round's staff refusals by reason (LG-AGENT-1, SZ-AGENT-1)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel

from app.api.deps import CallerDep, EngineDep, require_role
from app.refusal_counts import staff_refusal_counts

router = APIRouter(prefix="/v1", tags=["programs"])


class StaffRefusalOut(BaseModel):
    event: str
    rule: str
    reason_code: str
    label: str
    count: int


@router.get("/programs/{key}/staff-refusals", response_model=list[StaffRefusalOut])
def staff_refusals(
    key: Annotated[str, Path(max_length=80)], engine: EngineDep, caller: CallerDep
) -> list[dict[str, Any]]:
    """How many cases of the round staff refused for each reason the program names (e.g. an intermediary)."""
    require_role(caller, "staff", "admin")
    return staff_refusal_counts(engine, key)
