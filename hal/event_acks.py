"""The host's side of reliable events (``docs/icd.md`` section 8.1): which EVENT frames are new, and which
must be acknowledged with ``ack_event``.

A device numbers its events with the EVENT header seq and resends a reliable event (DEADMAN_STOP,
COMMAND_COMPLETE, FAULT_SET) with the RETRY flag, same seq and payload, until the host acknowledges it. A
frame without RETRY is always new; one with RETRY is new only if its seq has not been seen (the original was
lost). Every reliable event received, new or repeated, is acknowledged again (the previous ack may be the
one that was lost).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from base.clock import Clock
from hal.device_events import DeviceEvent, EventQueue, event_name, event_severity, event_text
from hal.errors import DeviceNack, PayloadError, PortError, ResponseTimeout
from hal.icd import EVENT_LAYOUT, RELIABLE_EVENTS, DeviceSpec, EventId, Severity
from hal.link_supervision import LinkSupervisor
from hal.motion import MotionTracker
from hal.protocol import Flags, Frame
from hal.telemetry import ReportedStatus

_LOGGER = logging.getLogger(__name__)

_RETRY = int(Flags.RETRY)


class EventAcks:
    """Duplicate filter and acknowledgement queue for one device's events.

    ``window`` is how many recent event seqs are remembered to recognise a resend.
    """

    def __init__(self, window: int = 64) -> None:
        self._seen: deque[int] = deque(maxlen=window)
        self._seen_set: set[int] = set()
        #: Seqs of reliable events received and not yet acknowledged, oldest first.
        self.pending: list[int] = []
        self.duplicates = 0

    def accept(self, seq: int, flags: int, event_id: int) -> bool:
        """Note an EVENT frame; True if it is new (to be recorded), False for a resend already seen."""
        if event_id in RELIABLE_EVENTS and seq not in self.pending:
            self.pending.append(seq)
        if flags & _RETRY and seq in self._seen_set:
            self.duplicates += 1
            return False
        if len(self._seen) == self._seen.maxlen:
            self._seen_set.discard(self._seen[0])
        self._seen.append(seq)
        self._seen_set.add(seq)
        return True

    def take(self) -> list[int]:
        """The seqs to acknowledge now (the queue is emptied)."""
        pending, self.pending = self.pending, []
        return pending

    def forget(self) -> None:
        """Forget seen seqs and pending acks (the device rebooted: its event numbering restarts)."""
        self._seen.clear()
        self._seen_set.clear()
        self.pending.clear()


class EventIntake:
    """Applies one device's EVENT frames: drops repeats, records the event (``events``), ends motions
    (``motions``), updates the reported state (``reported``) and notes a reboot (``link``); queues the
    acknowledgements :meth:`acknowledge` sends."""

    def __init__(
        self,
        spec: DeviceSpec,
        name: str,
        clock: Clock,
        motions: MotionTracker,
        reported: ReportedStatus,
        link: LinkSupervisor,
        events: EventQueue,
    ) -> None:
        self.spec, self.name, self.clock = spec, name, clock
        self._motions, self._reported, self._link, self._events = motions, reported, link, events
        self.acks = EventAcks()

    def on_frame(self, frame: Frame) -> None:
        """An EVENT frame from the device (:class:`PayloadError` when its payload is malformed)."""
        values = EVENT_LAYOUT.unpack(frame.payload)
        if self.acks.accept(frame.seq, frame.flags, values["event"]):
            self.apply(values)

    def apply(self, values: dict[str, Any]) -> None:
        """Record a device event and apply what it says about the device's state."""
        event_id, code, value = values["event"], values["code"], values["value"]
        t = self.clock.monotonic()
        self._motions.note_event()
        asked_for = False
        if event_id == EventId.COMMAND_COMPLETE:
            text, asked_for = self._motions.on_complete(self.spec, code, value, t)
        else:
            text = event_text(self.spec, event_id, code, value)
        if event_id == EventId.FAULT_SET:
            self._reported.fault_set(code)
        elif event_id == EventId.MODE_CHANGE:
            self._reported.mode = code
        elif event_id == EventId.BOOT:
            self.acks.forget()  # the device numbers its events from the start again
            if self._link.link_up:
                # A reboot loses the dead-man and telemetry settings: configure again at the next poll.
                self._link.rebooted()
                self._motions.lose_all("the device rebooted")
        # A motion this host stopped (or replaced) ending STOPPED is what it asked for: information, not a warning.
        severity = Severity.INFO if asked_for else event_severity(values["severity"])
        self._events.record(DeviceEvent(t, event_name(event_id), severity, code, value, text, self.name))

    def acknowledge(self, send: Callable[[int], object]) -> None:
        """``send(seq)`` an ``ack_event`` for every reliable event received since the last call. A lost ack
        costs nothing: the device resends the event, which is recognised as a repeat and acknowledged
        again. :class:`PortError` from ``send`` propagates (the rest wait for the next call)."""
        pending = self.acks.take()
        for i, seq in enumerate(pending):
            try:
                send(seq)
            except (ResponseTimeout, PayloadError, DeviceNack):
                _LOGGER.debug("%s: ack_event %d unanswered; the device resends the event", self.name, seq)
            except PortError:
                self.acks.pending[:0] = pending[i:]
                raise
