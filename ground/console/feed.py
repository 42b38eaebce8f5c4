"""The bridge between the ground core (called on the link's thread) and the pages (NiceGUI's event loop).

The core calls back on whatever thread services the link; pages must touch their elements on the event
loop. So the feed only records: telemetry samples go into one bounded ring per channel with a running
count (a page keeps a cursor per channel and takes what is new since its cursor), and every other kind
of change bumps a revision counter that pages poll to decide whether to redraw. Nothing here blocks for
longer than a list append.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from itertools import islice
from typing import Any

#: Samples kept per channel for plots that join late or resume after a pause.
DEFAULT_CAPACITY = 4000

Sample = tuple[float, Any]


class _Ring:
    """The last ``capacity`` samples of one channel and how many were ever added."""

    __slots__ = ("count", "points")

    def __init__(self, capacity: int) -> None:
        self.points: deque[Sample] = deque(maxlen=capacity)
        self.count = 0


class TelemetryFeed:
    """Recent samples of every channel, safe to fill from one thread and read from another."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"feed capacity must be >= 1 sample per channel, got {capacity!r}")
        self._capacity = capacity
        self._rings: dict[str, _Ring] = {}
        self._lock = threading.Lock()
        self.total = 0
        self._revisions: dict[str, int] = {}

    # ------------------------------------------------------------------------------------ writers
    def add(self, samples: Iterable[tuple[str, float, Any]]) -> None:
        """Record samples ``(channel, t epoch s, value)``."""
        with self._lock:
            rings = self._rings
            added = 0
            for channel, t, value in samples:
                ring = rings.get(channel)
                if ring is None:
                    ring = rings[channel] = _Ring(self._capacity)
                ring.points.append((t, value))
                ring.count += 1
                added += 1
            self.total += added

    def bump(self, kind: str) -> None:
        """Note that something of ``kind`` (event, command, alarm, link, dictionary) changed."""
        with self._lock:
            self._revisions[kind] = self._revisions.get(kind, 0) + 1

    # ------------------------------------------------------------------------------------ readers
    def revision(self, kind: str) -> int:
        """How many changes of ``kind`` were noted so far."""
        return self._revisions.get(kind, 0)

    def cursor(self, channel: str) -> int:
        """The current count of ``channel``: a cursor that :meth:`since` answers with nothing new."""
        ring = self._rings.get(channel)
        return 0 if ring is None else ring.count

    def since(self, channel: str, cursor: int) -> tuple[list[Sample], int]:
        """Samples of ``channel`` added after ``cursor`` (those still held) and the new cursor."""
        with self._lock:
            ring = self._rings.get(channel)
            if ring is None or ring.count <= cursor:
                return [], cursor if ring is None else ring.count
            new = min(ring.count - cursor, len(ring.points))
            points = list(islice(reversed(ring.points), new))
            points.reverse()
            return points, ring.count

    def recent(self, channel: str, seconds: float) -> tuple[list[Sample], int]:
        """Samples of ``channel`` in the last ``seconds`` before its newest one, and the cursor after them."""
        with self._lock:
            ring = self._rings.get(channel)
            if ring is None or not ring.points:
                return [], 0 if ring is None else ring.count
            newest = ring.points[-1][0]
            points = [p for p in ring.points if p[0] >= newest - seconds]
            return points, ring.count

    def channels(self) -> list[str]:
        """Channels seen so far, sorted."""
        return sorted(self._rings)

    def oldest(self, channels: list[str], default: float) -> float:
        """The time of the oldest sample held of any of ``channels`` (``default`` when none is held)."""
        with self._lock:
            times = [self._rings[c].points[0][0] for c in channels if c in self._rings and self._rings[c].points]
        return min(times, default=default)
