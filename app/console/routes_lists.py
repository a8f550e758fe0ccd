"""The console's 名单管理 page: the official lists' entries, add and remove by hand, import a file.

Same commands as ``/v1/lists`` (LG-LIST-1, SZ-LIST-1), through :class:`workflow.listings.Listings`,
so each is checked, audited and flags the applicant's open cases exactly as over the API. An
import is a dry run first; it applies only when the reviewer confirms the very file the dry run
showed (:mod:`app.console.list_uploads`). A refused command answers with the page itself (422),
the error naming the field and the form keeping what was typed; nothing is written.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as FastApiPath
from fastapi.responses import HTMLResponse, Response

from app.console import list_uploads, zh
from app.console.sessions import Session
from app.console.web import Console, ConsoleDep, PostedDep, SessionDep
from app.list_files import read_list_file
from app.parsing import DB_INT_MAX
from workflow.definition import ProcessDefinition
from workflow.errors import FilingFlowError, InvalidInput
from workflow.listings import ImportReport, Listings

router = APIRouter(prefix="/console", include_in_schema=False)
EntryId = Annotated[int, FastApiPath(ge=1, le=DB_INT_MAX)]
PAGE_DEFAULTS: dict[str, Any] = {
    "added": {},
    "add_error": None,
    "import_error": None,
    "report": None,
    "upload": None,
    "token": "",
}
"""What the page shows when no form was just posted."""
ENTRY_FIELDS = ("list", "credit_code", "since", "until", "source", "note", "reason")


def lists_view(
    console: Console,
    session: Session,
    *,
    request: Request | None = None,
    status: int = 200,
    shown: dict[str, Any] | None = None,
    **extra: Any,
) -> HTMLResponse:
    """The page: the filter (``shown``: list, credit_code, removed), the entries, the add and import forms."""
    shown = shown or {}
    entries = extra.pop("entries") if "entries" in extra else _entries(console, shown)
    known = Listings(console.engine).known_lists()
    checked_by = {
        key: [p.definition.title for p in console.engine.programs.latest() if key in _list_keys(p.definition)]
        for key in known
    }
    return console.render(
        "lists.html.j2",
        session,
        request,
        status=status,
        known=known,
        checked_by=checked_by,
        shown={"list": "", "credit_code": "", "removed": False, **shown},
        entries=entries,
        **{**PAGE_DEFAULTS, **extra},
    )


def _list_keys(definition: ProcessDefinition) -> set[str]:
    return {official.key for official in definition.official_lists}


def _entries(console: Console, shown: dict[str, Any]) -> list[dict[str, Any]]:
    return Listings(console.engine).entries(
        applicant_code=shown.get("credit_code") or None,
        list_key=shown.get("list") or None,
        include_removed=bool(shown.get("removed")),
    )


@router.get("/lists", response_class=HTMLResponse)
def lists_page(
    request: Request,
    console: ConsoleDep,
    session: SessionDep,
    list_key: Annotated[str, Query(alias="list", max_length=60)] = "",
    credit_code: Annotated[str, Query(max_length=18)] = "",
    removed: bool = False,
) -> Response:
    """Entries of every list the registered programs check, filtered by list and credit code."""
    shown = {"list": list_key.strip(), "credit_code": credit_code.strip().upper(), "removed": removed}
    if shown["list"] and shown["list"] not in Listings(console.engine).known_lists():
        error = zh.error(InvalidInput(f"unknown list {shown['list']!r}", field="list"))
        return lists_view(console, session, request=request, status=422, shown={}, error=error, entries=[])
    return lists_view(console, session, request=request, shown=shown)


@router.post("/lists/entries")
def add_entry(console: ConsoleDep, posted: PostedDep) -> Response:
    """Add one entry by hand; the applicant's open cases in programs checking the list are flagged."""
    values = {name: posted.text(name) for name in ENTRY_FIELDS}
    entry = {k: v for k, v in values.items() if k != "reason"}
    try:
        row, flagged = Listings(console.engine).add(entry, actor=posted.session.caller.actor(), reason=values["reason"])
    except FilingFlowError as exc:
        return lists_view(console, posted.session, status=422, added=values, add_error=zh.error(exc))
    cases = "、".join(f"案件 {case_id}" for case_id in flagged) or "无"
    return console.back(
        "/console/lists", ok=f"已添加名单条目 {row['id']}（{row['applicant_code']}）；标记的在办案件：{cases}"
    )


@router.post("/lists/entries/{entry_id}/remove")
def remove_entry(console: ConsoleDep, posted: PostedDep, entry_id: EntryId) -> Response:
    """Take an entry off its list with a reason; the entry stays on record, marked removed."""
    try:
        Listings(console.engine).remove(entry_id, actor=posted.session.caller.actor(), reason=posted.text("reason"))
    except FilingFlowError as exc:
        return lists_view(console, posted.session, status=422, error=f"名单条目 {entry_id}：{zh.error(exc)}")
    return console.back("/console/lists", ok=f"已移出名单条目 {entry_id}")


@router.post("/lists/imports")
def import_file(console: ConsoleDep, posted: PostedDep) -> Response:
    """First post: a dry run shown on the page. ``action=confirm`` with the dry run's token: the import."""
    confirm = posted.text("action") == "confirm"
    try:
        upload = list_uploads.confirmed(posted, console.keys) if confirm else list_uploads.uploaded(posted)
        rows = read_list_file(upload.name, upload.content)
        report = Listings(console.engine).import_rows(
            rows, actor=posted.session.caller.actor(), reason=upload.reason, apply=confirm
        )
    except FilingFlowError as exc:
        return lists_view(console, posted.session, status=422, import_error=zh.error(exc))
    if report.errors or not confirm:
        token = upload.token(posted.session, console.keys)
        status = 422 if report.errors else 200
        return lists_view(console, posted.session, status=status, report=report, upload=upload, token=token)
    return console.back("/console/lists", ok=_applied(report))


def _applied(report: ImportReport) -> str:
    cases = "、".join(f"案件 {case_id}" for case_id in report.flagged_cases) or "无"
    return f"已导入：新增 {len(report.added)} 条，已有未变 {len(report.unchanged)} 条；标记的在办案件：{cases}"
