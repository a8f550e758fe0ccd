"""Rendering notices from Jinja2 templates: zh-CN, one file per program, notice and channel.

Templates live in ``notifications/templates/<program key>/<kind>.<part>.j2`` where part
is ``sms``, ``subject``, ``text`` or ``html``; notices every program shares (deadline
changes, overrides, staff alerts) live in ``templates/_common/`` and a program may
override them with a file of its own. The environment uses ``StrictUndefined`` (a
misspelt variable is an error, not an empty string) and autoescapes HTML only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).with_name("templates")
COMMON = "_common"
SMS_SEGMENT = 70  # characters in one Chinese SMS; longer ones are billed as several


class TemplateMissing(LookupError):
    """No template for this program, notice kind and part."""


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def environment(root: Path = TEMPLATES) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # templates ship with the code: no stat() per render
    )


class Renderer:
    """Finds and renders the template for a program's notice, program file first."""

    def __init__(self, env: jinja2.Environment | None = None) -> None:
        self._env = env or environment()
        self._found: dict[tuple[str, str, str], jinja2.Template] = {}

    def _template(self, program: str, kind: str, part: str) -> jinja2.Template:
        found = self._found.get((program, kind, part))
        if found is not None:
            return found
        for folder in (program, COMMON):
            try:
                template = self._env.get_template(f"{folder}/{kind}.{part}.j2")
            except jinja2.TemplateNotFound:
                continue
            self._found[(program, kind, part)] = template
            return template
        raise TemplateMissing(f"no template {kind}.{part}.j2 for {program} or {COMMON}")

    def has(self, program: str, kind: str, part: str) -> bool:
        try:
            self._template(program, kind, part)
        except TemplateMissing:
            return False
        return True

    def sms(self, program: str, kind: str, context: dict[str, Any]) -> str:
        return " ".join(self._template(program, kind, "sms").render(context).split())

    def email(self, program: str, kind: str, context: dict[str, Any]) -> RenderedEmail:
        subject = " ".join(self._template(program, kind, "subject").render(context).split())
        text = self._template(program, kind, "text").render(context).strip() + "\n"
        html = self._template(program, kind, "html").render(context).strip() + "\n"
        return RenderedEmail(subject, text, html)


def sms_segments(text: str) -> int:
    """How many messages an SMS costs (70 characters for one, 67 per part when split)."""
    return 1 if len(text) <= SMS_SEGMENT else -(-len(text) // 67)
