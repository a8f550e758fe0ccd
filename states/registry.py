"""Every program round FilingFlow runs, compiled into one catalog."""

from __future__ import annotations

from workflow.definition import ProcessDefinition
from workflow.process import ProgramCatalog

from . import longgang_ai_compute_2025, shenzhen_training_voucher_2024


def definitions() -> list[ProcessDefinition]:
    return [longgang_ai_compute_2025.build(), shenzhen_training_voucher_2024.build()]


def default_catalog() -> ProgramCatalog:
    return ProgramCatalog(definitions())
