"""The alarm board: limit alarms from the dictionary's channel limits, and alarms raised by severe events.

Bands (inclusive bounds of the normal band, as flight's ``ChannelSpec`` defines them): a value outside
``warn_low..warn_high`` is a *warning* (yellow); outside ``alarm_low..alarm_high`` an *alarm* (red).

Latching: an alarm appears when its value enters a worse band and stays on the board, unacknowledged, even
if the value returns to normal, until an operator acknowledges it with a comment (who and when are kept).
An acknowledged alarm leaves the board once its value is normal again; entering a worse band again raises
it anew. An error or critical event raises a warning or an alarm that leaves the board when acknowledged.
Shelving hides an alarm (or a noisy channel, before it alarms) for a number of clock seconds; it still
tracks its value and is shown again when the shelf time runs out. A shelf's end is wall (epoch) time, so a
hub that persists its shelves (:mod:`ground.hub_state`) can put them back after a restart.

Subscribers get a snapshot :class:`Alarm` whenever an alarm's level, latch, acknowledgement or shelving
changes (not on every sample).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from base.clock import Clock
from ground.errors import UnknownAlarm, ValidationError

_LOGGER = logging.getLogger(__name__)

LEVELS = ("ok", "warning", "alarm")
#: Event severities that raise an alarm and the level each raises.
EVENT_LEVELS = {"error": 1, "critical": 2}
#: Longest shelving allowed (s): a day; shelving is for the length of an activity, not for good.
MAX_SHELVE_S = 86_400.0

Guard = Callable[[str], None]
Listener = Callable[["Alarm"], None]


@dataclass
class Alarm:
    """One alarm as the board shows it. Times ``t``/``ack_t`` and ``shelved_until`` (None when not shelved)
    are epoch seconds."""

    name: str
    kind: str  # "limit" or "event"
    level: str = "ok"  # live level of the value: ok / warning / alarm
    latched: str = "ok"  # the level that raised the alarm (highest unacknowledged)
    acked: bool = False
    value: Any = None  # latest value (limit alarms) or the event message
    t: float = 0.0  # when the latest value / event came
    limit: str = ""  # the violated limit, e.g. "alarm_high 900 K"
    limit_value: float | None = None
    latched_value: Any = None  # the value when the alarm latched
    latched_t: float = 0.0
    unit: str = ""
    message: str = ""
    count: int = 0  # times it entered a worse band (or the event came)
    ack_by: str = ""
    ack_comment: str = ""
    ack_t: float | None = None
    shelved_until: float | None = None

    @property
    def shelved(self) -> bool:
        """True while shelved (as of the snapshot)."""
        return self.shelved_until is not None

    @property
    def active(self) -> bool:
        """True while the value is outside its normal band."""
        return self.level != "ok"

    def as_dict(self) -> dict[str, Any]:
        """Plain data for tables and JSON."""
        data = dataclasses.asdict(self)
        data["shelved"] = self.shelved
        return data


@dataclass(frozen=True)
class _Limits:
    warn_low: float | None
    warn_high: float | None
    alarm_low: float | None
    alarm_high: float | None
    unit: str

    def classify(self, value: float) -> tuple[int, str, float | None]:
        """(level, violated limit name, its value) of ``value``."""
        if self.alarm_low is not None and value < self.alarm_low:
            return 2, "alarm_low", self.alarm_low
        if self.alarm_high is not None and value > self.alarm_high:
            return 2, "alarm_high", self.alarm_high
        if self.warn_low is not None and value < self.warn_low:
            return 1, "warn_low", self.warn_low
        if self.warn_high is not None and value > self.warn_high:
            return 1, "warn_high", self.warn_high
        return 0, "", None


class AlarmBoard:
    """Limit and event alarms. Thread-safe; ``guard(action)`` (if given) is called before an operator
    action (acknowledge, shelve) and raises to refuse it (e.g. :class:`~ground.errors.Forbidden`)."""

    def __init__(self, clock: Clock, *, guard: Guard | None = None, who: Callable[[], str] | None = None) -> None:
        self.clock = clock
        self._guard = guard
        self._who = who or (lambda: "operator")
        self._lock = threading.RLock()
        self._limits: dict[str, _Limits] = {}
        self._alarms: dict[str, Alarm] = {}
        self._shelves: dict[str, float] = {}
        self._listeners: list[Listener] = []

    # ------------------------------------------------------------------------------------ setup
    def configure(self, channels: Iterable[dict[str, Any]]) -> int:
        """Take limits from dictionary channel entries; returns how many channels have limits."""
        limits: dict[str, _Limits] = {}
        for entry in channels:
            bounds = [entry.get(k) for k in ("warn_low", "warn_high", "alarm_low", "alarm_high")]
            if all(b is None for b in bounds):
                continue
            if not all(b is None or (isinstance(b, int | float) and not isinstance(b, bool)) for b in bounds):
                _LOGGER.warning("channel %s: non-numeric limits %r ignored", entry.get("name"), bounds)
                continue
            warn_low, warn_high, alarm_low, alarm_high = bounds
            limits[str(entry["name"])] = _Limits(
                warn_low, warn_high, alarm_low, alarm_high, unit=str(entry.get("unit") or "")
            )
        with self._lock:
            self._limits = limits
        return len(limits)

    def limited_channels(self) -> list[str]:
        """Channels that have limits, sorted."""
        with self._lock:
            return sorted(self._limits)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(alarm snapshot)`` on every change; returns an unsubscribe function."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    # ------------------------------------------------------------------------------------ input
    def update(self, samples: Iterable[tuple[str, float, Any]]) -> None:
        """Check ``(channel, t, value)`` samples against their limits."""
        limits = self._limits
        if not limits:
            return
        changed = []
        with self._lock:
            for channel, t, value in samples:
                spec = limits.get(channel)
                if spec is None or isinstance(value, bool) or not isinstance(value, int | float):
                    continue
                if not math.isfinite(value):
                    continue
                alarm = self._check(channel, spec, value, t)
                if alarm is not None:
                    changed.append(alarm)
        self._notify(changed)

    def _check(self, channel: str, spec: _Limits, value: float, t: float) -> Alarm | None:
        level, limit, limit_value = spec.classify(value)
        alarm = self._alarms.get(channel)
        if alarm is None:
            if level == 0:
                return None
            alarm = self._alarms[channel] = Alarm(channel, "limit", unit=spec.unit)
        before = _state(alarm, self._shelf(channel))
        previous = LEVELS.index(alarm.level)
        alarm.level = LEVELS[level]
        alarm.value = value
        alarm.t = t
        if level > previous:  # entered a worse band: (re)latch unacknowledged
            if alarm.acked or level > LEVELS.index(alarm.latched):
                alarm.latched = LEVELS[level]
                alarm.latched_value = value
                alarm.latched_t = t
                alarm.limit = f"{limit} {limit_value:g}{' ' + spec.unit if spec.unit else ''}"
                alarm.limit_value = limit_value
            alarm.acked = False
            alarm.count += 1
        if level == 0 and alarm.acked:
            del self._alarms[channel]
            alarm.latched = "ok"
        return self._changed(alarm, before)

    def event(self, event: dict[str, Any]) -> None:
        """Raise an alarm for an error or critical event (``Event.as_dict()`` shape)."""
        level = EVENT_LEVELS.get(str(event.get("severity", "")))
        if level is None:
            return
        name = f"event:{event.get('source', '')}.{event.get('name', '')}"
        with self._lock:
            alarm = self._alarms.get(name)
            if alarm is None:
                alarm = self._alarms[name] = Alarm(name, "event")
            before = _state(alarm, self._shelf(name))
            if alarm.acked or level > LEVELS.index(alarm.latched):
                alarm.latched = LEVELS[level]
                alarm.latched_value = event.get("message", "")
                alarm.latched_t = _float(event.get("t"))
            alarm.acked = False
            alarm.value = event.get("message", "")
            alarm.message = str(event.get("message", ""))
            alarm.t = _float(event.get("t"))
            alarm.limit = f"severity {event.get('severity')}"
            alarm.count += 1
            changed = self._changed(alarm, before, always=True)
        self._notify([changed] if changed else [])

    # ---------------------------------------------------------------------------- operator actions
    def ack(self, name: str, comment: str, who: str | None = None) -> Alarm:
        """Acknowledge alarm ``name`` with ``comment`` (required); returns its state after. An alarm whose
        value is normal leaves the board."""
        if self._guard is not None:
            self._guard(f"acknowledge alarm {name}")
        if not isinstance(comment, str) or not comment.strip():
            raise ValidationError("ack", "comment", "a comment saying what was done about the alarm", repr(comment))
        with self._lock:
            alarm = self._alarms.get(name)
            if alarm is None:
                raise UnknownAlarm(f"no alarm {name!r} on the board; on it: {sorted(self._alarms) or 'none'}")
            before = _state(alarm, self._shelf(name))
            alarm.acked = True
            alarm.ack_by = who or self._who()
            alarm.ack_comment = comment.strip()
            alarm.ack_t = self.clock.now()
            if alarm.level == "ok":
                del self._alarms[name]
                alarm.latched = "ok"
            _LOGGER.info("alarm %s acknowledged by %s: %s", name, alarm.ack_by, alarm.ack_comment)
            changed = self._changed(alarm, before, always=True)
        self._notify([changed] if changed else [])
        return dataclasses.replace(alarm)

    def shelve(self, name: str, seconds: float, who: str | None = None) -> None:
        """Hide alarm ``name`` (or a channel with limits) for ``seconds`` of clock time (0 < s <= a day)."""
        if self._guard is not None:
            self._guard(f"shelve alarm {name}")
        if not (isinstance(seconds, int | float) and not isinstance(seconds, bool) and 0 < seconds <= MAX_SHELVE_S):
            expected = f"a duration in seconds, 0 < s <= {MAX_SHELVE_S:g}"
            raise ValidationError("shelve", "seconds", expected, repr(seconds))
        with self._lock:
            if name not in self._alarms and name not in self._limits:
                now = sorted(self._alarms) or "none"
                raise UnknownAlarm(f"no alarm or channel with limits called {name!r}; alarms now: {now}")
            alarm = self._alarms.get(name)
            before = _state(alarm, self._shelf(name)) if alarm else None
            self._shelves[name] = self.clock.now() + float(seconds)
            _LOGGER.info("alarm %s shelved for %g s by %s", name, seconds, who or self._who())
            changed = self._changed(alarm, before) if alarm else None
        self._notify([changed] if changed else [])

    def unshelve(self, name: str) -> None:
        """Show a shelved alarm again at once."""
        if self._guard is not None:
            self._guard(f"unshelve alarm {name}")
        with self._lock:
            alarm = self._alarms.get(name)
            before = _state(alarm, self._shelf(name)) if alarm else None
            self._shelves.pop(name, None)
            changed = self._changed(alarm, before) if alarm else None
        self._notify([changed] if changed else [])

    # ------------------------------------------------------------------------------------ reading
    def alarms(self, *, include_shelved: bool = True) -> list[Alarm]:
        """Snapshots of every alarm on the board (unacknowledged first, then by name)."""
        self.expire_shelves()
        with self._lock:
            items = [self._snapshot(a) for a in self._alarms.values()]
        if not include_shelved:
            items = [a for a in items if not a.shelved]
        return sorted(items, key=lambda a: (a.acked, -LEVELS.index(a.latched), a.name))

    def unacknowledged(self) -> list[Alarm]:
        """Alarms waiting for an acknowledgement and not shelved."""
        return [a for a in self.alarms(include_shelved=False) if not a.acked]

    def get(self, name: str) -> Alarm | None:
        """A snapshot of alarm ``name`` (None if not on the board)."""
        self.expire_shelves()
        with self._lock:
            alarm = self._alarms.get(name)
            return None if alarm is None else self._snapshot(alarm)

    def level_of(self, channel: str, value: Any) -> str:
        """The band ``value`` of ``channel`` falls in (ok / warning / alarm), for colouring tables."""
        spec = self._limits.get(channel)
        if spec is None or isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return "ok"
        return LEVELS[spec.classify(value)[0]]

    def expire_shelves(self) -> list[str]:
        """Return alarms whose shelf time has run out to the board (and tell subscribers); returns the names
        whose shelf ended."""
        now = self.clock.now()
        changed, ended = [], []
        with self._lock:
            for name, until in list(self._shelves.items()):
                if until <= now:
                    del self._shelves[name]
                    ended.append(name)
                    if name in self._alarms:
                        changed.append(self._snapshot(self._alarms[name]))
        self._notify(changed)
        return ended

    def shelves(self) -> dict[str, float]:
        """Every shelf in force: name → its end (epoch s)."""
        self.expire_shelves()
        with self._lock:
            return dict(self._shelves)

    def put_shelf(self, name: str, until: float) -> None:
        """Put back a shelf ending at ``until`` (epoch s) that a previous run of this hub made (no guard: it
        was checked when it was made)."""
        with self._lock:
            self._shelves[str(name)] = float(until)

    # ----------------------------------------------------------------------------------- helpers
    def _shelf(self, name: str) -> float | None:
        until = self._shelves.get(name)
        return None if until is None or until <= self.clock.now() else until

    def _snapshot(self, alarm: Alarm) -> Alarm:
        return dataclasses.replace(alarm, shelved_until=self._shelf(alarm.name))

    def _changed(self, alarm: Alarm, before: tuple[Any, ...] | None, *, always: bool = False) -> Alarm | None:
        shelf = self._shelf(alarm.name)
        if not always and before == _state(alarm, shelf):
            return None
        if shelf is not None and before is not None and before[3] is not None and not always:
            return None  # shelved: changes are not announced until the shelf ends
        return self._snapshot(alarm)

    def _notify(self, alarms: list[Alarm]) -> None:
        if not alarms:
            return
        with self._lock:
            listeners = list(self._listeners)
        for alarm in alarms:
            for listener in listeners:
                try:
                    listener(alarm)
                except Exception:
                    _LOGGER.exception("alarm listener %r failed", listener)


def _state(alarm: Alarm, shelf: float | None) -> tuple[Any, ...]:
    return (alarm.level, alarm.latched, alarm.acked, shelf)


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
