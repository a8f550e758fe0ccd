"""The engine's refusals, errors and explanations said in zh-CN, from their structure.

The engine speaks English in its messages (logs, CLI, the API's ``detail``) and attaches the
structure of each refusal: a ``code`` with parameters for its own refusals (a role that may not
fire an event, an event the state does not allow, a deadline that has passed, submission
order), or a program's own zh-CN wording for its guards. This module is the zh-CN catalogue
for those codes; the console renders every refusal through it and the API adds its text as
``detail_zh``. A code it does not know falls back to a zh-CN frame around the English message,
so nothing is ever lost, only untranslated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, Protocol

from workflow import errors as e
from workflow.clock import SHANGHAI
from workflow.definition import Refusal
from workflow.workdays import _HOLIDAY_NAMES_ZH as HOLIDAY_NAMES  # the calendar's own zh-CN names

ROLES = {
    "applicant": "申请人",
    "platform": "申报平台",
    "staff": "工作人员",
    "admin": "管理员",
    "system": "系统",
}


class Names(Protocol):
    """zh-CN labels of a program's states and events (:class:`app.console.labels.ProcessLabels`)."""

    def state(self, key: str | None) -> str: ...

    def event(self, name: str | None) -> str: ...


class RawNames:
    """No program at hand: states and events are shown by their keys."""

    def state(self, key: str | None) -> str:
        return key or ""

    def event(self, name: str | None) -> str:
        return name or ""


def role(key: str) -> str:
    return f"{ROLES.get(key, key)}（{key}）" if key in ROLES else key


def _quoted(label: str, key: str) -> str:
    """「label」（key）, or 「key」 when the label is the key itself."""
    return f"「{label}」（{key}）" if label and label != key else f"「{key}」"


