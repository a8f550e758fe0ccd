"""The notification side's errors, translated from third-party ones at the boundary.

DeliveryFailed            a channel could not deliver one message
    transient=True        retry later (timeout, 5xx/408/429 gateway, 4xx SMTP incl. greylisting)
    transient=False       retrying will not help (5xx SMTP, other 4xx gateway, bad address,
                          missing template): the notice goes dead at once
    ChannelDown           the channel itself is unreachable (connection refused or dropped):
                          always transient, and the dispatcher puts the rest of the batch for
                          that channel back unattempted instead of failing each one in turn
"""

from __future__ import annotations


class DeliveryFailed(Exception):
    """One message could not be delivered; ``transient`` says whether a retry may help."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r}, transient={self.transient})"


class ChannelDown(DeliveryFailed):
    """The server behind a channel cannot be reached: no message of this batch will get through."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=True)
