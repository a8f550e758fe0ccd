"""A readable timeline of a case: what happened when, in Asia/Shanghai time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta

from workflow.clock import SHANGHAI
from workflow.process import CompiledProcess
from workflow.views import AuditEntry


def _label(process: CompiledProcess, state: str | None) -> str:
    if not state:
        return "-"
    return f"{state} ({process.states[state].label})" if state in process.states else state


def render_timeline(process: CompiledProcess, entries: Iterable[AuditEntry]) -> list[str]:
    """One block per audit event: time, move, actor, reason, deadlines and notices."""
    lines: list[str] = []
    for entry in entries:
        when = entry.at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        what = entry.event or entry.kind
        move = f"{_label(process, entry.from_state)} -> {_label(process, entry.to_state)}"
        lines.append(f"  {when}  [{entry.seq}] {what}: {move}  by {entry.actor} ({entry.role} via {entry.via})")
        values = entry.new_values
        if entry.reason:
            lines.append(f"{'':20}reason: {entry.reason}")
        for key, due in values.get("deadlines_opened", {}).items():
            local = _local(due)
            lines.append(f"{'':20}deadline set: {key} due {local}")
        for key, status in values.get("deadlines_closed", {}).items():
            lines.append(f"{'':20}deadline {status}: {key}")
        if values.get("processed_late_seconds", 0) > 60:
            lines.append(
                f"{'':20}processed late: due {_local(values['due_at'])}, "
                f"{values['processed_late_seconds'] // 60} min after"
            )
        if values.get("notices"):
            lines.append(f"{'':20}notices queued: {', '.join(values['notices'])}")
        if values.get("notices_skipped"):
            lines.append(f"{'':20}notices skipped: {'; '.join(values['notices_skipped'])}")
    return lines


def _local(iso: str) -> str:
    """``end of 2025-10-10`` for a deadline at midnight, else the local time."""
    local = datetime.fromisoformat(iso).astimezone(SHANGHAI)
    if local.time() == time(0, 0):
        return f"end of {(local - timedelta(days=1)).date().isoformat()} (Asia/Shanghai)"
    return local.strftime("%Y-%m-%d %H:%M Asia/Shanghai")
