"""Light-time: a delay line per direction, so operations rehearse the Moon's ~1.3 s or an asteroid's minutes.

The side configured with a light time ``light_time_s`` (one way, seconds) holds every message it sends
for that long before it goes out, and every message it receives for that long before it is handled:
each direction is delayed by the one-way time. Configure it on one side only (flight's ``--light-time``
or the client's ``light_time_s``); the welcome message tells ground flight's value, so both sides time
loss of signal with the round trip included (:func:`los_timeout_s`). Times are clock monotonic seconds.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = ["DelayLine", "los_timeout_s"]


def los_timeout_s(heartbeat_s: float, los_missed: int, light_time_s: float) -> float:
    """Silence after which loss of signal is declared: ``los_missed`` heartbeats plus the round-trip light time."""
    return heartbeat_s * los_missed + 2.0 * light_time_s


class DelayLine(Generic[T]):
    """Items come out ``delay_s`` clock seconds after they went in, in order (constant delay keeps order)."""

    def __init__(self, delay_s: float) -> None:
        if not delay_s >= 0:
            raise ValueError(f"light time must be >= 0 s, got {delay_s!r}")
        self.delay_s = float(delay_s)
        self._items: deque[tuple[float, T]] = deque()

    def __len__(self) -> int:
        return len(self._items)

    def push(self, item: T, now: float) -> None:
        """Hold ``item`` until ``now + delay_s``."""
        self._items.append((now + self.delay_s, item))

    def due(self, now: float) -> list[T]:
        """Every item whose time has come, oldest first."""
        items = self._items
        out: list[T] = []
        while items and items[0][0] <= now:
            out.append(items.popleft()[1])
        return out

    def next_due(self) -> float | None:
        """Clock time the oldest held item falls due (None if empty)."""
        return self._items[0][0] if self._items else None

    def clear(self) -> None:
        """Drop every held item (the link is being closed)."""
        self._items.clear()
