"""Every notice a program can queue has zh-CN templates that render cleanly (LG-NOTE-1).

The notice kinds are discovered from the definitions themselves (the notices each state
queues, the override notice, the reminder rungs and expiry alerts of every deadline)
plus the ones the engine queues for any program (deadline changes, dead-notice alerts),
so a notice added to a program without its templates fails here. Every template is
rendered through :func:`notifications.context.build_context` from an outbox context
shaped as the engine stores it, with realistic values: nothing may fail, print
``None`` or cost more than one SMS, and the facts the notice exists to tell must be in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from notifications.context import build_context
from notifications.rendering import COMMON, TEMPLATES, Renderer, sms_segments
from states.registry import default_catalog
from workflow.clock import SHANGHAI
from workflow.deadlines import compute_due
from workflow.definition import DeadlineRule, Event, NoticeRule, State
from workflow.engine import DEADLINE_FAILED
from workflow.process import CompiledProcess
from workflow.workdays import WorkingDayCalendar

CATALOG = default_catalog()
PROGRAMS: list[CompiledProcess] = list(CATALOG)
RENDERER = Renderer()
CALENDAR = WorkingDayCalendar()

APPLICANT_PARTS = ("sms", "subject", "text", "html")
STAFF_PARTS = ("subject", "text", "html")
CHANNEL_PARTS = {"sms": ("sms",), "email": ("subject", "text", "html")}
# queued by the engine for any program: staff deadline changes, calendar recomputation,
# and the staff alert for a notice that could not be delivered
ENGINE_NOTICES = (
    NoticeRule("deadline_extended"),
    NoticeRule("deadline_suspended"),
    NoticeRule("deadline_resumed"),
    NoticeRule("deadline_moved"),
)
DEAD_NOTICE = NoticeRule("notice_dead", ("email",), audience="staff")
DEADLINE_EVENTS = {  # the audit event each deadline notice comes with (workflow.deadline_commands)
    "deadline_extended": "deadline.extend",
    "deadline_suspended": "deadline.suspend",
    "deadline_resumed": "deadline.resume",
    "deadline_moved": "deadline.recompute",
}

CASE_ID = 1024
CLAWBACK_FEN = 123_456_789  # 1,234,567.89 CNY to recover
APPLICANT_NAME = "深圳市星河智算人工智能科技有限公司"
AMOUNT_FEN = 600_000_000  # the 6,000,000 CNY cap: the longest amount a Longgang notice prints
STARTED = datetime(2025, 9, 26, 10, 30, tzinfo=SHANGHAI)  # a Friday before the National Day holiday
STAFF_REASON = "申报单位提供了窗口签收回执，书面材料实际已于期限内递交，现更正状态。"
REASONS = {
    "return_for_correction": "项目负责人近3个月深圳社保缴纳记录缺失，请补充2025年6月至8月的社保缴纳证明后重新提交。",
    "reject": "经核查，算力供给方为申报单位全资子公司，属于关联方，不符合申报条件第三项。",
    "raise_objection": "有群众反映该企业申报的算力服务合同金额与实际支付金额不一致，请核实。",
    "resolve_objection": "经核查，异议不成立。",
    "open_clawback": "经核查，申报材料中的算力服务合同系伪造，依规追回已拨付资金。",
}
DEADLINE_REASONS = {
    "deadline_extended": "受台风“桦加沙”影响，全区政务服务窗口停止办公，书面材料递交期限相应延长。",
    "deadline_suspended": "申报单位公章遗失正在补办，经申请暂停计时。",
    "deadline_resumed": "新公章已刻制完成，恢复计时。",
    "deadline_moved": "calendar changed: 2025-10-10 台风红色预警，全区停止办公",
}
HOSTILE = "<script>alert(1)</script>"
LONGGANG = "longgang-ai-compute-2025"
# notices whose wording is shared by every program (templates/_common); the rest are a program's own
SHARED_KINDS = {
    "override",
    "deadline_extended",
    "deadline_suspended",
    "deadline_resumed",
    "deadline_moved",
    "new_submission",
    "paper_deadline_missed",
    "objection_raised",
    "notice_dead",
    "deadline_failed",
    "applicant_listed",
    "clawback_opened",
    "clawback_recovered",
    "clawback_written_off",
}
HAN = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Sample:
    """One notice as a program queues it, with one realistic outbox context."""

    process: CompiledProcess
    rule: NoticeRule
    origin: str
    stored: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.rule.kind

    @property
    def parts(self) -> tuple[str, ...]:
        wanted = set(APPLICANT_PARTS if self.rule.audience == "applicant" else STAFF_PARTS)
        for channel in self.rule.channels:
            wanted.update(CHANNEL_PARTS[channel])
        return tuple(part for part in APPLICANT_PARTS if part in wanted)

    def context(self, channel: str) -> dict[str, Any]:
        return build_context(self.stored, self.process, kind=self.kind, channel=channel)

    def __str__(self) -> str:
        return f"{self.process.key}:{self.kind}:{self.origin}"


# ---- discovery ----------------------------------------------------------------------------


def _due_iso(rule: DeadlineRule) -> str:
    due = compute_due(
        working_days=rule.working_days, fixed_due=rule.due, started_at=STARTED, ledger=(), calendar=CALENDAR
    )
    assert due.due_at is not None
    return due.due_at.isoformat()


def _opener(process: CompiledProcess, deadline: DeadlineRule) -> State:
    return next(s for s in process.definition.states if deadline.key in s.opens)


def _base(process: CompiledProcess, state: str) -> dict[str, Any]:
    return {
        "case_id": CASE_ID,
        "program": process.key,
        "applicant_name": APPLICANT_NAME,
        "state": state,
        "event": None,
        "reason": None,
        "deadlines": {},
    }


def _longest_window(process: CompiledProcess) -> int | None:
    windows = process.definition.reference.get("service_windows", [])
    return max(windows, key=lambda w: len(w["name"]))["number"] if windows else None


def _entry_reason(process: CompiledProcess, event: Event | None) -> str | None:
    if event is None:
        return STAFF_REASON  # an override into the state: the staff's reason
    if "reason" in event.requires:
        return REASONS.get(event.name, STAFF_REASON)
    expiring = [d for d in process.definition.deadlines if d.on_expiry == event.name]
    if expiring:  # the reason the engine gives when a deadline runs out
        return f"{expiring[0].label} passed ({expiring[0].rule})"
    return None


def _entered(process: CompiledProcess, state: State, event: Event | None) -> dict[str, Any]:
    """The context ``apply_change`` stores when a case enters ``state`` by ``event`` (None: override)."""
    payload: dict[str, Any] = {}
    if event is not None and "service_window" in event.requires:
        payload["service_window"] = _longest_window(process)
    if event is not None and "clawback_fen" in event.requires:  # LG-CLAW-1, SZ-CLAW-1
        payload.update(clawback_fen=CLAWBACK_FEN, reason_code="false_materials")
    return {
        **_base(process, state.key),
        "event": event.name if event else None,
        "reason": _entry_reason(process, event),
        "deadlines": {key: _due_iso(process.deadlines[key]) for key in state.opens},
        "payload": payload,
        "amount_fen": AMOUNT_FEN,
    }


def queued_notices(process: CompiledProcess) -> list[Sample]:
    """Every notice ``process`` can queue, each with every way it can come about."""
    definition = process.definition
    samples: list[Sample] = []
    for state in definition.states:
        routes: list[Event | None] = [e for e in definition.events if e.target == state.key]
        routes.append(None)  # a staff override into the state queues its notices too
        for rule in state.notices:
            for event in routes:
                origin = f"{state.key}<-{event.name if event else 'override'}"
                samples.append(Sample(process, rule, origin, _entered(process, state, event)))

    override = definition.override_notice or NoticeRule("override")
    labels = [s for s in definition.states if s.key != definition.initial]
    for source in definition.states:
        for target in labels:
            if source.key == target.key:
                continue
            stored = {
                **_entered(process, target, None),
                "from_label": source.label,
                "to_label": target.label,
            }
            samples.append(Sample(process, override, f"{source.key}->{target.key}", stored))

    for deadline in definition.deadlines:
        opener = _opener(process, deadline)
        due = _due_iso(deadline)
        for rung in deadline.reminders:
            stored = {
                **_base(process, opener.key),
                "deadline": deadline.key,
                "label": deadline.label,
                "rung": rung.key,
                "due_at": due,
                "last_day": due[:10],
            }
            samples.append(Sample(process, rung.notice, f"{deadline.key}/{rung.key}", stored))
        if deadline.expiry_alert is not None:
            event = process.events[deadline.on_expiry]
            stored = _entered(process, process.states[event.target], event)
            samples.append(Sample(process, deadline.expiry_alert, f"{deadline.key}/expired", stored))
        for rule in ENGINE_NOTICES:
            stored = {
                **_base(process, opener.key),
                "event": DEADLINE_EVENTS[rule.kind],
                "reason": DEADLINE_REASONS[rule.kind],
                "deadline": deadline.key,
                "label": deadline.label,
                "due_at": None if rule.kind == "deadline_suspended" else _later(due),
                "old_due_at": None if rule.kind == "deadline_resumed" else due,
            }
            samples.append(Sample(process, rule, deadline.key, stored))
        stored = {  # the sweep could not expire it (workflow.engine._fail_deadline)
            **_base(process, opener.key),
            "event": "deadline.failed",
            "reason": f"{deadline.label} passed but {deadline.on_expiry!r} was refused: case is final",
            "deadline": deadline.key,
            "label": deadline.label,
        }
        samples.append(Sample(process, DEADLINE_FAILED, f"{deadline.key}/failed", stored))

    for official in definition.official_lists[:1]:  # an applicant listed while a case is open (LG-LIST-1, SZ-LIST-1)
        stored = {
            **_base(process, definition.states[1].key),
            "event": "listing.flagged",
            "reason": f"the applicant is on {official.label_en} ({official.label}) since 2025-08-01 ({official.rule})",
        }
        listed = NoticeRule("applicant_listed", ("email",), official.rule, audience="staff")
        samples.append(Sample(process, listed, "listing.flagged", stored))

    first_of_kind: dict[str, Sample] = {}
    for sample in samples:
        if sample.rule.audience == "applicant":
            first_of_kind.setdefault(sample.kind, sample)
    for number, sample in enumerate(first_of_kind.values(), start=1):
        for channel in sample.rule.channels:
            failed = {
                "id": 880 + number,
                "kind": sample.kind,
                "channel": channel,
                "recipient": "13912345678" if channel == "sms" else "shenbao@xinghe-ai.example.cn",
                "last_error": "SMTP 550 5.1.1 mailbox unavailable" if channel == "email" else "gateway HTTP 400",
            }
            stored = {**sample.stored, "failed_notice": failed}
            samples.append(Sample(process, DEAD_NOTICE, f"{sample.kind}/{channel}", stored))
    return samples


def _later(iso: str) -> str:
    """A due instant a week later (an extension or a move)."""
    return (datetime.fromisoformat(iso) + timedelta(days=7)).isoformat()


SAMPLES = [sample for process in PROGRAMS for sample in queued_notices(process)]
KINDS: dict[tuple[str, str], Sample] = {}  # the first (most usual) sample of each program and kind
for _sample in SAMPLES:
    KINDS.setdefault((_sample.process.key, _sample.kind), _sample)


def _render(sample: Sample) -> dict[str, str]:
    out: dict[str, str] = {}
    if "sms" in sample.parts:
        out["sms"] = RENDERER.sms(sample.process.definition, sample.kind, sample.context("sms"))
    email = RENDERER.email(sample.process.definition, sample.kind, sample.context("email"))
    out.update(subject=email.subject, text=email.text, html=email.html)
    return out


# ---- every notice has its templates -------------------------------------------------------


def test_discovery_finds_the_notices_of_the_longgang_definition() -> None:
    kinds = {kind for (key, kind) in KINDS if key == LONGGANG}
    assert {
        "submission_received",
        "new_submission",
        "returned_for_correction",
        "passed_online_review",
        "portal_filed",
        "portal_approved",
        "paper_received",
        "publicity_started",
        "objection_raised",
        "funded",
        "rejected",
        "abandoned",
        "withdrawn",
        "override",
        "window_closing",
        "paper_due_soon",
        "paper_due_today",
        "paper_deadline_missed",
        "deadline_extended",
        "deadline_suspended",
        "deadline_resumed",
        "deadline_moved",
        "notice_dead",
    } <= kinds


@pytest.mark.parametrize("sample", list(KINDS.values()), ids=str)
def test_every_queued_notice_has_its_templates(sample: Sample) -> None:
    missing = [part for part in sample.parts if not RENDERER.has(sample.process.definition, sample.kind, part)]
    assert not missing, f"{sample.process.key} queues {sample.kind} but has no {missing} template"
    if sample.rule.audience == "staff":
        assert sample.rule.channels == ("email",), "staff alerts go to the staff mailbox only"


def test_no_template_file_is_stray() -> None:
    """A misspelt file name would be a notice that never renders: every file must be a known kind and part."""
    by_folder: dict[Path, set[str]] = {TEMPLATES / COMMON: set()}
    for process in PROGRAMS:
        kinds = {kind for (key, kind) in KINDS if key == process.key}
        by_folder[TEMPLATES / COMMON] |= kinds
        assert process.definition.templates is not None, process.key
        by_folder.setdefault(process.definition.templates, set()).update(kinds)
    stray = []
    for folder, known in by_folder.items():
        for path in sorted(folder.glob("*.j2")):
            if path.name.startswith("_"):
                continue  # partials and layouts
            kind, _, part = path.name.removesuffix(".j2").rpartition(".")
            if kind not in known or part not in APPLICANT_PARTS:
                stray.append(str(path))
    assert not stray
    assert sorted(p.name for p in TEMPLATES.iterdir()) == [COMMON], "a program's templates live in its package"


# ---- every template renders, realistic context -----------------------------------------


@pytest.mark.parametrize("sample", SAMPLES, ids=str)
def test_renders_cleanly(sample: Sample) -> None:
    out = _render(sample)
    for part, text in out.items():
        assert "None" not in text, f"{part}: {text}"
        assert "{{" not in text, part
        assert "{%" not in text, part
        assert HAN.search(text), f"{part} has no Chinese text"
    assert "\n" not in out["subject"]
    assert len(out["subject"]) <= 100
    assert "\n\n\n" not in out["text"]
    for markup in ("<p", "&lt;", "&#"):
        assert markup not in out["text"], markup
    html = out["html"]
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="zh-CN">' in html
    assert '<meta charset="utf-8">' in html
    assert html.rstrip().endswith("</html>")
    for external in ("<script", "<link", "<img", " src=", "url(", "@import", "<iframe"):
        assert external not in html, external
    if "sms" in out:
        sms = out["sms"]
        assert sms.startswith("【")
        assert sms_segments(sms) == 1, f"{len(sms)} characters: {sms}"


def _facts(sample: Sample, context: dict[str, Any]) -> dict[str, list[str]]:
    """What a notice of this kind must tell, by part (only facts the context has)."""
    kind, c = sample.kind, context

    def present(*values: Any) -> list[str]:
        return [str(v) for v in values if v is not None]

    email: list[str] = []
    sms: list[str] = []
    if sample.rule.audience == "applicant":
        email += present(c["case_id"], c["applicant_name"])
    if sample.process.key != LONGGANG and kind not in SHARED_KINDS:
        pass  # another program's own wording: only the shared facts above
    elif kind == "submission_received":
        email += present(c["amount"])
    elif kind in {"returned_for_correction", "rejected", "objection_raised"}:
        email += present(c["reason"])
    elif kind == "passed_online_review":
        email += ["水印", "广东政务服务网"]
        sms += ["线上终审", "广东政务服务网"]
    elif kind == "portal_approved":
        email += present(c["paper_due_date"], f"{c['paper_working_days']}个工作日")
        email += ["A4", "双面", "胶装", "公章", "骑缝章", "一式两份", "目录"]
        for window in c["service_windows"]:
            email += [window["name"], window["address"], window["phone"]]
        sms += present(c["paper_due_date"])
    elif kind == "paper_received":
        window = c["service_window"] or {}
        email += present(window.get("name"), window.get("address"))
    elif kind == "publicity_started":
        email += present(c["publicity_end_date"])
        sms += present(c["publicity_end_date"])
    elif kind == "funded":
        email += present(c["amount"])
        sms += present(c["amount"])
    elif kind == "abandoned":
        email += ["放弃"] + (present(c["reason"]) if c["event"] is None else [])
        sms += ["放弃"]
    elif kind == "withdrawn":
        email += ["撤回"]
        sms += ["撤回"]
    elif kind == "window_closing":
        email += present(c["window_close_date"])
        sms += present(c["window_close_date"])
    elif kind in {"paper_due_soon", "paper_due_today"}:
        email += present(c["due_date"])
        sms += present(c["due_date"])
        for window in c["service_windows"]:
            email += [window["name"], window["phone"]]
    elif kind == "override":
        email += present(c["from_label"], c["to_label"], c["reason"])
        sms += present(c["to_label"])
    elif kind == "deadline_failed":
        email += present(c["deadline_label"], c["reason"])
    elif kind == "clawback_opened":  # LG-CLAW-1, SZ-CLAW-1: what, how much, why, and the listing
        email += present(c["reason"])
        sms += ["资金追回"]
        if c["payload"].get("clawback_fen"):  # not when staff force a case into the state by override
            email += ["1,234,567.89", "诚信名单"]
            sms += ["1,234,567.89"]
    elif kind in {"clawback_recovered", "clawback_written_off", "applicant_listed"}:  # LG-CLAW-1, LG-LIST-1
        email += present(c["reason"])
    elif kind.startswith("deadline_"):
        email += present(c["deadline_label"], c["due_date"], c["old_due_date"], c["reason"])
        sms += present(c["deadline_label"])
        if kind != "deadline_suspended":
            sms += present(c["due_date"])
    elif kind == "new_submission":
        email += present(c["applicant_name"], c["amount"])
    elif kind == "paper_deadline_missed":
        email += present(c["applicant_name"], "书面材料")
    elif kind == "notice_dead":
        failed = c["failed_notice"]
        email += [failed["kind"], failed["recipient"], failed["last_error"], str(failed["id"])]
    return {"text": email, "html": [str(escape(f)) for f in email], "sms": sms}


@pytest.mark.parametrize("sample", SAMPLES, ids=str)
def test_tells_the_key_facts(sample: Sample) -> None:
    out = _render(sample)
    for part, facts in _facts(sample, sample.context("email")).items():
        for fact in facts:
            assert part in out, f"{part} expected for {sample}"
            assert fact in out[part], f"{part} lacks {fact!r}:\n{out[part]}"
    if sample.rule.audience == "staff":
        assert str(CASE_ID) in out["subject"]


def test_portal_approved_lists_all_13_service_windows() -> None:  # LG-FLOW-5
    sample = KINDS[(LONGGANG, "portal_approved")]
    out = _render(sample)
    windows = sample.context("email")["service_windows"]
    assert len(windows) == 13
    assert out["html"].count("<tr><td>") == 13
    for window in windows:
        assert f"{window['number']}. {window['name']}" in out["text"]
    due = sample.context("sms")["paper_due_date"]
    assert due == "2025年10月10日"  # 5 working days from Fri 26 Sep 2025 over the National Day holiday
    assert due in out["sms"]
    assert due in out["subject"]


# ---- SMS length ----------------------------------------------------------------------------


def test_a_long_sms_is_flagged() -> None:
    assert sms_segments("字" * 70) == 1
    assert sms_segments("字" * 71) == 2
    assert sms_segments("字" * 135) == 3


@pytest.mark.parametrize("sample", [s for s in SAMPLES if "sms" in s.parts], ids=str)
def test_sms_is_one_message(sample: Sample) -> None:
    text = RENDERER.sms(sample.process.definition, sample.kind, sample.context("sms"))
    assert sms_segments(text) == 1, f"{len(text)} characters, {sms_segments(text)} messages: {text}"


@pytest.mark.parametrize("kind", ["returned_for_correction", "rejected"])
def test_a_short_reason_fits_in_the_sms_and_a_long_one_points_to_the_email(kind: str) -> None:
    sample = KINDS[(LONGGANG, kind)]
    short = {**sample.stored, "reason": "营业执照复印件未加盖公章"}
    sms = RENDERER.sms(sample.process.definition, kind, build_context(short, sample.process, kind=kind, channel="sms"))
    assert "营业执照复印件未加盖公章" in sms
    assert sms_segments(sms) == 1
    long = {**sample.stored, "reason": "请补充" + "、".join(["算力服务合同", "发票", "银行付款凭证", "完税凭证"] * 4)}
    sms = RENDERER.sms(sample.process.definition, kind, build_context(long, sample.process, kind=kind, channel="sms"))
    assert "详见邮件" in sms
    assert "发票" not in sms
    assert sms_segments(sms) == 1


# ---- facts missing: never 'None', never an error ------------------------------------------


@pytest.mark.parametrize("sample", list(KINDS.values()), ids=str)
def test_renders_with_every_optional_fact_missing(sample: Sample) -> None:
    sparse = Sample(sample.process, sample.rule, "sparse", {})
    out = _render(sparse)
    for part, text in out.items():
        assert "None" not in text, f"{part}: {text}"
        assert HAN.search(text), part
    assert "<table>\n</table>" not in out["html"]
    if "sms" in sample.parts:
        assert sms_segments(RENDERER.sms(sample.process.definition, sample.kind, sparse.context("sms"))) == 1


# ---- escaping --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["returned_for_correction", "rejected"])
def test_html_escapes_the_reason_while_sms_and_text_keep_it(kind: str) -> None:
    sample = KINDS[(LONGGANG, kind)]
    stored = {**sample.stored, "reason": HOSTILE}
    out = _render(Sample(sample.process, sample.rule, "hostile", stored))
    assert HOSTILE in out["sms"]
    assert HOSTILE in out["text"]
    assert HOSTILE not in out["html"]
    assert "<script" not in out["html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out["html"]


@pytest.mark.parametrize("sample", list(KINDS.values()), ids=str)
def test_html_escapes_every_user_value(sample: Sample) -> None:
    stored = {**sample.stored, "reason": HOSTILE, "applicant_name": f"{HOSTILE}有限公司"}
    if stored.get("failed_notice"):
        stored["failed_notice"] = {**stored["failed_notice"], "recipient": HOSTILE, "last_error": HOSTILE}
    out = _render(Sample(sample.process, sample.rule, "hostile", stored))
    assert "<script" not in out["html"]
    assert "&lt;script&gt;" in out["html"]  # the applicant name at least is shown, escaped
    assert "&lt;" not in out["text"]


# ---- every end names its exact time (SZ-WIN-1) -------------------------------------------

ENDS = ("due_end", "old_due_end", "paper_due_end", "publicity_end", "window_close_end")
TIME = re.compile(r"(?:[01][0-9]|2[0-4]):[0-5][0-9]$")
SHENZHEN = "shenzhen-training-voucher-2024"


@pytest.mark.parametrize("sample", SAMPLES, ids=str)
def test_every_end_a_notice_names_comes_with_its_time(sample: Sample) -> None:
    # SZ-WIN-1 (and LG-WIN-1, LG-DL-1): "12月9日" alone reads as "until midnight"; the 18:00 cut-off must be said
    context = sample.context("email")
    out = _render(sample)
    for key in ENDS:
        end = context.get(key)  # the window and paper ends are a program's own (its notice_context)
        if end is None:
            continue
        assert TIME.search(end), f"{key} = {end!r} has no time"
        day = TIME.sub("", end)
        for part, text in out.items():
            for found in re.finditer(re.escape(day), text):
                following = text[found.start() : found.start() + len(end)]
                assert following == end, f"{part} names {day} without its time {end[len(day) :]}:\n{text}"


@pytest.mark.parametrize("rung", ["3_days_before", "1_day_before"])
def test_voucher_window_reminders_name_the_18_00_cut_off(rung: str) -> None:
    # SZ-WIN-1: the reminders before the voucher window closes say 18:00, in every part
    sample = KINDS[(SHENZHEN, "window_closing")]
    stored = {**sample.stored, "rung": rung}
    out = _render(Sample(sample.process, sample.rule, rung, stored))
    for part in ("sms", "subject", "text", "html"):
        assert "2024年12月9日18:00" in out[part], f"{part}: {out[part]}"


def test_voucher_abandonment_names_the_18_00_cut_off() -> None:
    # SZ-WIN-1
    sample = KINDS[(SHENZHEN, "abandoned")]
    out = _render(sample)
    for part in ("sms", "text", "html"):
        assert "2024年12月9日18:00" in out[part], f"{part}: {out[part]}"


@pytest.mark.parametrize(
    ("kind", "end"),
    [
        ("window_closing", "2025年9月13日24:00"),  # LG-WIN-1: the whole of the last day
        ("paper_due_soon", "2025年10月10日24:00"),  # LG-DL-1: the end of the last working day
        ("paper_due_today", "2025年10月10日24:00"),
        ("portal_approved", "2025年10月10日24:00"),
    ],
)
def test_longgang_notices_name_the_end_of_the_day(kind: str, end: str) -> None:
    # LG-WIN-1, LG-DL-1
    out = _render(KINDS[(LONGGANG, kind)])
    for part in ("sms", "subject", "text", "html"):
        assert end in out[part], f"{part}: {out[part]}"


@pytest.mark.parametrize(
    ("iso", "shown"),
    [
        ("2024-12-09T10:00:00+00:00", "2024年12月9日18:00"),  # SZ-WIN-1: 18:00 in Shanghai
        ("2025-09-13T16:00:00+00:00", "2025年9月13日24:00"),  # midnight ending 13 September (Shanghai)
        ("2025-10-11T00:00:00+08:00", "2025年10月10日24:00"),  # LG-DL-1: the end of the last working day
        (None, None),
    ],
)
def test_end_time_names_the_moment_in_shanghai(iso: str | None, shown: str | None) -> None:
    # SZ-WIN-1
    from notifications.context import end_time

    assert end_time(iso) == shown
