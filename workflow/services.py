"""What code beside the engine may use of it: its database, its programs and its clock.

The notification dispatcher delivers what commands queued; it never commands a case, so it
takes this protocol rather than :class:`~workflow.engine.Engine` (an import contract keeps
``notifications`` from importing the engine). An ``Engine`` satisfies it as it is.
"""

from __future__ import annotations

from typing import Protocol

import sqlalchemy as sa

from workflow.clock import Clock
from workflow.process import ProgramCatalog


class EngineServices(Protocol):
    @property
    def database(self) -> sa.Engine: ...

    @property
    def programs(self) -> ProgramCatalog: ...

    @property
    def clock(self) -> Clock: ...
