"""Every program round FilingFlow runs, compiled into one catalog.

The built-in rounds are listed here. A platform adds its own rounds (a new year's
parameters, a new version of a definition) without changing this package: it names a
function returning more definitions in ``FILINGFLOW_PROGRAMS=package.module:function``,
and :func:`catalog` registers them beside the built-in ones.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable

from workflow.definition import ProcessDefinition
from workflow.errors import InvalidInput
from workflow.process import ProgramCatalog

from . import longgang_ai_compute_2025, shenzhen_training_voucher_2024


def definitions() -> list[ProcessDefinition]:
    return [longgang_ai_compute_2025.build(), shenzhen_training_voucher_2024.build()]


def default_catalog() -> ProgramCatalog:
    return ProgramCatalog(definitions())


def catalog(extra: str | None = None) -> ProgramCatalog:
    """The built-in rounds plus those ``extra`` (``module:function``) returns."""
    return ProgramCatalog([*definitions(), *(_load(extra) if extra else [])])


def _load(reference: str) -> Iterable[ProcessDefinition]:
    module_name, _, function_name = reference.partition(":")
    try:
        factory: Callable[[], Iterable[ProcessDefinition]] = getattr(
            importlib.import_module(module_name), function_name
        )
    except (ImportError, AttributeError, ValueError) as exc:
        raise InvalidInput(
            f"FILINGFLOW_PROGRAMS={reference!r} does not name a function (module:function): {exc}",
            field="FILINGFLOW_PROGRAMS",
        ) from None
    found = list(factory())
    if not all(isinstance(d, ProcessDefinition) for d in found):
        raise InvalidInput(f"{reference} must return process definitions", field="FILINGFLOW_PROGRAMS")
    return found
