"""Request and response bodies of the HTTP API (pydantic), with examples for the OpenAPI spec.

Request bodies forbid unknown fields: a caller that sends ``state``, ``version``,
``amount_fen`` or an owner is refused with the field named, never silently ignored. Flags and
counts are strict JSON booleans and integers: pydantic would read ``"no"`` as ``False`` and
``"20"`` or ``20.0`` as ``20``, so ``"dry_run": "false"`` in text would perform a real override.
Every request body is walked once at the door (:func:`refusal`) for what no database or
audit hash can take: NUL characters, lone UTF-16 surrogates, NaN or infinite numbers, and
nesting deeper than :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Any

import httpx
from fastapi import FastAPI
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)

from states import registry
from workflow.definition import ProcessDefinition
from workflow.process import ProgramCatalog

MAX_DEPTH = 32


class BodyRefused(ValueError):
    """A value no store can keep; ``field`` is its dotted path inside the body."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        """PostgreSQL, SQLite and the audit hash cannot take everything JSON parsing yields: refuse it here."""
        problem = refusal(value)
        if problem is not None:
            raise BodyRefused(*problem)
        return value


def refusal(value: Any) -> tuple[str, str] | None:
    """``(message, field)`` for the first unstorable value in a parsed JSON body, else ``None``.

    Iterative, so a deeply nested body cannot exhaust the interpreter's stack.
    """
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        message = _unstorable(item, depth)
        if message is not None:  # the path may hold the very key refused: escape it for the reply
            return message, path.encode("utf-8", "backslashreplace").decode("utf-8")
        if isinstance(item, (dict, list)):
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                where = f"{path}.{key}" if path else str(key)
                if isinstance(key, str):
                    stack.append((key, where, depth + 1))
                stack.append((child, where, depth + 1))
    return None


def _unstorable(item: Any, depth: int) -> str | None:
    if isinstance(item, str):
        if "\x00" in item:
            return "text must not contain NUL characters"
        if not item.isascii():
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "text must not contain lone UTF-16 surrogates"
    elif isinstance(item, float):
        if not math.isfinite(item):
            return "numbers must be finite (NaN and Infinity are not JSON)"
    elif isinstance(item, (dict, list)) and depth >= MAX_DEPTH:
        return f"nested deeper than {MAX_DEPTH} levels"
    return None


class ApplicantIn(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["深圳市龙岗云智科技有限公司"])
    code: str = Field(
        min_length=1,
        max_length=40,
        description="Unified social credit code (GB 32100-2015)",
        examples=["91440300000000001H"],
    )
    email: str | None = Field(default=None, max_length=254, examples=["filing@example.cn"])
    phone: str | None = Field(default=None, max_length=20, examples=["13800138000"])


class CaseCreate(Strict):
    program: str = Field(max_length=80, examples=[d.key for d in registry.definitions()])
    applicant: ApplicantIn
    data: dict[str, Any] = Field(default_factory=dict, description="Program-specific data; see the examples.")


def case_create_examples(definitions: Iterable[ProcessDefinition]) -> dict[str, dict[str, Any]]:
    """The examples of ``POST /v1/cases``: each program's own (``ProcessDefinition.examples``), by name."""
    examples: dict[str, dict[str, Any]] = {}
    for definition in definitions:
        examples.update(definition.examples)
    return examples


CASE_CREATE_EXAMPLES = case_create_examples(registry.definitions())
"""The built-in rounds' examples, for the route's declaration; the served spec lists those of the
engine's catalog, ``FILINGFLOW_PROGRAMS`` rounds included (:func:`document_examples`)."""