def instant(value: datetime | str | None, *, end: bool = False) -> str:
    """An instant as reviewers read it, in Asia/Shanghai: 2024年12月9日 18:00.

    With ``end`` (a due time, a window's close) the midnight that ends a day is that day's 24:00,
    as the guides say it; a start at midnight stays 00:00 of its own day.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        if "T" not in value and " " not in value:  # a bare date
            return day(parsed.date())
        value = parsed
    if value.tzinfo is None:
        return f"{day(value.date())} {value.strftime('%H:%M')}"
    local = value.astimezone(SHANGHAI)
    if end and (local.hour, local.minute, local.second) == (0, 0, 0):
        previous = date.fromordinal(local.date().toordinal() - 1)
        return f"{day(previous)} 24:00"
    return f"{day(local.date())} {local.strftime('%H:%M')}"


def day(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def _role_not_allowed(p: Mapping[str, Any], names: Names) -> str:
    allowed = "、".join(ROLES.get(r, r) for r in p.get("allowed", ()))
    event = str(p.get("event", ""))
    return f"{role(str(p.get('role', '')))}不能执行{_quoted(names.event(event), event)}；可执行的角色：{allowed}"


def _state_not_allowed(p: Mapping[str, Any], names: Names) -> str:
    event, state = str(p.get("event", "")), str(p.get("state", ""))
    return f"当前状态{_quoted(names.state(state), state)}下不能执行{_quoted(names.event(event), event)}"


def _deadline_passed(p: Mapping[str, Any], names: Names) -> str:
    event = str(p.get("event", ""))
    return (
        f"「{p.get('deadline', '')}」已于 {instant(p.get('due_at'), end=True)}（北京时间）届满，"
        f"不能再执行{_quoted(names.event(event), event)}（期限被处理为逾期之前，工作人员可说明理由延长期限）"
    )


def _submission_order(p: Mapping[str, Any], names: Names) -> str:
    return f"案件 {p.get('earlier_case')} 提交更早且处于同一阶段，须按提交顺序办理（或说明理由调整状态）"


CODES: dict[str, Callable[[Mapping[str, Any], Names], str]] = {
    "role_not_allowed": _role_not_allowed,
    "state_not_allowed": _state_not_allowed,
    "deadline_passed": _deadline_passed,
    "submission_order": _submission_order,
    "reason_required": lambda p, names: "须填写理由（字段 reason）",
    "reason_too_long": lambda p, names: f"理由不能超过 {p.get('max')} 个字符（字段 reason）",
    "live_case_exists": lambda p, names: (
        f"申报单位 {p.get('applicant')} 在本批次已有进行中的案件 {p.get('case')}，同一事项不得重复申报"
    ),
    "already_filed": lambda p, names: (
        f"申报单位 {p.get('applicant')} 已就同一事项申报过（案件 {p.get('case')}，{names.state(p.get('state'))}），"
        "不得重复申报；工作人员可说明理由将该案件调整回办理状态"
    ),
}

# error class -> the zh-CN frame of an untranslated message; the first matching class wins
FRAMES: tuple[tuple[type[e.FilingFlowError], str], ...] = (
    (e.CaseNotFound, "案件不存在"),
    (e.DeadlineNotFound, "期限不存在或已结束"),
    (e.NotFound, "未找到"),
    (e.NotPermitted, "无权执行"),
    (e.TransitionNotAllowed, "当前状态不允许此操作"),
    (e.GuardRefused, "规则不允许"),
    (e.IdempotencyKeyReused, "幂等键已用于其他请求"),
    (e.InvalidInput, "输入有误"),
    (e.CalendarYearUnknown, "该年度的官方工作日安排尚未载入"),
    (e.StorageUnavailable, "数据库暂时不可用，未作任何更改，请稍后重试"),
)


def _rule(rule: str | None) -> str:
    return f"（规则 {rule}）" if rule and rule != "ROLE" else ""


def refusal(r: Refusal, names: Names | None = None) -> str:
    """Why an event cannot be taken now, in zh-CN, with its rule ID."""
    names = names or RawNames()
    render = CODES.get(r.code or "")
    text = render(r.params, names) if render else (r.reason_zh or f"规则不允许：{r.reason}")
    return text + _rule(r.rule)


def error(exc: e.FilingFlowError, names: Names | None = None) -> str:
    """A command's error in zh-CN: from its code, its program's wording, or a zh-CN frame."""
    names = names or RawNames()
    render = CODES.get(exc.code or "")
    if render is not None:
        return render(exc.params, names) + _rule(exc.rule)
    if exc.message_zh:
        return exc.message_zh + _rule(exc.rule)
    if isinstance(exc, e.ConflictError):
        return (
            f"案件已在您读取后被修改（您读取的版本 {exc.expected}，当前版本 {exc.actual}），"
            "未作任何更改：请刷新页面后重试"
        )
    frame = next((text for cls, text in FRAMES if isinstance(exc, cls)), "操作未执行")
    where = f"（字段 {exc.field}）" if exc.field else ""
    return f"{frame}{where}：{exc.message}{_rule(exc.rule)}"


# ---- deadline explanations (workflow.deadlines.ExplanationLine) -------------------------------

LEDGER_KINDS = {"extend": "延长期限", "suspend": "暂停计时", "resume": "恢复计时"}


def holiday(name: str) -> str:
    return HOLIDAY_NAMES.get(name, name)


def span(first: date, last: date) -> str:
    """2025年10月1日至8日, 2025年9月29日至10月8日, or one day."""
    if first == last:
        return day(first)
    if first.year != last.year:
        return f"{day(first)}至{day(last)}"
    if first.month != last.month:
        return f"{day(first)}至{last.month}月{last.day}日"
    return f"{day(first)}至{last.day}日"


def _why(p: Mapping[str, Any]) -> str:
    kind = p.get("kind")
    if kind == "holiday":
        text = "、".join(holiday(n) for n in p.get("holidays", ())) + "假期"
    elif kind == "weekend":
        text = "周末"
    elif kind == "makeup":
        festival = str(p.get("for") or "")
        text = f"调休上班日（{holiday(festival)}）" if festival else "调休上班日"
    elif kind == "override":
        text = f"工作人员调整为{'工作日' if p.get('working') else '停止办公'}：{p.get('reason', '')}"
    elif kind == "suspended":
        text = f"暂停计时：{p.get('reason', '')}"
    else:
        text = "工作日"
    return text + ("，估算" if p.get("estimated") else "")


def explanation(code: str, params: Mapping[str, Any], text: str) -> str:
    """One line of a deadline's explanation in zh-CN; an unknown line keeps its English ``text``."""
    if code == "clock_started":
        origin = (
            f"；以开启事件提供的 {params['starts_from']} 为起点，未提供时以该事件的时间为起点"
            if params.get("starts_from")
            else ""
        )
        started = datetime.fromisoformat(str(params["started_at"])).astimezone(SHANGHAI)
        return f"计时起点：{day(started.date())} {started.strftime('%H:%M:%S')}（北京时间{origin}），次日起算"
    if code == "days":
        first, last = date.fromisoformat(params["first"]), date.fromisoformat(params["last"])
        counted = "计入" if params.get("working") else "不计"
        return f"{span(first, last)}：{_why(params)}（{counted}）"
    if code == "suspended_left":
        return f"计时已暂停：恢复后还剩 {params.get('working_days')} 个工作日"
    if code == "due_by":
        return f"截止时间：{day(date.fromisoformat(params['last_day']))} 24:00（北京时间）"
    if code == "estimated":
        return "估算：期间所在年份的官方节假日安排尚未公布，公布后将重新计算"
    if code == "ledger":
        kind = str(params.get("kind", ""))
        days = f"（{params['working_days']} 个工作日）" if params.get("working_days") else ""
        until = f"（至 {day(date.fromisoformat(params['to_date']))}）" if params.get("to_date") else ""
        return (
            f"{LEDGER_KINDS.get(kind, kind)}{days}{until}：{params.get('actor', '')}，"
            f"{instant(params.get('at'))}，理由：{params.get('reason', '')}"
        )
    return text
