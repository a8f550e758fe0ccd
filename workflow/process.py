"""A definition compiled for use: validated, indexed, and backed by one ``transitions`` Machine.

The Machine is built once per definition (``model=None``, ``auto_transitions=False``)
and a command triggers its event on a throw-away :class:`_Token` carrying the loaded
case's state, the first time that (state, event) pair is seen (:meth:`CompiledProcess.move`):
never a Machine per case, never a SQLModel row as the model (transitions issue #635).
"""

from __future__ import annotations

from collections.abc import Iterator

from transitions import Machine

from workflow.definition import DeadlineRule, Event, ProcessDefinition, State
from workflow.errors import UnknownEvent, UnknownProgram, UnknownState
from workflow.validation import validate_definition


class _Token:
    """The plain object the shared Machine moves; it carries only a state."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


class CompiledProcess:
    """A validated definition with lookups and its one shared state machine."""

    def __init__(self, definition: ProcessDefinition) -> None:
        validate_definition(definition)
        self.definition = definition
        self.states: dict[str, State] = {s.key: s for s in definition.states}
        self.events: dict[str, Event] = {e.name: e for e in definition.events}
        self.deadlines: dict[str, DeadlineRule] = {d.key: d for d in definition.deadlines}
        self._moves: dict[tuple[str, str], str] = {}
        self._machine = Machine(
            model=None,
            states=[s.key for s in definition.states],
            transitions=[{"trigger": e.name, "source": list(e.sources), "dest": e.target} for e in definition.events],
            initial=definition.initial,
            auto_transitions=False,
        )

    @property
    def key(self) -> str:
        return self.definition.key

    @property
    def version(self) -> int:
        return self.definition.version

    def state(self, key: str) -> State:
        try:
            return self.states[key]
        except KeyError:
            raise UnknownState(f"{self.key} has no state {key!r}", field="state") from None

    def event(self, name: str, *, case_id: int | None = None) -> Event:
        try:
            return self.events[name]
        except KeyError:
            raise UnknownEvent(
                f"{self.key} has no event {name!r}", case_id=case_id, event=name, field="event"
            ) from None

    def events_from(self, state: str) -> list[Event]:
        return [e for e in self.definition.events if state in e.sources]

    def move(self, state: str, event: str) -> str:
        """Run ``event`` from ``state`` through the Machine and return the new state.

        The Machine has no callbacks or conditions, so its answer for a (state, event) pair
        never changes: each pair runs through it once and is remembered (a trigger costs
        about 0.1 ms of CPU, a tenth of a whole command's Python). A move the Machine
        refuses raises every time, as it is not remembered.
        """
        known = self._moves.get((state, event))
        if known is None:
            token = _Token(state)
            self._machine.events[event].trigger(token)
            known = self._moves[(state, event)] = token.state
        return known

    def force(self, target: str) -> str:
        """A staff override: the Machine's forced move to any known state."""
        token = _Token(self.definition.initial)
        self._machine.set_state(self.state(target).key, model=token)
        return token.state

    def __repr__(self) -> str:
        return f"CompiledProcess({self.key!r}, v{self.version})"


class ProgramCatalog:
    """Every registered definition, by key and version; the newest version opens new cases."""

    def __init__(self, definitions: list[ProcessDefinition] | None = None) -> None:
        self._by_ref: dict[tuple[str, int], CompiledProcess] = {}
        for definition in definitions or []:
            self.register(definition)

    def register(self, definition: ProcessDefinition) -> CompiledProcess:
        compiled = CompiledProcess(definition)
        self._by_ref[(definition.key, definition.version)] = compiled
        return compiled

    def get(self, key: str, version: int | None = None) -> CompiledProcess:
        if version is None:
            versions = [v for (k, v) in self._by_ref if k == key]
            if not versions:
                raise UnknownProgram(f"unknown program {key!r}", field="program")
            version = max(versions)
        try:
            return self._by_ref[(key, version)]
        except KeyError:
            raise UnknownProgram(f"unknown program {key!r} version {version}", field="program") from None

    def latest(self) -> list[CompiledProcess]:
        """The newest version of every program, sorted by key."""
        keys = sorted({k for (k, _) in self._by_ref})
        return [self.get(k) for k in keys]

    def __iter__(self) -> Iterator[CompiledProcess]:
        return iter(self._by_ref.values())
