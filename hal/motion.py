"""Motions: commands that start something the device finishes later, and the COMMAND_COMPLETE events
that end them.

A :class:`Motion` is what a driver hands back for a motion command; the :class:`MotionTracker` its device
owns matches each COMMAND_COMPLETE to the motion it ends, including a completion that arrives before the
ACK of the command that started it. Times are host clock seconds.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any, Protocol

from base.clock import Clock
from hal.errors import CommandError, HalError, PortError, ResponseTimeout
from hal.icd import COMMON_COMMANDS, Command, Completion, DeviceSpec

_LOGGER = logging.getLogger(__name__)
#: Seconds a motion still waits for its completion after asking the device to resend its events.
RESEND_GRACE_S = 0.5
#: Common commands that never end a running motion (docs/icd.md section 8): every other command this host sends
#: (``stop``, and a device's own commands, which may replace its motion) makes a STOPPED completion its doing.
KEEPS_MOTIONS = frozenset(command.name for command in COMMON_COMMANDS) - {"stop"}


class MotionOwner(Protocol):
    """What a :class:`Motion` needs of the device that runs it (a :class:`~hal.device.Device`)."""

    name: str
    clock: Clock
    #: Seconds :meth:`Motion.wait` sleeps between polls.
    wait_slice_s: float

    def poll(self) -> None:
        """Read the port and deliver what arrived (completions included)."""

    def act(self, name: str, **args: Any) -> Any:
        """Send an immediate command and wait for its ACK."""


class Motion:
    """A motion the device has started; its COMMAND_COMPLETE event ends it."""

    def __init__(self, device: MotionOwner, command: Command, t_start: float) -> None:
        self.device = device
        self.command = command
        self.t_start = t_start
        self.t_end: float | None = None
        self.completion: Completion | None = None
        self._lost: str | None = None
        #: The host time-out for this motion's completion from the ICD (``timeout_s`` of the command in
        #: ``hal/icd.toml``, computed from the arguments), seconds; None where the definition gives none.
        self.icd_timeout_s: float | None = None
        #: True once this host sent what ends it (``stop``, or a newer motion command to the same device): its
        #: STOPPED completion is then what the host asked for, not news (:meth:`MotionTracker.on_complete`).
        self.stop_requested = False

    @property
    def name(self) -> str:
        """The command's name."""
        return self.command.name

    @property
    def done(self) -> bool:
        """True once the device reported the end of this motion."""
        return self.completion is not None

    @property
    def lost_reason(self) -> str | None:
        """Why the outcome became unknown (the link went down while it ran), or None."""
        return self._lost

    def complete(self, completion: Completion, t: float) -> None:
        """Record that the device ended this motion with ``completion`` at host clock ``t`` seconds."""
        self.completion, self.t_end = completion, t

    def lose(self, reason: str) -> None:
        """Record that this motion's outcome can no longer be known, and why."""
        self._lost = reason

    def wait(self, timeout_s: float | None = None) -> Completion:
        """Poll the device until this motion ends; returns how it ended.

        Raises :class:`~hal.errors.ResponseTimeout` when it has not ended after ``timeout_s`` seconds of
        clock time (default: the ICD's time-out for this motion, :attr:`icd_timeout_s`), and
        :class:`~hal.errors.PortError` when the link went down while it ran (its outcome is then unknown).
        At the time-out the device is asked once to resend its unacknowledged events (``resend_events``,
        docs/icd.md section 8.1) and given :data:`RESEND_GRACE_S` more for the completion to arrive.
        """
        if timeout_s is None:
            if self.icd_timeout_s is None:
                raise CommandError(f"{self.device.name}: {self.name} has no ICD time-out; pass timeout_s")
            timeout_s = self.icd_timeout_s
        device = self.device
        clock = device.clock
        deadline = clock.monotonic() + timeout_s
        asked = False
        while True:
            device.poll()
            if self.completion is not None:
                return self.completion
            if self._lost is not None:
                raise PortError(f"{device.name}: {self.name} outcome unknown: {self._lost}")
            now = clock.monotonic()
            if now >= deadline and not asked:
                asked, deadline = True, now + RESEND_GRACE_S
                try:
                    device.act("resend_events")  # a completion lost on the line comes again
                except HalError as exc:
                    _LOGGER.debug("%s: resend_events failed: %s", device.name, exc)
                continue
            if now >= deadline:
                raise ResponseTimeout(f"{device.name}: {self.name} did not complete within {timeout_s:g} s")
            clock.sleep(min(device.wait_slice_s, deadline - now))

    def __repr__(self) -> str:
        state = self.completion.name if self.completion is not None else ("lost" if self._lost else "running")
        return f"<Motion {self.device.name}.{self.name} {state}>"


