"""Moving open cases to a new version of their program's definition, with an explicit state mapping.

Cases stay pinned to the definition (key and version) they were opened under; when a
definition changes while cases are open, staff migrate them deliberately. The mapping is
checked as a whole before anything moves: a case left in a state the new version does
not have refuses the migration, naming the state, and so does a case whose open deadline
the new version could no longer expire (its rule or expiry event gone). Each moved case gets one audit event
(kind ``migration``: old and new version and state, who, why), in its own transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from workflow.context import EngineContext, require_reason
from workflow.database import read_only
from workflow.definition import STAFF_ROLES, Actor
from workflow.errors import InvalidInput, NotPermitted
from workflow.process import CompiledProcess
from workflow.statuses import OPEN_STATUSES
from workflow.tables import cases, deadlines
from workflow.writes import Change


@dataclass(frozen=True, slots=True)
class MigrationPlan:
    program: str
    from_version: int
    to_version: int
    moves: tuple[tuple[int, str, str], ...]  # (case id, old state, new state)
    dry_run: bool


class VersionMigration:
    """Moves open cases between versions of their program's definition (staff, with a mapping)."""

    def __init__(self, context: EngineContext) -> None:
        self.context = context

    def migrate_cases(
        self,
        program: str,
        *,
        from_version: int,
        to_version: int,
        mapping: Mapping[str, str],
        actor: Actor,
        reason: str,
        dry_run: bool = False,
    ) -> MigrationPlan:
        """Move every open case of ``program`` v``from_version`` to v``to_version``."""
        if actor.role not in STAFF_ROLES:
            raise NotPermitted("only staff may migrate cases", field="role")
        reason = require_reason(reason, case_id=None)
        old = self.context.programs.get(program, from_version)
        new = self.context.programs.get(program, to_version)
        if from_version == to_version:
            raise InvalidInput("from and to versions are the same", field="to_version")
        _check_mapping(old, new, mapping)
        moves = self._moves(program, from_version, mapping)
        stranded = sorted({target for _, _, target in moves if target not in new.states})
        if stranded:
            raise InvalidInput(
                f"open cases would be left in states v{to_version} does not have: {', '.join(stranded)}; "
                "map them explicitly",
                field=f"mapping.{stranded[0]}",
            )
        self._check_open_deadlines(new, [(case_id, before) for case_id, before, after in moves if before == after])
        plan = MigrationPlan(program, from_version, to_version, moves, dry_run)
        if not dry_run:
            for move in moves:
                self._move(new, from_version, move, actor=actor, reason=reason)
        return plan

    def _moves(self, program: str, from_version: int, mapping: Mapping[str, str]) -> tuple[tuple[int, str, str], ...]:
        """(case id, state, new state) of every open case of the program's old version."""
        with read_only(self.context.database) as conn:
            rows = conn.execute(
                sa.select(cases.c.id, cases.c.state)
                .where(
                    cases.c.program_key == program, cases.c.program_version == from_version, cases.c.final.is_(False)
                )
                .order_by(cases.c.id)
            ).all()
        return tuple((r.id, r.state, mapping.get(r.state, r.state)) for r in rows)

    def _move(
        self, new: CompiledProcess, from_version: int, move: tuple[int, str, str], *, actor: Actor, reason: str
    ) -> None:
        """Move one case in its own transaction, audited (kind ``migration``)."""
        case_id, before, after = move
        now = self.context.clock.now()
        with self.context.store.transaction(case_id=case_id, event="migration") as conn:
            loaded = self.context.store.load(conn, case_id)
            if loaded.row["program_version"] != from_version or loaded.row["state"] != before:
                return  # moved meanwhile; it will be picked up by a rerun
            change = Change(
                kind="migration",
                actor=actor,
                event=None,
                from_state=before,
                to_state=after,
                reason=reason,
                old_values={"program_version": from_version, "state": before},
                new_values={"program_version": new.version, "state": after},
            )
            self.context.write(conn, new, loaded, change, now, case_values={"program_version": new.version})

    def _check_open_deadlines(self, new: CompiledProcess, staying: list[tuple[int, str]]) -> None:
        """A case that keeps its state keeps its open deadlines: the new version must still expire them."""
        if not staying:
            return
        states = dict(staying)
        with read_only(self.context.database) as conn:
            rows = conn.execute(
                sa.select(deadlines.c.case_id, deadlines.c.key, deadlines.c.on_expiry).where(
                    deadlines.c.case_id.in_(list(states)), deadlines.c.status.in_(OPEN_STATUSES)
                )
            ).all()
        for case_id, key, on_expiry in rows:
            event = new.events.get(on_expiry)
            if key not in new.deadlines or event is None or states[case_id] not in event.sources:
                raise InvalidInput(
                    f"case {case_id} has an open deadline {key!r} that v{new.version} cannot expire "
                    f"({on_expiry!r} from {states[case_id]!r}); map the state to one that closes it",
                    case_id=case_id,
                    field=f"mapping.{states[case_id]}",
                )


def _check_mapping(old: CompiledProcess, new: CompiledProcess, mapping: Mapping[str, str]) -> None:
    """Every mapped state exists on its side."""
    for source, target in mapping.items():
        if source not in old.states:
            raise InvalidInput(f"v{old.version} has no state {source!r} to map", field=f"mapping.{source}")
        if target not in new.states:
            raise InvalidInput(f"v{new.version} has no state {target!r}", field=f"mapping.{source}")
