"""The notification side's errors, translated from third-party ones at the boundary.

DeliveryFailed            a channel could not deliver one message
    transient=True        retry later (connection refused, timeout, 5xx, 4xx SMTP)
    transient=False       retrying will not help (5xx SMTP, 4xx gateway, bad address,
                          missing template): the notice goes dead at once
"""

from __future__ import annotations


class DeliveryFailed(Exception):
    """One message could not be delivered; ``transient`` says whether a retry may help."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient

    def __repr__(self) -> str:
        return f"DeliveryFailed({str(self)!r}, transient={self.transient})"