class MotionTracker:
    """The motions one device runs, and the completions no running motion claimed yet.

    A completion can arrive while the command that starts its motion is still waiting for its ACK; it is
    kept (numbered) until :meth:`begin` claims it, so that the motion is not left waiting forever.
    """

    def __init__(self, owner: MotionOwner) -> None:
        self._owner = owner
        self._running: list[Motion] = []
        self._unclaimed: deque[tuple[int, int, Completion, float]] = deque(maxlen=16)
        self._serial = 0

    @property
    def running(self) -> tuple[Motion, ...]:
        """Motions started and not yet reported complete."""
        return tuple(self._running)

    @property
    def serial(self) -> int:
        """Events counted so far (:meth:`note_event`); pass it to :meth:`begin` as read before the request."""
        return self._serial

    def begin(self, command: Command, done_at_once: bool, serial_before: int, t_start: float) -> Motion:
        """The motion ``command`` started at ``t_start``; ``done_at_once`` when its ACK said DONE.

        A completion of the same command that arrived after ``serial_before`` ends it at once, unless it is
        the STOPPED of the motion this one replaced (the firmware ends the previous motion before it
        acknowledges the new one).
        """
        motion = Motion(self._owner, command, t_start)
        if done_at_once:
            motion.complete(Completion.OK, t_start)
            return motion
        for entry in list(self._unclaimed):
            serial, command_id, completion, t = entry
            if serial > serial_before and command_id == command.id and completion != Completion.STOPPED:
                self._unclaimed.remove(entry)
                motion.complete(completion, t)
                return motion
        self._running.append(motion)
        return motion

    def note_event(self) -> None:
        """Count one event from the device, before :meth:`on_complete` for a COMMAND_COMPLETE (completions are
        numbered by the events that brought them)."""
        self._serial += 1

    def sending(self, command: Command) -> None:
        """The host is about to send ``command``: unless it is one of :data:`KEEPS_MOTIONS`, it may end every
        running motion (``stop``, or a device command that replaces it), whose STOPPED is then the host's doing."""
        if command.name not in KEEPS_MOTIONS:
            for motion in self._running:
                motion.stop_requested = True

    def on_complete(self, spec: DeviceSpec, command_id: int, value: float, t: float) -> tuple[str, bool]:
        """A COMMAND_COMPLETE event of device ``spec`` for ``command_id`` with completion ``value`` arrived at
        clock ``t`` seconds: end the running motion of that command, or keep the completion for
        :meth:`begin`. Returns the event's text, and whether it is a STOPPED this host asked for (see
        :meth:`sending`; the device reports every completion but OK as a WARNING, docs/icd.md section 8)."""
        command = spec.command_by_id(command_id)
        command_name = command.name if command is not None else f"command 0x{command_id:02x}"
        try:
            completion = Completion(int(value))
        except (ValueError, OverflowError):
            return f"{command_name} ended with unknown completion {value!r}", False
        for motion in self._running:
            if motion.command.id == command_id:
                self._running.remove(motion)
                motion.complete(completion, t)
                if completion == Completion.STOPPED and motion.stop_requested:
                    return f"{command_name} completed STOPPED, as this host asked", True
                break
        else:
            self._unclaimed.append((self._serial, command_id, completion, t))
        return f"{command_name} completed {completion.name}", False

    def lose_all(self, reason: str) -> None:
        """Every running motion's outcome is unknown from now on (link down, reboot, port closed)."""
        running, self._running = self._running, []
        for motion in running:
            motion.lose(reason)


__all__ = ["Motion", "MotionOwner", "MotionTracker"]
