"""What a notice template sees: the outbox row's stored context made readable.

The outbox stores the facts of the change as JSON at the moment it happened (state,
reason, deadlines, amount in fen); this module turns the generic ones into the values a
zh-CN template prints: labels, dates as ``2025年10月10日`` in Asia/Shanghai, amounts as
``360,000.00``, and the exact end of a deadline as ``2024年12月9日18:00`` or
``2025年10月10日24:00`` (the ``*_end`` keys, SZ-WIN-1; see :mod:`workflow.zh_dates`).
What only one program's templates need (its service windows, its paper deadline, its
window close) the program supplies: its definition's ``notice_context(stored, reference)``,
whose values are added here; a generic key is never replaced by a program's.
Every generic key is always present (``None`` where it does not apply), so a template that
names a key never fails for a notice kind it was written for, and ``StrictUndefined`` still
catches a misspelt one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflow.money import format_yuan
from workflow.process import CompiledProcess
from workflow.zh_dates import end_time, last_day, zh_date

__all__ = ["build_context", "end_time", "last_day", "zh_date"]


def build_context(stored: Mapping[str, Any], process: CompiledProcess, *, kind: str, channel: str) -> dict[str, Any]:
    """The template context for one notice (see the module docstring for the contract)."""
    definition = process.definition
    state = stored.get("state")
    amount_fen = stored.get("amount_fen")
    generic = {
        "kind": kind,
        "channel": channel,
        "case_id": stored.get("case_id"),
        "applicant_name": stored.get("applicant_name"),
        "program_key": definition.key,
        "program_title": definition.title,
        "state": state,
        "state_label": process.states[state].label if state in process.states else state,
        "event": stored.get("event"),
        "reason": stored.get("reason"),
        "amount": format_yuan(amount_fen) if isinstance(amount_fen, int) else None,
        "deadline": stored.get("deadline"),
        "deadline_label": stored.get("label"),
        "due_date": last_day(stored.get("due_at")),
        "old_due_date": last_day(stored.get("old_due_at")),
        "due_end": end_time(stored.get("due_at")),
        "old_due_end": end_time(stored.get("old_due_at")),
        "rung": stored.get("rung"),
        "from_label": stored.get("from_label"),
        "to_label": stored.get("to_label"),
        "failed_notice": stored.get("failed_notice"),
        # a program's money figures after the change and how each moved (ProcessDefinition.figures)
        "figures": _yuan_each(stored.get("figures")),
        "figures_change": _yuan_each(stored.get("figures_change")),
        "payload": dict(
            stored.get("payload") or {}
        ),  # the event's declared payload fields (e.g. a clawback's amount, LG-CLAW-1)
    }
    return {**definition.notice_context(stored, definition.reference), **generic}


def _yuan_each(figures: Mapping[str, Any] | None) -> dict[str, str]:
    """``{"redeemed_fen": 120000000}`` as ``{"redeemed": "1,200,000.00"}``: what a template prints."""
    return {k.removesuffix("_fen"): format_yuan(v) for k, v in (figures or {}).items() if isinstance(v, int)}