def document_examples(app: FastAPI, catalog: ProgramCatalog) -> None:
    """Serve ``POST /v1/cases`` with the examples of every program the engine runs (latest versions)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        spec = generate()
        body = spec["paths"]["/v1/cases"]["post"]["requestBody"]["content"]["application/json"]
        body["examples"] = case_create_examples(process.definition for process in catalog.latest())
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


class EventIn(Strict):
    event: str = Field(max_length=60, examples=["submit"])
    payload: dict[str, Any] = Field(
        default_factory=dict,
        description="Event payload: 'reason' where the event requires one, 'data' to correct case data on the "
        "events that accept it, and the fields the event declares (GET /v1/programs/{key}: events[].payload, "
        "with type and limits); any other key is refused (422) naming it.",
        examples=[{}, {"reason": "请补充算力使用报告"}],
    )


class OverrideIn(Strict):
    target_state: str = Field(max_length=60, examples=["awaiting_paper"])
    reason: str = Field(min_length=1, max_length=2000, examples=["线下已核验，直接进入纸质材料环节"])
    dry_run: StrictBool = False  # "false" as text is refused, never read as a real override


class ExtendIn(Strict):
    reason: str = Field(min_length=1, max_length=2000, examples=["企业申请延期，材料在途"])
    working_days: StrictInt | None = Field(default=None, ge=1, le=60, examples=[2])
    to_date: date | None = Field(default=None, ge=date(2000, 1, 1), le=date(2099, 12, 31), examples=["2025-10-15"])


class ReasonIn(Strict):
    reason: str = Field(min_length=1, max_length=2000, examples=["等待税务部门出具证明"])


EventName = Annotated[str, StringConstraints(min_length=1, max_length=60)]


def sendable_url(value: str) -> str:
    """A webhook URL the dispatcher can send to, judged by the HTTP client that will (httpx), at the door.

    A fuzzer's ``http://\U000b54f9Z/`` was stored and then failed every outbox tick with
    ``httpx.InvalidURL``, and ``http:// a b`` was stored with a host of ``%20a%20b``: refused here.
    """
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValueError("must not contain spaces or control characters")
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise ValueError(f"is not a URL an HTTP client can send to: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host or "%" in url.host:
        raise ValueError("must be http:// or https:// with a host name")
    if url.port is not None and not 1 <= url.port <= 65535:
        raise ValueError("port must be 1..65535")
    return value


class WebhookIn(Strict):
    url: Annotated[str, AfterValidator(sendable_url)] = Field(
        min_length=8, max_length=2000, pattern=r"^https?://", examples=["https://backend.example/hooks"]
    )
    secret: str = Field(min_length=16, max_length=200)
    events: list[EventName] = Field(
        default_factory=list,
        max_length=50,
        description="Change kinds (open, transition, system, override, deadline, migration), deadline "
        "commands (deadline.extend, ...) or event names of any program; empty = every change.",
        examples=[["override", "miss_paper_deadline"]],
    )


class ApplicantOut(BaseModel):
    name: str
    code: str
    email: str | None
    phone: str | None


class DeadlineOut(BaseModel):
    id: int
    key: str
    rule: str
    label: str
    status: str
    due_at: datetime | None
    started_at: datetime
    working_days: int | None
    estimated: bool
    ledger: list[dict[str, Any]]


class EventOptionOut(BaseModel):
    event: str
    label: str
    target: str
    allowed: bool
    requires: list[str]
    refusal: dict[str, Any] | None = Field(description="rule, reason and field when not allowed")


class AmountOut(BaseModel):
    fen: int
    yuan: str
    steps: list[str]


class MaterialOut(BaseModel):
    key: str
    label: str
    rule: str
    required: bool
    status: str | None
    missing: bool


class CaseOut(BaseModel):
    id: int
    program: str
    program_version: int
    state: str
    state_label: str
    final: bool
    version: int
    applicant: ApplicantOut
    data: dict[str, Any]
    amount: AmountOut | None
    materials: list[MaterialOut]
    deadlines: list[DeadlineOut]
    events: list[EventOptionOut]
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None


class CaseSummary(BaseModel):
    id: int
    program: str
    state: str
    state_label: str
    version: int
    applicant_name: str
    applicant_code: str
    amount_fen: int | None
    submitted_at: datetime | None
    next_due_at: datetime | None


class CasePage(BaseModel):
    items: list[CaseSummary]
    total: int
    limit: int
    offset: int


class OverrideOut(BaseModel):
    case_id: int
    from_state: str
    to_state: str
    dry_run: bool
    version: int
    deadlines_closed: list[str]
    deadlines_opened: list[str]
    notices: list[str]


class AuditOut(BaseModel):
    seq: int
    at: datetime
    kind: str
    actor: str
    role: str
    via: str
    event: str | None
    from_state: str | None
    to_state: str | None
    reason: str | None
    old_values: dict[str, Any]
    new_values: dict[str, Any]


class NoticeOut(BaseModel):
    id: int
    kind: str
    channel: str
    recipient: str
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None
    provider_id: str | None


class StateOut(BaseModel):
    key: str
    label: str
    label_en: str
    final: bool


class PayloadFieldOut(BaseModel):
    """A payload field an event takes (``workflow.definition.PayloadField``); any other key is refused."""

    name: str
    kind: str = Field(description="text, integer, instant (ISO 8601 with an offset) or date (YYYY-MM-DD)")
    required: bool
    minimum: int | None
    maximum: int | None
    max_length: int
    not_future: bool
    not_before_entry: bool
    description: str
    label_zh: str = Field("", description="what a form calls the field (zh-CN)")
    choices: str | list[tuple[str, str]] | None = Field(
        None, description="fixed values: (value, label) pairs, or the key of the program's reference list offered"
    )


class EventOut(BaseModel):
    name: str
    label: str
    sources: list[str]
    target: str
    roles: list[str]
    rules: list[str]
    requires: list[str]
    payload: list[PayloadFieldOut]


class ProgramOut(BaseModel):
    key: str
    version: int
    title: str
    title_en: str
    states: list[StateOut]
    events: list[EventOut]
    materials: list[MaterialOut]
    deadlines: list[dict[str, Any]]
    reference: dict[str, Any]
    diagram: str = Field(description="Mermaid stateDiagram-v2, generated from the definition")


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class HealthOut(BaseModel):
    status: str
    database: str
    worker_heartbeat_age_seconds: float | None
    sandbox: dict[str, Any] | None
    now: datetime


class BatchIn(Strict):
    event: str = Field(max_length=60, examples=["accept"])
    count: StrictInt = Field(ge=1, le=500, examples=[20])


class BatchOut(BaseModel):
    advanced: list[int]
    stopped_at: int | None
    reason: str | None


class Problem(BaseModel):
    """An error, as ``application/problem+json`` (RFC 9457); extra members carry its context."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="Stable URI of the kind of problem, e.g. .../problems/rule-refused")
    title: str
    status: int
    detail: str
    detail_zh: str | None = Field(default=None, description="The engine's refusal in zh-CN (detail stays English)")
    instance: str | None = Field(default=None, description="The request path it concerns")
    field: str | None = Field(default=None, description="Dotted path of the input that failed validation")
    rule: str | None = Field(default=None, description="Rule ID of the program rule that refused (e.g. LG-WIN-1)")
    case_id: int | None = None
    event: str | None = None
