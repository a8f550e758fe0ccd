"""The official-list guard both programs use (LG-LIST-1, SZ-LIST-1), as data plus one check.

A program names its lists (:class:`~workflow.official_lists.OfficialList`) and puts
:func:`listed_guard` on its submission and decision events: the engine then loads the
applicant's entries valid at the command's clock and the guard refuses while one of the
program's lists has the applicant. The applicant's own declaration stays a guard of its own
(LG-ELIG-2, SZ-ELIG-2); a declaration "not listed" that a list contradicts is said in the
refusal (its reason and ``params.declaration_contradicted``), so the contradiction is on record
wherever the refusal is shown or logged.
"""

from __future__ import annotations

from workflow.definition import Guard, GuardContext, Refusal
from workflow.official_lists import OfficialList, declared


def listed_guard(rule: str, lists: tuple[OfficialList, ...]) -> Guard:
    """Refuse while the applicant is on one of ``lists`` (valid today); names the list and the entry."""
    by_key = {official.key: official for official in lists}

    def check(ctx: GuardContext) -> Refusal | None:
        for entry in ctx.listings:
            official = by_key.get(entry.list_key)
            if official is None:
                continue
            said = declared(ctx.data, official.declaration) if official.declaration else None
            contradicted = said is False
            until = f" until {entry.until}" if entry.until else ""
            reason = (
                f"the applicant {ctx.applicant_code} is on the {official.label_en} ({official.label}) "
                f"since {entry.since}{until} (source: {entry.source})"
            )
            reason_zh = f"申请单位被列入{official.label}（自 {entry.since} 起，来源：{entry.source}）"
            if contradicted:
                reason += f"; the applicant declared {official.declaration} = false, which the list contradicts"
                reason_zh += "；申请单位声明未被列入，与名单不符"
            return Refusal(
                rule,
                reason,
                f"lists.{official.key}",
                code="listed",
                params={
                    "list": official.key,
                    "entry": entry.id,
                    "since": entry.since.isoformat(),
                    "until": entry.until.isoformat() if entry.until else None,
                    "source": entry.source,
                    "declaration": official.declaration,
                    "declaration_contradicted": contradicted,
                },
                reason_zh=reason_zh,
            )
        return None

    return Guard(rule, check, "not on the official lists", field="lists", needs_lists=True)
