"""Rendering notices from Jinja2 templates: zh-CN, found by program, notice kind and part.

A program's templates live in its own package, in the folder its definition names
(``ProcessDefinition.templates``, e.g. ``states/<program>/templates/<kind>.<part>.j2``, part
``sms``, ``subject``, ``text`` or ``html``), so every round of a program, and a program from
outside the repository (``FILINGFLOW_PROGRAMS``), renders with the templates it ships. Notices
every program shares (deadline changes, overrides, staff alerts) and the layouts live in
``notifications/templates/_common/``; a program may override one with a file of its own.

Inside a template the program's folder is ``program/`` and the shared one ``_common/``
(``{% include ["program/_sign.j2", "_common/_sign.j2"] %}``: the program's partial if it has
one), so a template never names a round. The environment uses ``StrictUndefined`` (a misspelt
variable is an error, not an empty string) and autoescapes HTML only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from workflow.definition import ProcessDefinition

TEMPLATES = Path(__file__).with_name("templates")
COMMON = "_common"
PROGRAM = "program"  # the prefix a program's own folder has inside its templates
CHANNEL_PARTS = {"sms": ("sms",), "email": ("subject", "text", "html")}
"""The template parts each channel renders."""
SMS_SEGMENT = 70  # characters in one Chinese SMS; longer ones are billed as several


class TemplateMissing(LookupError):
    """No template for this program, notice kind and part."""


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def environment(program: Path | None = None, common: Path = TEMPLATES / COMMON) -> jinja2.Environment:
    """One program's templates under ``program/`` and the shared ones under ``_common/``."""
    folders = {COMMON: jinja2.FileSystemLoader(str(common))}
    if program is not None:
        folders[PROGRAM] = jinja2.FileSystemLoader(str(program))
    return jinja2.Environment(
        loader=jinja2.PrefixLoader(folders),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # templates ship with the code: no stat() per render
    )


def template_file(definition: ProcessDefinition, kind: str, part: str) -> Path | None:
    """The file a notice part renders from (the program's, else the shared one), without compiling it."""
    name = f"{kind}.{part}.j2"
    folders = (definition.templates, TEMPLATES / COMMON) if definition.templates is not None else (TEMPLATES / COMMON,)
    return next((folder / name for folder in folders if (folder / name).is_file()), None)


class Renderer:
    """Finds and renders the template for a program's notice, program file first.

    One Jinja2 environment per template folder, built on first use: the rounds of one program
    (one folder) share it and its compiled templates.
    """

    def __init__(self) -> None:
        self._envs: dict[Path | None, jinja2.Environment] = {}
        self._found: dict[tuple[Path | None, str, str], jinja2.Template] = {}

    def _env(self, folder: Path | None) -> jinja2.Environment:
        env = self._envs.get(folder)
        if env is None:
            env = self._envs[folder] = environment(folder)
        return env

    def _template(self, definition: ProcessDefinition, kind: str, part: str) -> jinja2.Template:
        folder = definition.templates
        found = self._found.get((folder, kind, part))
        if found is not None:
            return found
        prefixes = (PROGRAM, COMMON) if folder is not None else (COMMON,)
        for prefix in prefixes:
            try:
                template = self._env(folder).get_template(f"{prefix}/{kind}.{part}.j2")
            except jinja2.TemplateNotFound:
                continue
            self._found[(folder, kind, part)] = template
            return template
        where = f"{folder} or {COMMON}" if folder is not None else COMMON
        raise TemplateMissing(f"no template {kind}.{part}.j2 for {definition.key} in {where}")

    def has(self, definition: ProcessDefinition, kind: str, part: str) -> bool:
        try:
            self._template(definition, kind, part)
        except TemplateMissing:
            return False
        return True

    def sms(self, definition: ProcessDefinition, kind: str, context: dict[str, Any]) -> str:
        return " ".join(self._template(definition, kind, "sms").render(context).split())

    def email(self, definition: ProcessDefinition, kind: str, context: dict[str, Any]) -> RenderedEmail:
        subject = " ".join(self._template(definition, kind, "subject").render(context).split())
        text = self._template(definition, kind, "text").render(context).strip() + "\n"
        html = self._template(definition, kind, "html").render(context).strip() + "\n"
        return RenderedEmail(subject, text, html)


def sms_segments(text: str) -> int:
    """How many messages an SMS costs (70 characters for one, 67 per part when split)."""
    return 1 if len(text) <= SMS_SEGMENT else -(-len(text) // 67)
