"""The notice context is generic; what one program's templates need, the program supplies (issue 14 A).

``notifications/context.py`` builds the values every notice has; a definition's
``notice_context(stored, reference)`` adds its own (Longgang's service windows and paper deadline,
LG-DL-1 / LG-FLOW-5; the voucher's 18:00 close, SZ-WIN-1). The byte-for-byte rendering of every
notice is pinned by tests/notifications/test_templates.py.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from notifications.context import build_context
from states.registry import default_catalog
from workflow.process import CompiledProcess, ProgramCatalog

CATALOG = default_catalog()
LONGGANG = CATALOG.get("longgang-ai-compute-2025")
SHENZHEN = CATALOG.get("shenzhen-training-voucher-2024")
NOTIFICATIONS = Path(__file__).parents[2] / "notifications"


def _only(process: CompiledProcess, notice_context: Any, **changes: Any) -> CompiledProcess:
    return next(iter(ProgramCatalog([replace(process.definition, notice_context=notice_context, **changes)])))


def test_a_program_adds_its_values_but_never_replaces_a_generic_one() -> None:
    reference = {**LONGGANG.definition.reference, "office": "署"}
    process = _only(
        LONGGANG, lambda stored, ref: {"case_id": "shadowed", "funding_office": ref["office"]}, reference=reference
    )
    context = build_context({"case_id": 7}, process, kind="funded", channel="sms")
    assert context["case_id"] == 7
    assert context["funding_office"] == "署"


def test_without_a_notice_context_only_generic_values_are_there() -> None:
    bare = _only(LONGGANG, lambda stored, reference: {})
    context = build_context(
        {"deadlines": {"paper_delivery": "2025-10-10T16:00:00+00:00"}}, bare, kind="x", channel="sms"
    )
    assert "paper_due_date" not in context
    assert "service_windows" not in context


def test_longgang_supplies_its_paper_deadline_and_windows() -> None:  # LG-DL-1, LG-FLOW-5
    stored = {"deadlines": {"paper_delivery": "2025-10-10T16:00:00+00:00"}, "payload": {"service_window": 11}}
    context = build_context(stored, LONGGANG, kind="paper_received", channel="email")
    assert (context["paper_due_date"], context["paper_due_end"]) == ("2025年10月10日", "2025年10月10日24:00")
    assert context["paper_working_days"] == 5
    assert len(context["service_windows"]) == 13
    assert context["service_window"]["number"] == 11
    assert context["window_close_end"] == "2025年9月13日24:00"


def test_the_voucher_supplies_its_18_00_close() -> None:  # SZ-WIN-1
    context = build_context({}, SHENZHEN, kind="abandoned", channel="sms")
    assert context["window_close_end"] == "2024年12月9日18:00"
    assert "service_windows" not in context


def test_generic_notice_code_names_no_program_field() -> None:
    # everything about a program lives in its package: its deadline keys, reference data, payload fields
    fields = ("paper_delivery", "publicity_period", "service_window", "paper_working_days", "window_closes")
    found = []
    for path in [*NOTIFICATIONS.glob("*.py"), *NOTIFICATIONS.glob("templates/**/*.j2")]:
        for field in fields:
            if re.search(rf"\b{field}", path.read_text(encoding="utf-8")):
                found.append(f"{path.relative_to(NOTIFICATIONS)}: {field}")
    assert not found


def test_templates_include_partials_by_folder_prefix_never_by_round_key() -> None:
    # a template that built a path from the round key ({% include [program_key ~ "/_sign.j2", ...] %}) would
    # silently fall back to the shared partial (the wrong 【sign】) for every round but the one it was named for
    states = NOTIFICATIONS.parent / "states"
    found = [
        str(path.relative_to(NOTIFICATIONS.parent))
        for path in [*NOTIFICATIONS.glob("templates/**/*.j2"), *states.glob("*/templates/*.j2")]
        if re.search(r"program_key\s*~", path.read_text(encoding="utf-8"))
    ]
    assert not found, "include 'program/<partial>' (the program's folder) or '_common/<partial>'"
