"""Events reporting refused or malformed link traffic, rate-limited so a flood cannot flood the event log:
at most one per kind every :data:`REPORT_INTERVAL_S` clock seconds, naming how many were suppressed (the
link's counters keep every one)."""

from __future__ import annotations

import math
from typing import Any

from base.clock import Clock

__all__ = ["REPORT_INTERVAL_S", "TrafficReports"]

SOURCE = "link"
#: Seconds between two events reporting malformed or refused traffic (the counts keep every one).
REPORT_INTERVAL_S = 1.0


class TrafficReports:
    """Warning events for kinds of refused traffic (``malformed``, ``unauthenticated``, ``replay``, ``forbidden``),
    each carrying its count from ``stats``."""

    def __init__(self, clock: Clock, events: Any, stats: dict[str, int]) -> None:
        self.clock = clock
        self.events = events
        self.stats = stats
        self._reported: dict[str, tuple[float, int]] = {}

    def report(self, kind: str, message: str) -> None:
        """An event for ``kind``, at most one per REPORT_INTERVAL_S (with the count since the last one)."""
        now = self.clock.monotonic()
        last, suppressed = self._reported.get(kind, (-math.inf, 0))
        if now - last < REPORT_INTERVAL_S:
            self._reported[kind] = (last, suppressed + 1)
            return
        self._reported[kind] = (now, 0)
        suffix = f" ({suppressed} more since the last report)" if suppressed else ""
        self.events.warning(SOURCE, kind, message + suffix, count=self.stats.get(kind + "s", self.stats.get(kind, 0)))
