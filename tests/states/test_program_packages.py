"""Everything about a program lives in its package (issue 14 A): labels, templates, examples.

Each built-in definition labels its own notice kinds (``notice_labels``, read by the console
through ``app/console/labels.py``), ships its templates in its own folder and carries its
OpenAPI examples; generic code keeps only the engine's and the shared kinds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.console import labels
from notifications.coverage import declared_notices
from notifications.rendering import COMMON, TEMPLATES
from states import clawback
from states.registry import definitions
from workflow.definition import ProcessDefinition

BUILT_IN = definitions()


@pytest.mark.parametrize("definition", BUILT_IN, ids=lambda d: d.key)
def test_every_notice_a_program_queues_has_a_zh_label(definition: ProcessDefinition) -> None:  # LG-NOTE-1
    names = labels.ProcessLabels.of(definition)
    unlabelled = {rule.kind for rule in declared_notices(definition) if names.notice(rule.kind) == rule.kind}
    assert not unlabelled


@pytest.mark.parametrize("definition", BUILT_IN, ids=lambda d: d.key)
def test_a_program_labels_the_kinds_whose_templates_it_ships(definition: ProcessDefinition) -> None:
    assert definition.templates is not None
    own = {p.name.split(".")[0] for p in definition.templates.glob("*.j2") if not p.name.startswith("_")}
    shared = {p.name.split(".")[0] for p in (TEMPLATES / COMMON).glob("*.j2") if not p.name.startswith("_")}
    borrowed = set(clawback.NOTICE_LABELS)  # LG-CLAW-1 / SZ-CLAW-1: the shared clawback states label their notices
    assert own - shared == set(definition.notice_labels) - borrowed, "its own kinds, labelled in its package"
    assert borrowed <= set(definition.notice_labels), "the clawback labels come with the clawback states"
    assert shared <= set(labels.COMMON_NOTICE_KINDS) | borrowed, "the shared kinds: engine kinds in generic code"
    assert not borrowed & set(labels.COMMON_NOTICE_KINDS), "generic code names no kind of a states module"
    assert not set(labels.COMMON_NOTICE_KINDS) & set(definition.notice_labels)


def test_a_program_label_is_read_from_its_definition() -> None:
    longgang, shenzhen = BUILT_IN
    assert labels.ProcessLabels.of(longgang).notice("portal_approved") == "政务服务网审核通过"
    assert labels.ProcessLabels.of(shenzhen).notice("portal_approved") == "portal_approved", "not a voucher kind"
    assert labels.ProcessLabels.of(shenzhen).notice("override") == "状态调整通知", "engine kinds for every program"
    renamed = ProcessDefinition(**{**_fields(shenzhen), "notice_labels": {"approved": "立项结果通知"}})
    assert labels.notice_kinds([renamed])["approved"] == "立项结果通知"
    assert labels.notice_kinds(BUILT_IN) == labels.NOTICE_KINDS


def _fields(definition: ProcessDefinition) -> dict[str, object]:
    return {name: getattr(definition, name) for name in definition.__dataclass_fields__}


def test_openapi_examples_come_from_the_definitions_not_the_api() -> None:
    from app.api import schemas

    source = Path(schemas.__file__).read_text(encoding="utf-8")
    assert not [d.key for d in BUILT_IN if d.key in source or d.key.replace("-", "_") in source]
    assert {k: v for d in BUILT_IN for k, v in d.examples.items()} == schemas.CASE_CREATE_EXAMPLES
    for definition in BUILT_IN:
        (example,) = definition.examples.values()
        assert example["value"]["program"] == definition.key, "named by the round's key, so replace() rounds work"
