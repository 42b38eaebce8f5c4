"""Events of one device: decoded EVENT messages and the host's own link events, kept as a short history
and handed to listeners.

Events are recorded as they are decoded (inside a transport read) and delivered later, from the
device's ``poll``, so that a listener may itself issue commands. Times are host clock seconds.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from hal.icd import DeviceSpec, EventId, Severity

_LOGGER = logging.getLogger(__name__)

#: Host events (not sent by the device) delivered to listeners alongside the device's own.
HOST_EVENTS = ("LINK_DOWN", "LINK_UP", "IDENTITY_CHANGED", "SETUP_FAILED")


@dataclass(frozen=True)
class DeviceEvent:
    """One event, decoded: from the device (``name`` is an :class:`~hal.icd.EventId` name) or from the
    host side of the link (``name`` among :data:`HOST_EVENTS`). ``t`` is host clock seconds."""

    t: float
    name: str
    severity: Severity
    code: int
    value: float
    text: str
    device: str = ""


EventListener = Callable[[DeviceEvent], None]


class EventQueue:
    """The latest ``history`` events of device ``device_name``, and those not yet given to listeners."""

    def __init__(self, device_name: str, history: int, lock: threading.RLock) -> None:
        self.device_name = device_name
        self.history: deque[DeviceEvent] = deque(maxlen=history)
        self.undelivered: list[DeviceEvent] = []
        self._listeners: list[EventListener] = []
        self._lock = lock

    def record(self, event: DeviceEvent) -> None:
        """Keep ``event`` in the history and for the next :meth:`deliver`, and log it unless a listener takes
        it (flight's rig re-issues every device event in its own event log, which logs it once)."""
        self.history.append(event)
        self.undelivered.append(event)
        if not self._listeners:
            log = _LOGGER.warning if event.severity >= Severity.WARNING else _LOGGER.info
            log("%s: %s: %s", self.device_name, event.name, event.text)

    def subscribe(self, callback: EventListener) -> None:
        """Call ``callback(event)`` for every event, from :meth:`deliver`."""
        self._listeners.append(callback)

    def deliver(self) -> None:
        """Hand every undelivered event to every listener, outside the device lock."""
        while self.undelivered:
            with self._lock:
                pending, self.undelivered = self.undelivered, []
            for event in pending:
                for callback in list(self._listeners):
                    try:
                        callback(event)
                    except Exception:  # a listener's bug must not stop the device
                        _LOGGER.exception("%s: event listener %r failed on %s", self.device_name, callback, event)


def event_name(event_id: int) -> str:
    """The ICD name of event ``event_id`` (``EVENT_0x..`` for one this host does not know)."""
    try:
        return EventId(event_id).name
    except ValueError:
        return f"EVENT_0x{event_id:02x}"


def event_severity(raw: int) -> Severity:
    """The severity a device reported as ``raw``; ERROR for a value the ICD does not define."""
    return Severity(raw) if raw in Severity._value2member_map_ else Severity.ERROR


def event_text(spec: DeviceSpec, event_id: int, code: int, value: float) -> str:
    """A line describing device event ``event_id`` with ``code`` and ``value`` (COMMAND_COMPLETE aside:
    the motion tracker words those)."""
    if event_id == EventId.FAULT_SET:
        fault = spec.faults[code] if code < len(spec.faults) else f"bit_{code}"
        return f"fault {fault} set (value {value:g})"
    if event_id == EventId.FAULT_CLEARED:
        return "faults cleared"
    if event_id == EventId.MODE_CHANGE:
        return f"mode {spec.mode_name(code)}"
    if event_id == EventId.DEADMAN_STOP:
        return f"dead-man stop after {value:g} ms without the host"
    if event_id == EventId.BOOT:
        return "device booted"
    return event_name(event_id).lower()


__all__ = ["HOST_EVENTS", "DeviceEvent", "EventListener", "EventQueue", "event_name", "event_severity", "event_text"]
