"""Does every notice a program can queue have its templates? Checked once, at start-up.

A notice without a template would only fail when it is delivered, days later, as a dead
notice; a round added through ``FILINGFLOW_PROGRAMS`` whose package lacks one must instead
refuse to start, naming what is missing. The notices of a definition are those it declares:
the notices each state queues, the reminder rungs and expiry alert of each deadline, and the
override notice (the engine's default when the definition names none), for applicants and
staff alike. The kinds the engine itself queues for any program (deadline changes, failures,
dead notices) are in ``templates/_common`` and covered by the tests.
"""

from __future__ import annotations

from collections.abc import Iterable

from notifications.rendering import CHANNEL_PARTS, COMMON, template_file
from workflow.definition import NoticeRule, ProcessDefinition

DEFAULT_OVERRIDE = NoticeRule("override")  # what the engine queues when a definition names no override notice


def declared_notices(definition: ProcessDefinition) -> list[NoticeRule]:
    """Every notice rule ``definition`` declares, in declaration order (a kind may appear more than once)."""
    rules = [rule for state in definition.states for rule in state.notices]
    for deadline in definition.deadlines:
        rules += [rung.notice for rung in deadline.reminders]
        if deadline.expiry_alert is not None:
            rules.append(deadline.expiry_alert)
    rules.append(definition.override_notice or DEFAULT_OVERRIDE)
    return rules


def missing_templates(definitions: Iterable[ProcessDefinition]) -> list[str]:
    """One line per template a declared notice needs and nobody ships (empty: all there).

    Files are looked up, not compiled (start-up stays fast); that every template renders is the tests' job.
    """
    missing: list[str] = []
    for definition in definitions:
        seen: set[tuple[str, str]] = set()
        where = f"{definition.templates} or {COMMON}" if definition.templates is not None else COMMON
        for rule in declared_notices(definition):
            for channel in rule.channels:
                for part in CHANNEL_PARTS.get(channel, ()):
                    if (rule.kind, part) in seen:
                        continue
                    seen.add((rule.kind, part))
                    if template_file(definition, rule.kind, part) is None:
                        missing.append(
                            f"program {definition.key} v{definition.version}: notice {rule.kind} ({rule.audience}, "
                            f"{channel}) has no {part} template ({rule.kind}.{part}.j2 in {where})"
                        )
    return missing
