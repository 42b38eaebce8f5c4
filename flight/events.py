"""Flight events: everything that happens that an operator should be able to see later.

Every event has a sequence number (never reused within a store), a time (from the clock), a severity,
a source, a name and a message (the record :data:`link.schema.EVENT_FIELDS` describes; severities are
:class:`link.schema.Severity`). Listeners (the spool, the logger, tests) subscribe.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from base.clock import Clock
from link.schema import Severity

__all__ = ["Event", "EventListener", "EventLog", "Severity"]

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """One flight event. ``t`` is clock seconds since the Unix epoch."""

    seq: int
    t: float
    severity: Severity
    source: str
    name: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A plain dict for the link and for JSON."""
        return {
            "seq": self.seq,
            "t": self.t,
            "severity": self.severity.name.lower(),
            "source": self.source,
            "name": self.name,
            "message": self.message,
            "data": self.data,
        }


EventListener = Callable[[Event], None]


class EventLog:
    """Issues events, keeps the recent ones and counts them by severity."""

    def __init__(self, clock: Clock, *, keep: int = 1000, first_seq: int = 1) -> None:
        self.clock = clock
        self.recent: deque[Event] = deque(maxlen=keep)
        self.counts: Counter[str] = Counter()
        self._listeners: list[EventListener] = []
        self._next_seq = first_seq

    def subscribe(self, listener: EventListener) -> None:
        """Call ``listener(event)`` for every event from now on."""
        self._listeners.append(listener)

    def emit(self, severity: Severity, source: str, name: str, message: str, **data: Any) -> Event:
        """Issue an event and return it."""
        event = Event(self._next_seq, self.clock.now(), severity, source, name, message, data)
        self._next_seq += 1
        self.recent.append(event)
        self.counts[severity.name.lower()] += 1
        _LOGGER.log(_LOG_LEVELS[severity], "[%s] %s: %s", source, name, message)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                _LOGGER.exception("event listener %r failed", listener)
        return event

    def info(self, source: str, name: str, message: str, **data: Any) -> Event:
        """Issue an INFO event."""
        return self.emit(Severity.INFO, source, name, message, **data)

    def warning(self, source: str, name: str, message: str, **data: Any) -> Event:
        """Issue a WARNING event."""
        return self.emit(Severity.WARNING, source, name, message, **data)

    def error(self, source: str, name: str, message: str, **data: Any) -> Event:
        """Issue an ERROR event."""
        return self.emit(Severity.ERROR, source, name, message, **data)

    def critical(self, source: str, name: str, message: str, **data: Any) -> Event:
        """Issue a CRITICAL event."""
        return self.emit(Severity.CRITICAL, source, name, message, **data)

    @property
    def next_seq(self) -> int:
        """The sequence number the next event will get."""
        return self._next_seq


_LOG_LEVELS = {
    Severity.DEBUG: logging.DEBUG,
    Severity.INFO: logging.INFO,
    Severity.WARNING: logging.WARNING,
    Severity.ERROR: logging.ERROR,
    Severity.CRITICAL: logging.CRITICAL,
}
