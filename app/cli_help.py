"""Help text a person reads: ``--count N`` and ``CASE_ID``, not ``<int>`` and ``{case_id}``.

Typer labels every option and argument with its Python type (``<str>``, ``<int>``) unless told
otherwise; rather than repeat a metavar on every parameter, the command tree is given one word
per type here, and arguments their upper-case names, once at start-up. (Duck-typed: Typer
vendors its own copy of Click, whose classes are not a public API.)
"""

from __future__ import annotations

from typing import Any

WORDS = {"int": "N", "integer": "N", "float": "SECONDS", "str": "TEXT", "text": "TEXT", "path": "FILE"}
DATES = {"to", "due_before"}


def readable_help(command: Any) -> Any:
    """Set a readable metavar on every parameter of ``command`` and its subcommands (in place)."""
    for param in command.params:
        if param.metavar is not None or getattr(param, "is_flag", False):
            continue
        if param.param_type_name == "argument":
            param.metavar = (param.name or "value").upper()
        else:
            param.metavar = "DATE" if param.name in DATES else WORDS.get(param.type.name.lower(), "TEXT")
    for sub in getattr(command, "commands", {}).values():
        readable_help(sub)
    return command
