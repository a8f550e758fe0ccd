"""``/v1/lists``: the official lists eligibility is checked against (LG-LIST-1, SZ-LIST-1), for staff.

Staff read the lists the programs check and their entries, add one entry by hand or import a
file (CSV or XLSX, sent base64-encoded; a dry run unless ``apply``), and remove an entry with a
reason. ``GET /v1/cases/{case_id}/listings`` shows, for one case, the applicant's entries valid
now on the case's program's lists and the flags the case got (``listing.flagged`` audit events).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field, StrictBool

from app.api.deps import CallerDep, EngineDep, require_role, visible_case
from app.api.problems import ApiProblem
from app.api.schemas import AuditOut, Strict
from app.list_files import read_list_file
from app.parsing import DB_INT_MAX
from workflow.listings import FLAGGED, ListingNotFound, Listings

router = APIRouter(prefix="/v1", tags=["lists"])
STAFF = ("staff", "admin")
EntryId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]
CaseId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]


class OfficialListOut(BaseModel):
    key: str
    label: str
    label_en: str
    programs: list[str]


class EntryIn(Strict):
    list: str = Field(min_length=1, max_length=60, examples=["serious_dishonesty"])
    credit_code: str = Field(min_length=1, max_length=18, examples=["91440300000000001H"])
    since: str = Field(min_length=1, max_length=10, examples=["2025-08-01"])
    until: str | None = Field(default=None, max_length=10, examples=[None])
    source: str = Field(min_length=1, max_length=200, examples=["信用中国（广东深圳）"])
    note: str = Field(default="", max_length=2000)
    reason: str = Field(min_length=1, max_length=2000, examples=["信用中国公示，人工录入"])


class EntryOut(BaseModel):
    id: int
    list_key: str
    applicant_code: str
    since: str
    until: str | None
    source: str
    note: str
    added_by: str
    added_reason: str
    added_at: str
    batch: str | None
    removed_by: str | None
    removed_reason: str | None
    removed_at: str | None


class AddedOut(BaseModel):
    entry: EntryOut
    flagged_cases: list[int]


class RemoveIn(Strict):
    reason: str = Field(min_length=1, max_length=2000, examples=["信用修复，已移出名单"])


class ImportIn(Strict):
    file_name: str = Field(min_length=5, max_length=200, examples=["失信名单-2025-08.csv"])
    content_base64: str = Field(min_length=1, max_length=700_000, description="the file's bytes, base64")
    reason: str = Field(min_length=1, max_length=2000, examples=["2025年8月批次"])
    apply: StrictBool = Field(default=False, description="false: a dry run that only reports")


class RowErrorOut(BaseModel):
    line: int
    column: str
    message: str


class ImportOut(BaseModel):
    dry_run: bool
    batch: str | None
    added: list[dict[str, Any]]
    unchanged: list[dict[str, Any]]
    errors: list[RowErrorOut]
    flagged_cases: list[int]


class CaseListingsOut(BaseModel):
    listed: list[dict[str, Any]]
    flags: list[AuditOut]


@router.get("/lists", response_model=list[OfficialListOut])
def official_lists(engine: EngineDep, caller: CallerDep) -> list[dict[str, Any]]:
    """The lists the programs check, with the programs that check each."""
    require_role(caller, *STAFF)
    out: dict[str, dict[str, Any]] = {}
    for process in engine.programs.latest():
        for official in process.definition.official_lists:
            item = out.setdefault(
                official.key,
                {"key": official.key, "label": official.label, "label_en": official.label_en, "programs": []},
            )
            item["programs"].append(process.key)
    return list(out.values())


@router.get("/lists/entries", response_model=list[EntryOut])
def list_entries(
    engine: EngineDep,
    caller: CallerDep,
    credit_code: Annotated[str | None, Query(max_length=18)] = None,
    list_key: Annotated[str | None, Query(alias="list", max_length=60)] = None,
    include_removed: bool = False,
) -> list[dict[str, Any]]:
    """Entries, oldest first; removed ones only with ``include_removed``."""
    require_role(caller, *STAFF)
    return Listings(engine).entries(applicant_code=credit_code, list_key=list_key, include_removed=include_removed)


@router.post("/lists/entries", status_code=201, response_model=AddedOut)
def add_entry(body: EntryIn, engine: EngineDep, caller: CallerDep) -> dict[str, Any]:
    """Add one entry by hand; the applicant's open cases in programs checking the list are flagged."""
    require_role(caller, *STAFF)
    values = body.model_dump(exclude={"reason"})
    entry, flagged = Listings(engine).add(values, actor=caller.actor(), reason=body.reason)
    return {"entry": entry, "flagged_cases": flagged}


@router.post("/lists/entries/{entry_id}/remove", response_model=EntryOut)
def remove_entry(entry_id: EntryId, body: RemoveIn, engine: EngineDep, caller: CallerDep) -> dict[str, Any]:
    """Take an entry off its list with a reason; the entry stays on record, marked removed."""
    require_role(caller, *STAFF)
    try:
        return Listings(engine).remove(entry_id, actor=caller.actor(), reason=body.reason)
    except ListingNotFound as exc:
        raise ApiProblem(404, "not-found", "No such list entry", str(exc), field="entry_id") from None


@router.post("/lists/imports", response_model=ImportOut)
def import_entries(body: ImportIn, engine: EngineDep, caller: CallerDep) -> dict[str, Any]:
    """Import a CSV or XLSX file: checked whole, a dry run unless ``apply``; bad rows by line and column."""
    require_role(caller, *STAFF)
    try:
        content = base64.b64decode(body.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise ApiProblem(
            422, "invalid-input", "Invalid input", "content_base64 is not base64", field="content_base64"
        ) from None
    rows = read_list_file(body.file_name, content)
    return Listings(engine).import_rows(rows, actor=caller.actor(), reason=body.reason, apply=body.apply).to_json()


@router.get("/cases/{case_id}/listings", response_model=CaseListingsOut)
def case_listings(case_id: CaseId, engine: EngineDep, caller: CallerDep) -> dict[str, Any]:
    """The applicant's entries valid now on the case's program's lists, and the flags the case got."""
    require_role(caller, *STAFF)
    case = visible_case(engine, caller, case_id)
    checked = {o.key for o in engine.programs.get(case.program, case.program_version).definition.official_lists}
    listed = [e.to_json() for e in Listings(engine).active(case.applicant.code) if e.list_key in checked]
    flags = [
        {k: getattr(entry, k) for k in AuditOut.model_fields}
        for entry in engine.history(case_id)
        if entry.event == FLAGGED
    ]
    return {"listed": listed, "flags": flags}
