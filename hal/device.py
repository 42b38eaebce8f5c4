"""The host side of one device: identify, configure, command, telemetry, events, motions and dead-man.

A :class:`Device` owns one :class:`~hal.transport.Transport` and speaks the ICD common to every device
(``docs/icd.md``); each driver in :mod:`hal.devices` adds its typed commands, its telemetry dataclass and
the configuration limits it understands. Everything is checked on the host before a byte is sent
(:mod:`hal.arguments`): command names, argument types, the ICD's firmware ranges and the configured
operating limits (:mod:`hal.limits`).

The device has no thread of its own. Its owner (the flight executive) calls :meth:`Device.poll` every
tick: that reads the port, keeps the latest telemetry (:mod:`hal.telemetry`), decodes events and hands
them to listeners (:mod:`hal.device_events`), ends motions (:mod:`hal.motion`), re-identifies the device
after a reconnect, and sends a HEARTBEAT whenever nothing else was sent for a quarter of the dead-man
timeout (:mod:`hal.link_supervision`; so an idle host never trips the device's dead-man, and a host that
stops calling ``poll`` does). Listeners are called from ``poll`` only, never from inside a transport
read, so a listener may itself issue commands.

All durations are seconds of the device's :class:`~base.clock.Clock`.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

from base.clock import Clock
from base.config_loader import ConfigError
from hal.arguments import validate_command
from hal.device_events import DeviceEvent, EventListener, EventQueue
from hal.errors import CommandError, DeviceFault, DeviceMismatch, DeviceNack, PayloadError, PortError, ResponseTimeout
from hal.event_acks import EventIntake
from hal.icd import HEARTBEAT_REQUEST_LAYOUT, Command, DeviceSpec, DeviceState, Severity
from hal.identity import Identity, failed_checks, identity_from_reply, identity_text
from hal.limits import Limit, LimitViolation, OperatingLimits
from hal.link_supervision import LinkSupervisor
from hal.motion import Motion, MotionTracker
from hal.protocol import AckResult, Frame, MsgType
from hal.replies import command_reply, heartbeat_reply
from hal.retiming import retime
from hal.telemetry import ReportedStatus, TelemetryBase
from hal.transport import BROADCAST_ADDRESS, Transport

_LOGGER = logging.getLogger(__name__)

TT = TypeVar("TT", bound=TelemetryBase)


class Device(Generic[TT]):
    """One device on one transport. Subclasses (``class Drill(Device[DrillTelemetry])``) set
    :attr:`spec`, :attr:`telemetry_class` and :attr:`LIMITS`, and add typed command methods.

    ``limits`` maps limit names (see :attr:`LIMITS`) to values in the limit's unit;
    ``telemetry_period_s`` (0 = no streaming) and ``deadman_s`` are written to the device at connect;
    ``silence_timeout_s`` is how long a streaming device may stay silent before :attr:`stale`;
    ``event_resend_s`` is the period the device resends an unacknowledged reliable event at (0 = never).
    """

    spec: ClassVar[DeviceSpec]
    telemetry_class: ClassVar[type[TelemetryBase]] = TelemetryBase
    LIMITS: ClassVar[tuple[Limit, ...]] = ()

    def __init__(
        self,
        transport: Transport,
        clock: Clock,
        *,
        limits: Mapping[str, float] | None = None,
        telemetry_period_s: float = 0.1,
        deadman_s: float = 1.0,
        silence_timeout_s: float = 0.5,
        name: str | None = None,
        event_history: int = 256,
        event_resend_s: float = 0.25,
    ) -> None:
        self.name = name or self.spec.name
        self._lock = threading.RLock()
        self.transport = transport
        self.clock = clock
        self.telemetry_period_s = _check_period(self.name, telemetry_period_s)
        self.deadman_s = _check_deadman(self.name, deadman_s)
        self.silence_timeout_s = self.base_silence_s = silence_timeout_s
        self.event_resend_s = event_resend_s
        self._limits = OperatingLimits(self.name, self.LIMITS, limits or {})
        self.limits: dict[str, float] = self._limits.values  #: Configured limits by name, in their units.
        self.wait_slice_s = 0.01  #: Seconds :meth:`Motion.wait` sleeps between polls.
        self.identity: Identity | None = None
        self._events = EventQueue(self.name, event_history, self._lock)
        self.events: deque[DeviceEvent] = self._events.history  #: The latest events, oldest first.
        self.telemetry_count = 0
        self.bad_frames = 0
        self.setups = 0
        self._reported = ReportedStatus(self.telemetry_class, self.spec)
        self._opened = self._self_tested = False
        self._link = LinkSupervisor(self.deadman_s)
        self._motions = MotionTracker(self)
        self._intake = EventIntake(self.spec, self.name, clock, self._motions, self._reported, self._link, self._events)
        #: Which events are new and which need an ``ack_event`` (docs/icd.md section 8.1).
        self.event_acks = self._intake.acks
        transport.subscribe(self._on_frame, {MsgType.TELEMETRY, MsgType.EVENT})
        transport.on_link_change(self._on_link_change)

    # ------------------------------------------------------------------------------- limits
    @classmethod
    def limit_names(cls) -> tuple[str, ...]:
        """Names of the limits this driver understands."""
        return tuple(limit.name for limit in cls.LIMITS)

    def limit_violations(self) -> list[LimitViolation]:
        """Configured telemetry limits the latest snapshot is beyond (empty without telemetry)."""
        return self._limits.violations(self._reported.snapshot)

    # ---------------------------------------------------------------------------------- life
    def connect(self) -> Identity:
        """Open the port, identify the device, run its self-test and configure it.

        Raises :class:`PortError`/:class:`ResponseTimeout` for link problems, :class:`DeviceMismatch` when
        another device type (or protocol version) answers, :class:`DeviceFault` when the self-test fails.
        """
        with self._lock:
            self._opened = True
            self._link.connecting()
            try:
                self.transport.open()
                self._drain_link_changes()
                identity = self._identify()
                self._check_self_test()
                self._configure()
            except (PortError, ResponseTimeout) as exc:
                # Keep trying from poll(): the transport reconnects, then the device is set up.
                self._link.setup_failed(f"connect failed: {exc}", self.clock.monotonic(), retry=True)
                raise
            except Exception as exc:
                self._link.down_reason = f"connect failed: {exc}"
                raise
            return identity

    def _check_self_test(self) -> None:
        failed = self.self_test()
        if failed:
            self.refresh()
            faults = f"; active faults: {', '.join(self.faults)}" if self.faults else ""
            raise DeviceFault(f"{self.name}: self-test failed: {', '.join(failed)}{faults}")
        self._self_tested = True

    def close(self) -> None:
        """Close the port; the device's dead-man stops it when it no longer hears from the host."""
        with self._lock:
            self.transport.close()
            self._opened = False
            self._link.closed()
            self._motions.lose_all("the port was closed")

    def __enter__(self) -> Device[TT]:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _identify(self) -> Identity:
        try:
            response = self._exchange(MsgType.IDENTIFY, b"", "IDENTIFY")
        except ResponseTimeout:
            # Nothing answers at our address: ask whatever is on the port (broadcast) so that a wrong
            # device plugged in here is reported as such rather than as a silent line.
            response = self._identify_broadcast()
        identity = identity_from_reply(self.spec, f"{self.name} on {self.transport.url}", response)
        previous, self.identity = self.identity, identity
        if previous is not None and previous.serial_number != identity.serial_number:
            self._host_event(
                "IDENTITY_CHANGED",
                Severity.WARNING,
                f"serial number {previous.serial_number:#x} became {identity.serial_number:#x}",
            )
        return identity

    def _identify_broadcast(self) -> Frame:
        transport = self.transport
        own, transport.address = transport.address, BROADCAST_ADDRESS
        try:
            return self._exchange(MsgType.IDENTIFY, b"", "IDENTIFY (broadcast)", retries=0)
        finally:
            transport.address = own

    def _configure(self) -> None:
        """Write the dead-man and telemetry period, then read one snapshot; the link counts as up after."""
        self.act("set_deadman", timeout_ms=round(self.deadman_s * 1000))
        self.act("set_telemetry_period", period_ms=round(self.telemetry_period_s * 1000))
        self.act("set_event_resend", period_ms=round(self.event_resend_s * 1000))
        self.refresh()
        self._link.configured()
        self.setups += 1

    def retime(self, telemetry_period_s: float, deadman_s: float) -> None:
        """Stream every ``telemetry_period_s`` s, dead-man ``deadman_s`` s, now and later (hal.retiming)."""
        period, deadman = _check_period(self.name, telemetry_period_s), _check_deadman(self.name, deadman_s)
        with self._lock:
            retime(self, self._link, period, deadman)

    # ---------------------------------------------------------------------------------- poll
    def poll(self) -> None:
        """Read the port, update telemetry and events, keep the link configured and the dead-man fed.

        Never raises for link problems; they show in :attr:`state` and as events. Returns at once when
        there is nothing to do: no set-up or keep-alive due, nothing to deliver, and a port that can tell
        it has nothing to read (:meth:`Transport.idle`).
        """
        link = self._link
        idle = not (self._events.undelivered or self.event_acks.pending)
        if idle and link.quiet(self.clock.monotonic()) and self.transport.idle():
            return
        with self._lock:
            if not self._opened:
                return
            self.transport.poll()
            self._drain_link_changes()
            now = self.clock.monotonic()
            if link.setup_due(now, self.transport.connected):
                self._resetup()
            elif link.keepalive_due(now):
                self._keepalive()
            if self.event_acks.pending and self.transport.connected:
                try:
                    self._intake.acknowledge(self._ack_event)
                except PortError:
                    self._drain_link_changes()
        self._events.deliver()

    def _ack_event(self, seq: int) -> None:
        self._send_command(self.spec.command("ack_event"), {"event_seq": seq}, retries=0)

    def _resetup(self) -> None:
        try:
            self._identify()
            if not self._self_tested:
                self._check_self_test()
            self._configure()
        except (PortError, ResponseTimeout, PayloadError, DeviceNack, DeviceMismatch, DeviceFault) as exc:
            # A link problem may pass; a refusal or another device does not: stay faulted until connect().
            retry = isinstance(exc, PortError | ResponseTimeout | PayloadError)
            self._link.setup_failed(f"re-identification failed: {exc}", self.clock.monotonic(), retry=retry)
            self._host_event("SETUP_FAILED", Severity.ERROR if retry else Severity.CRITICAL, str(exc))
            return
        identity = identity_text(self.spec, self.identity)
        self._host_event("LINK_UP", Severity.INFO, f"re-identified {identity} and reconfigured")

    def _keepalive(self) -> None:
        try:
            self.heartbeat(retries=0)
        except (ResponseTimeout, PayloadError):
            if self._link.heartbeat_missed() and self.transport.connected:
                self.transport.mark_down(f"{self._link.heartbeat_misses} heartbeats unanswered")
                self._drain_link_changes()
        except PortError:
            self._drain_link_changes()

    # -------------------------------------------------------------------------- link changes
    def _on_link_change(self, connected: bool, reason: str) -> None:
        """Transport callback: only record; re-identification happens in :meth:`poll`."""
        self._link.port_changed(connected, reason)
        if not connected:
            self._motions.lose_all(f"link down: {reason}")

    def _drain_link_changes(self) -> None:
        for connected, reason in self._link.take_changes():
            if not connected:
                self._host_event("LINK_DOWN", Severity.ERROR, reason)

    # -------------------------------------------------------------------------------- frames
    def _on_frame(self, frame: Frame) -> None:
        """Transport subscriber: decode and record at once; listeners are called later from poll."""
        if frame.address != self.spec.address:
            return
        try:
            if frame.msg_type == MsgType.TELEMETRY:
                self._reported.store(frame.payload, self.clock.monotonic())
                self.telemetry_count += 1
            else:
                self._intake.on_frame(frame)
        except PayloadError as exc:
            self.bad_frames += 1
            _LOGGER.warning("%s: dropped a malformed %s frame: %s", self.name, MsgType(frame.msg_type).name, exc)

    def _host_event(self, name: str, severity: Severity, text: str) -> None:
        self._events.record(DeviceEvent(self.clock.monotonic(), name, severity, 0, 0.0, text, self.name))

    def on_event(self, callback: EventListener) -> None:
        """Call ``callback(event)`` for every event, from :meth:`poll`."""
        self._events.subscribe(callback)

    # ------------------------------------------------------------------------------ commands
    def command(self, name: str, **args: Any) -> AckResult | Motion:
        """Send command ``name`` with ``args`` (by ICD argument name, ICD units) and wait for the ACK.

        Returns the :class:`AckResult` of an immediate command, or a :class:`Motion` for a motion
        command. Raises :class:`CommandError` before sending for an unknown command, missing, extra or
        ill-typed arguments, a value outside the ICD range or beyond a configured limit;
        :class:`DeviceNack` when the device refuses; :class:`ResponseTimeout`/:class:`PortError` from
        the link. A retry after a lost response never makes the device act twice (the RETRY flag).
        """
        command, values = self._validate(name, args)
        if command.motion:
            return self._start(command, values)
        with self._lock:
            return self._send_command(command, values)[0]

    def act(self, name: str, **args: Any) -> AckResult:
        """:meth:`command` for an immediate (non-motion) command; :class:`CommandError` for a motion."""
        command, values = self._validate(name, args)
        if command.motion:
            raise CommandError(f"{self.name}.{name} is a motion command: use start()")
        with self._lock:
            return self._send_command(command, values)[0]

    def start(self, name: str, **args: Any) -> Motion:
        """:meth:`command` for a motion command; :class:`CommandError` for an immediate one."""
        command, values = self._validate(name, args)
        if not command.motion:
            raise CommandError(f"{self.name}.{name} is not a motion command: use act()")
        return self._start(command, values)

    def _start(self, command: Command, values: dict[str, int | float]) -> Motion:
        with self._lock:
            serial_before = self._motions.serial
            result, _reply = self._send_command(command, values)
            motion = self._motions.begin(command, result == AckResult.DONE, serial_before, self.clock.monotonic())
            motion.icd_timeout_s = command.timeout(values)
            return motion

    def _validate(self, name: str, args: Mapping[str, Any]) -> tuple[Command, dict[str, int | float]]:
        return validate_command(self.spec, self._limits, self.name, name, args)

    def _send_command(
        self, command: Command, values: dict[str, int | float], retries: int | None = None
    ) -> tuple[AckResult, bytes]:
        self._motions.sending(command)  # stop, and a device's own commands, may end its motion (STOPPED) first
        response = self._exchange(MsgType.COMMAND, command.pack(values), command.name, retries=retries)
        return command_reply(self.name, command, response, lambda: self.telemetry.faults if self.telemetry else ())

    def _exchange(self, msg_type: MsgType, payload: bytes, what: str, retries: int | None = None) -> Frame:
        with self._lock:
            if not self.transport.connected:
                raise PortError(f"{self.name}: cannot send {what}: link is down ({self._link.down_reason})")
            self._link.last_tx = self.clock.monotonic()
            try:
                return self.transport.request(msg_type, payload, retries=retries)
            finally:
                self._drain_link_changes()

    # ---------------------------------------------------------------------- common commands
    def stop(self) -> None:
        """Stop every actuator now and end any motion (as STOPPED)."""
        self.act("stop")

    def clear_fault(self) -> tuple[str, ...]:
        """Clear latched faults whose cause is gone; returns the faults still active afterwards."""
        self.act("clear_fault")
        self.refresh()
        return self.faults

    def self_test(self) -> tuple[str, ...]:
        """Run the device's self-test; returns the names of the failed checks (empty = pass)."""
        command, values = self._validate("self_test", {})
        _, reply = self._send_command(command, values)
        (bits,) = command.reply_layout.struct.unpack(reply)
        return failed_checks(bits)

    def refresh(self) -> TT:
        """Read one telemetry snapshot now (``get_telemetry``) and keep it as the latest."""
        command, values = self._validate("get_telemetry", {})
        _, reply = self._send_command(command, values)
        snapshot: TT = self._reported.store(reply, self.clock.monotonic())
        return snapshot

    def heartbeat(self, retries: int | None = None) -> float:
        """Exchange a HEARTBEAT; returns the round trip in seconds of the clock."""
        t0 = self.clock.monotonic()
        host_ms = int(t0 * 1000) & 0xFFFFFFFF
        response = self._exchange(
            MsgType.HEARTBEAT, HEARTBEAT_REQUEST_LAYOUT.pack(host_ms), "HEARTBEAT", retries=retries
        )
        reply = heartbeat_reply(self.name, host_ms, response)
        self._reported.heartbeat(reply["state"], reply["mode"], reply["faults"])
        self._link.heartbeat_answered()
        return self.clock.monotonic() - t0

    # ---------------------------------------------------------------------------- properties
    @property
    def telemetry(self) -> TT | None:
        """The latest telemetry snapshot, or None before the first."""
        snapshot: TT | None = self._reported.snapshot
        return snapshot

    @property
    def telemetry_age_s(self) -> float | None:
        """Seconds since the latest snapshot arrived, or None before the first."""
        snapshot = self._reported.snapshot
        return None if snapshot is None else self.clock.monotonic() - snapshot.t

    @property
    def link_up(self) -> bool:
        """True while the port is open and the device is identified and configured."""
        return self._link.link_up and self.transport.connected

    @property
    def stale(self) -> bool:
        """True when a streaming device has sent nothing for ``silence_timeout_s``."""
        if not self.link_up or self.telemetry_period_s == 0:
            return False
        return self.clock.monotonic() - self.transport.last_rx > self.silence_timeout_s

    @property
    def state(self) -> DeviceState:
        """OFF before :meth:`connect`; FAULT while the link is down or not yet re-identified, or when the
        device reports a fault; otherwise the device's own state."""
        if not self._opened:
            return DeviceState.OFF
        if not self.link_up or self._reported.fault_bits:
            return DeviceState.FAULT
        return self._reported.state

    @property
    def mode(self) -> str:
        """The device's mode name, as last reported."""
        return self._reported.mode_name

    @property
    def faults(self) -> tuple[str, ...]:
        """Names of the device's active faults, as last reported."""
        return self._reported.faults

    @property
    def fault_reason(self) -> str:
        """Why :attr:`state` is FAULT, in words ("" when it is not)."""
        if self.state != DeviceState.FAULT:
            return ""
        if not self.link_up:
            return self._link.down_reason
        return "device faults: " + ", ".join(self.faults)

    @property
    def motions(self) -> tuple[Motion, ...]:
        """Motions started and not yet reported complete."""
        return self._motions.running

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} on {self.transport.url} {self.state.name}>"


def _check_period(name: str, period_s: float) -> float:
    """``period_s`` if it is a valid telemetry period (0 = off, else 0.001..60 s); ConfigError otherwise."""
    if not (period_s == 0 or 0.001 <= period_s <= 60.0) or not math.isfinite(period_s):
        raise ConfigError(f"device {name}", "telemetry_period_s", "0 (off) or 0.001..60 s", repr(period_s))
    return float(period_s)


def _check_deadman(name: str, deadman_s: float) -> float:
    """``deadman_s`` if it is a valid dead-man timeout (0.05..60 s); ConfigError otherwise."""
    if not 0.05 <= deadman_s <= 60.0:
        raise ConfigError(f"device {name}", "deadman_s", "a value in 0.05..60 s", repr(deadman_s))
    return float(deadman_s)


__all__ = ["Device"]
