"""A device's unacknowledged reliable events (``docs/icd.md`` section 8.1): kept until the host sends
``ack_event`` with their seq, and resent every ``set_event_resend`` period (or at ``resend_events``)."""

from __future__ import annotations

import math
from collections import OrderedDict


class PendingEvents:
    """Reliable events sent and not yet acknowledged, oldest first, at most ``capacity`` of them.

    ``period_s`` is the resend period (0 = no automatic resend); times are world seconds.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.period_s = 0.0
        self.dropped = 0
        self._pending: OrderedDict[int, bytes] = OrderedDict()
        self._due = math.inf

    def add(self, seq: int, payload: bytes, now: float) -> None:
        """Keep event ``seq`` (its EVENT payload) until acknowledged; drops the oldest beyond capacity."""
        if not self._pending and self.period_s:
            self._due = now + self.period_s
        self._pending[seq] = payload
        while len(self._pending) > self.capacity:
            self._pending.popitem(last=False)
            self.dropped += 1

    def acknowledge(self, seq: int) -> None:
        """The host has event ``seq``: never resend it (an unknown seq is ignored)."""
        self._pending.pop(seq, None)
        if not self._pending:
            self._due = math.inf

    def set_period(self, period_s: float, now: float) -> None:
        """Resend every ``period_s`` seconds (0 stops automatic resending)."""
        self.period_s = period_s
        self._due = now + period_s if period_s and self._pending else math.inf

    @property
    def next_due(self) -> float:
        """World time of the next automatic resend, or ``inf``."""
        return self._due

    def take_due(self, now: float) -> list[tuple[int, bytes]]:
        """The events to resend now (all pending ones, when the period has elapsed), and re-arms the period."""
        if now + 1e-9 < self._due or not self._pending:
            return []
        self._due = now + self.period_s if self.period_s else math.inf
        return list(self._pending.items())

    def all(self) -> list[tuple[int, bytes]]:
        """Every pending event, oldest first."""
        return list(self._pending.items())

    def clear(self) -> None:
        """Forget every pending event."""
        self._pending.clear()
        self._due = math.inf
