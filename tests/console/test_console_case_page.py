"""The case page speaks zh-CN (labels from the program, small maps for the rest) and draws the process."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from app.console import labels
from tests.console.conftest import Console, section_text
from tests.support.longgang import STAFF, submitted
from workflow.writes import CHANGE_KINDS, ENGINE_EVENTS

SVG = "{http://www.w3.org/2000/svg}"


def _text(node: ET.Element) -> str:
    label = node.find(f"{SVG}text")
    assert label is not None
    return "".join(label.itertext())


def _case_in_awaiting_paper(console: Console) -> int:
    engine = console.engine
    case_id = submitted(engine, 1)
    engine.fire(case_id, "pass_online_review", actor=STAFF)
    engine.override(case_id, "awaiting_paper", actor=STAFF, reason="门户已审核通过，补录")
    return case_id


def test_timeline_deadlines_and_notices_show_zh_cn_labels(console: Console) -> None:
    case_id = _case_in_awaiting_paper(console)
    with console.signed_in() as http:
        page = http.get(f"/console/cases/{case_id}").text
    timeline = section_text(page, "h-timeline")
    assert "通过线上终审" in timeline
    assert "线上审核中 → 已通过线上终审" in " ".join(timeline.split())
    assert "已通过线上终审 → 待递交书面材料" in " ".join(timeline.split())
    assert "创建案件" in timeline
    cells = re.findall(r"<td>([^<]*)</td>", page[page.index('id="h-timeline"') :])
    assert "online_review" not in cells, "a raw state key is never a cell of its own"

    deadlines = section_text(page, "h-deadlines")
    assert "书面材料递交期限" in deadlines
    assert "计时中" in deadlines
    assert "pending" not in deadlines
    # LG-DL-1 from Wed 08-20: 21, 22, 25, 26, 27; the last day ends at its 24:00, never "08-28 00:00"
    assert "截至 2025-08-27 24:00" in deadlines
    assert "2025-08-28" not in deadlines

    sent = section_text(page, "h-notices")
    for shown in (
        "申报已收到",
        "新申报提醒（工作人员）",
        "线上终审通过通知",
        "状态调整通知",
        "短信",
        "电子邮件",
        "待发送",
    ):
        assert shown in sent, shown
    notice_cells = re.findall(r"<td>([^<]*)</td>", page[page.index('id="h-notices"') :])
    assert not {"sms", "email", "pending"} & set(notice_cells), "channels and statuses are not raw keys"
    assert '<span class="key">submission_received</span>' in page, "the key stays as secondary text"


def test_the_diagram_is_an_inline_svg_with_the_current_state_marked(console: Console) -> None:
    case_id = _case_in_awaiting_paper(console)
    with console.signed_in() as http:
        page = http.get(f"/console/cases/{case_id}").text
    assert "<script" not in page
    assert "cdn" not in page.lower()
    svg = ET.fromstring(page[page.index("<svg") : page.index("</svg>") + len("</svg>")])
    nodes = svg.findall(f".//{SVG}g[@class]")
    states = {g.get("data-state"): g for g in nodes if "node" in (g.get("class") or "").split()}
    assert len(states) == 17, "every state of the program is drawn (14, and 3 of clawback, LG-CLAW-1)"
    current = [key for key, g in states.items() if g.get("aria-current") == "step"]
    assert current == ["awaiting_paper"]
    marked = states["awaiting_paper"]
    assert "current" in (marked.get("class") or "").split()
    assert _text(marked) == "▶ 待递交书面材料（当前）"
    assert all("当前" not in _text(g) for key, g in states.items() if key != "awaiting_paper")
    description = svg.find(f"{SVG}desc")
    assert description is not None
    assert "当前状态：待递交书面材料" in (description.text or "")
    hot = {g.get("data-event") for g in nodes if "hot" in (g.get("class") or "").split()}
    assert hot == {"receive_paper", "miss_paper_deadline", "withdraw"}, "the ways out of the current state stand out"
    assert 'aria-current="step"' in page[page.index('<ol class="states"') : page.index("</ol>")]
    mermaid = page[page.index("Mermaid 源码") :]
    assert "stateDiagram-v2" in mermaid
    assert "class awaiting_paper" in mermaid


def test_every_kind_and_engine_event_of_the_trail_has_a_zh_cn_label() -> None:
    assert set(labels.AUDIT_KINDS) == set(CHANGE_KINDS)
    assert set(labels.ENGINE_EVENTS) == set(ENGINE_EVENTS)
