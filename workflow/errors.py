"""The one error tree of the engine.

Every error the engine raises on purpose is a :class:`FilingFlowError`. Each carries the
context a caller needs to act on it without parsing the message: the case id, the event,
the field and the rule ID (from ``SPEC.md``) it concerns, whichever apply::

    FilingFlowError
    ├── DefinitionError (ValueError)        a process definition is inconsistent
    ├── InvalidInput (ValueError)           a field of a command is malformed
    ├── NotFound (LookupError)
    │   ├── UnknownProgram
    │   ├── CaseNotFound
    │   ├── UnknownEvent
    │   ├── UnknownState
    │   └── DeadlineNotFound
    ├── NotPermitted (PermissionError)      the actor's role may not do this
    ├── TransitionNotAllowed                the event does not leave the current state
    ├── GuardRefused                        a program rule refused (rule ID + reason)
    ├── ConflictError                       stale version / concurrent change
    ├── IdempotencyKeyReused                same key, different command
    ├── StorageUnavailable                  the database failed mid-command; nothing was written
    └── CalendarYearUnknown (LookupError)   no official working-day data for a year

Adapters (notifications, HTTP) translate these into their own vocabularies at their
boundary; nothing below raises a bare ``Exception``.
"""

from __future__ import annotations


class FilingFlowError(Exception):
    """Base of every deliberate engine error; carries the context it concerns."""

    def __init__(
        self,
        message: str,
        *,
        case_id: int | None = None,
        event: str | None = None,
        field: str | None = None,
        rule: str | None = None,
        code: str | None = None,
        params: dict[str, object] | None = None,
        message_zh: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.case_id = case_id
        self.event = event
        self.field = field
        self.rule = rule
        # the refusal's structure, so a surface can say it in its own language: a code with its
        # parameters (the engine's refusals), or a program's own zh-CN wording (its guards)
        self.code = code
        self.params = params or {}
        self.message_zh = message_zh

    def __str__(self) -> str:
        tags = [
            f"{name}={value}"
            for name, value in (
                ("case", self.case_id),
                ("event", self.event),
                ("field", self.field),
                ("rule", self.rule),
            )
            if value is not None
        ]
        return f"{self.message} [{', '.join(tags)}]" if tags else self.message


class DefinitionError(FilingFlowError, ValueError):
    """A process definition is inconsistent; raised when it is loaded, never later."""


class InvalidInput(FilingFlowError, ValueError):
    """A field of a command is missing or malformed; ``field`` names it."""


class NotFound(FilingFlowError, LookupError):
    """Something a command names does not exist."""


class UnknownProgram(NotFound):
    """No program definition with this key (and version) is registered."""


class CaseNotFound(NotFound):
    """No case with this id."""


class UnknownEvent(NotFound):
    """The case's program has no event with this name."""


class UnknownState(NotFound):
    """The case's program has no state with this key."""


class DeadlineNotFound(NotFound):
    """No open deadline with this id on this case."""


class NotPermitted(FilingFlowError, PermissionError):
    """The actor's role may not perform this command."""


class TransitionNotAllowed(FilingFlowError):
    """The event exists but does not leave the case's current state."""

    def __init__(self, message: str, *, state: str, **context: object) -> None:
        super().__init__(message, **context)  # type: ignore[arg-type]
        self.state = state


class GuardRefused(FilingFlowError):
    """A program rule refused the command; ``rule`` holds its ID (e.g. ``LG-WIN-1``)."""


class ConflictError(FilingFlowError):
    """The case changed since the caller read it (stale version); nothing was written."""

    def __init__(self, message: str, *, expected: int | None, actual: int | None, **context: object) -> None:
        super().__init__(message, **context)  # type: ignore[arg-type]
        self.expected = expected
        self.actual = actual


class RateLimited(FilingFlowError):
    """Too many requests of a limited kind (e.g. notice re-sends per case per hour); HTTP 429.

    ``retry_after_seconds``: when the caller may try again (an API sends it as ``Retry-After``).
    """

    status = 429

    def __init__(self, message: str, *, retry_after_seconds: int, **context: object) -> None:
        super().__init__(message, **context)  # type: ignore[arg-type]
        self.retry_after_seconds = retry_after_seconds


class IdempotencyKeyReused(FilingFlowError):
    """An idempotency key was used before for a different command."""


class StorageUnavailable(FilingFlowError):
    """The database failed during a command (connection lost, server gone, disk error).

    The command's transaction was rolled back, so nothing of it was written; retrying later
    is safe (with the same idempotency key, it is not done twice).
    """


class CalendarYearUnknown(FilingFlowError, LookupError):
    """The working-day calendar has no official arrangement for this year."""

    def __init__(self, year: int) -> None:
        super().__init__(
            f"no official PRC working-day arrangement is known for {year}; "
            "load it before computing deadlines in that year",
            field="date",
        )
        self.year = year


MAX_NESTING = 64


def reject_nul(value: object, field: str) -> None:
    """Refuse NUL characters anywhere in a structure: PostgreSQL text cannot store them.

    Checked at the engine's door so that a value accepted on SQLite is never refused later
    by PostgreSQL halfway through a command. Walked with an explicit stack, so any nesting
    is answered with an error naming the field, never a crash.
    """
    stack: list[tuple[object, str, int]] = [(value, field, 0)]
    while stack:
        item, where, depth = stack.pop()
        if depth > MAX_NESTING:
            raise InvalidInput(f"nested deeper than {MAX_NESTING} levels", field=where)
        if isinstance(item, str):
            if "\x00" in item:
                raise InvalidInput("text must not contain NUL characters", field=where)
        elif isinstance(item, dict):
            for key, inner in item.items():
                stack.append((key, where, depth + 1))
                stack.append((inner, f"{where}.{key}", depth + 1))
        elif isinstance(item, (list, tuple)):
            stack.extend((inner, f"{where}.{index}", depth + 1) for index, inner in enumerate(item))
