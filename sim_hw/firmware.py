"""The firmware side of the ICD, common to every emulated device.

:class:`Firmware` implements everything ``docs/icd.md`` requires of *any* device: frame parsing, NACK
rules, the RETRY replay cache, IDENTIFY, HEARTBEAT, the common commands, telemetry streaming, events,
motion completion and the dead-man rule. A device subclass adds its own commands as ``cmd_<name>``
methods and its physics in :meth:`Firmware.step`.

Test hooks in the manner of gpiozero's mock pins: :attr:`Firmware.history` records every command the
device received, :meth:`Firmware.assert_received` / :meth:`Firmware.assert_not_received` check it, and
``inject_*`` methods force faults and sensor symptoms.
"""

from __future__ import annotations

import logging
import math
import random
import struct
from typing import Any

from hal.errors import FrameError, VersionError
from hal.icd import (
    ACK_LAYOUT,
    DEFAULT_DEADMAN_MS,
    EVENT_LAYOUT,
    EVENT_QUEUE,
    HEARTBEAT_REPLY_LAYOUT,
    HEARTBEAT_REQUEST_LAYOUT,
    IDENTIFY_LAYOUT,
    MIN_EVENT_RESEND_MS,
    MIN_TELEMETRY_PERIOD_MS,
    NACK_LAYOUT,
    RELIABLE_EVENTS,
    Command,
    Completion,
    DeviceSpec,
    DeviceState,
    EventId,
    Severity,
)
from hal.protocol import (
    HOST_ADDRESS,
    PROTOCOL_VERSION,
    AckResult,
    Flags,
    Frame,
    FrameDecoder,
    MsgType,
    NackCode,
    encode_fields,
)
from sim_hw.errors import Nack
from sim_hw.event_log import PendingEvents
from sim_hw.firmware_hooks import SENSOR_FAULT_KINDS, FirmwareHooks, Received, SensorFault
from sim_hw.world_view import WorldView

_LOGGER = logging.getLogger(__name__)

BROADCAST_ADDRESS = 0xFF
FIRMWARE_VERSION = (1, 0, 0)
# Plain ints: ``int & IntFlag`` runs the enum's Python-level operator on every frame.
#: Longest physics step of a device at rest (no motion, no actuator powered), seconds: its monitors (sensor
#: plausibility, bus power, fuses) still run at 4 Hz, as a microcontroller's housekeeping loop would.
QUIET_STEP_S = 0.25
_RETRY = int(Flags.RETRY)
_RESPONSE = int(Flags.RESPONSE)


#: Telemetry field names of each device type, in ICD order (built at the first frame).
_TELEMETRY_NAMES: dict[str, tuple[str, ...]] = {}


class Firmware(FirmwareHooks):
    """One emulated device: ICD behaviour plus the device's own commands and physics.

    Subclasses set ``spec`` and implement ``cmd_<name>(**args) -> AckResult | bytes | None`` for each of
    their commands (raise :class:`Nack` to refuse; return ``AckResult.STARTED`` after
    :meth:`begin_motion` for motions), :meth:`step` for physics, :meth:`telemetry_values` for the
    telemetry fields and :meth:`stop_actuators`.
    """

    spec: DeviceSpec

    def __init__(self, world: WorldView, *, serial_number: int, seed: int = 0) -> None:
        self.world = world
        self.serial_number = serial_number
        self.rng = random.Random(seed * 7919 + self.spec.address)
        self.address = self.spec.address
        self.mode = 0
        self.faults = 0
        self.deadman_ms = DEFAULT_DEADMAN_MS
        self.telemetry_period_ms = 0
        self.history: list[Received] = []
        self.events_sent: list[dict[str, Any]] = []
        self.frames_rejected = 0
        self._decoder = FrameDecoder(on_error=self._on_frame_error)
        self._tx = bytearray()
        #: Frames written so far (a port that saw no output at serial N knows there is none while it stays N).
        self.output_serial = 0
        self._seq = 0
        #: Header seq of the latest EVENT (events are numbered on their own, docs/icd.md section 8.1).
        self.event_seq = 0
        self.pending_events = PendingEvents(EVENT_QUEUE)
        #: Reliable events sent again (periodic resends and ``resend_events``).
        self.events_resent = 0
        # (seq, msg_type, request payload, response wire bytes) of the latest request answered
        self._last_request: tuple[int, int, bytes, bytes] | None = None
        self._last_host_rx = world.now()
        self._deadman_tripped = False
        self._next_telemetry = math.inf
        self._boot_t = world.t
        self._motion: Command | None = None
        self._sensor_faults: dict[str, SensorFault] = {}
        self._forced_faults = 0
        self.emit_event(EventId.BOOT, Severity.INFO, 0, 0.0)

    # ------------------------------------------------------------------------------- byte interface
    def receive(self, data: bytes) -> None:
        """Bytes from the host. Invalid frames are dropped silently (the host times out and retries)."""
        frames = self._decoder.feed(data)
        wake, step = self.next_wakeup(), self.max_step_s(-1.0)
        for frame in frames:
            try:
                self._handle(frame)
            except Exception:  # the firmware must survive anything the host sends
                _LOGGER.exception("%s: error handling %r", self.spec.name, frame)
                self.frames_rejected += 1
        if frames and (self.next_wakeup() < wake or self.max_step_s(-1.0) < step):
            # A command started work (a finer step) or output (an earlier wake-up): the world plans its next
            # step again rather than trust the one planned while the device rested.
            self.world.wakeups_changed()

    def _on_frame_error(self, error: FrameError) -> None:
        """A frame with a valid CRC but another protocol version, addressed to us, gets a NACK saying which
        version we speak (ICD); every other bad frame is dropped silently."""
        frame = getattr(error, "frame", None)
        if (
            isinstance(error, VersionError)
            and isinstance(frame, Frame)
            and frame.address
            in (
                self.address,
                BROADCAST_ADDRESS,
            )
        ):
            self._respond(frame, MsgType.NACK, NACK_LAYOUT.pack(0, NackCode.UNSUPPORTED_VERSION, PROTOCOL_VERSION))

    def read_output(self) -> bytes:
        """Bytes the device has written since the last call."""
        out = bytes(self._tx)
        self._tx.clear()
        return out

    @property
    def output_pending(self) -> int:
        """Number of bytes waiting in the device's output."""
        return len(self._tx)

    def _send(self, msg_type: int, payload: bytes, seq: int | None = None, flags: int = 0) -> bytes:
        if seq is None:
            self._seq = (self._seq + 1) & 0xFFFF
            seq = self._seq
        wire = encode_fields(self.address, msg_type, seq, payload, flags)
        self._tx += wire
        self.output_serial += 1
        return wire

    def _respond(self, request: Frame, msg_type: int, payload: bytes) -> None:
        wire = self._send(msg_type, payload, seq=request.seq, flags=_RESPONSE)
        self._last_request = (request.seq, request.msg_type, request.payload, wire)

    # ------------------------------------------------------------------------------------ handling
    def _handle(self, frame: Frame) -> None:
        if frame.address not in (self.address, BROADCAST_ADDRESS):
            return  # not for us (multi-drop bus)
        # The time the frame arrived (the world may lag the clock by part of a step).
        self._last_host_rx = self.world.now()
        self._deadman_tripped = False
        if frame.flags & _RETRY and self._last_request is not None:
            seq, msg_type, payload, wire = self._last_request
            if seq == frame.seq and msg_type == frame.msg_type and payload == frame.payload:
                self._tx += wire  # replay: never act twice on one request
                self.output_serial += 1
                return
        if frame.address == BROADCAST_ADDRESS and frame.msg_type not in (MsgType.IDENTIFY, MsgType.HEARTBEAT):
            return
        if frame.msg_type == MsgType.COMMAND:
            self._handle_command(frame)
        elif frame.msg_type == MsgType.IDENTIFY:
            self._respond(frame, MsgType.IDENTIFY, self._identify_payload())
        elif frame.msg_type == MsgType.HEARTBEAT:
            self._handle_heartbeat(frame)
        else:
            self._nack(frame, 0, NackCode.BAD_TYPE)

    def _identify_payload(self) -> bytes:
        major, minor, patch = FIRMWARE_VERSION
        return IDENTIFY_LAYOUT.pack(
            self.spec.device_type,
            PROTOCOL_VERSION,
            major,
            minor,
            patch,
            0,
            self.serial_number,
            self.deadman_ms,
            self.telemetry_period_ms,
            self.spec.icd_hash,
        )

    def _handle_heartbeat(self, frame: Frame) -> None:
        if len(frame.payload) != HEARTBEAT_REQUEST_LAYOUT.size:
            self._nack(frame, 0, NackCode.BAD_LENGTH)
            return
        (host_ms,) = HEARTBEAT_REQUEST_LAYOUT.struct.unpack(frame.payload)
        reply = HEARTBEAT_REPLY_LAYOUT.pack(host_ms, self.state, self.mode, self.all_faults)
        self._respond(frame, MsgType.HEARTBEAT, reply)

    def _nack(self, frame: Frame, command_id: int, code: NackCode, detail: int = 0, name: str = "") -> None:
        self._respond(frame, MsgType.NACK, NACK_LAYOUT.pack(command_id, code, detail))
        if name:
            self.history.append(Received(self.world.t, name, {}, code.name))

    def _handle_command(self, frame: Frame) -> None:
        payload = frame.payload
        if not payload:
            self._nack(frame, 0, NackCode.BAD_LENGTH)
            return
        command = self.spec.command_by_id(payload[0])
        if command is None:
            self._nack(frame, payload[0], NackCode.UNKNOWN_COMMAND)
            return
        if len(payload) - 1 != command.args_layout.size:
            self._nack(frame, command.id, NackCode.BAD_LENGTH, name=command.name)
            return
        args = command.unpack_args(payload[1:])
        bad = command.check(args)
        if bad is not None:
            self._nack(frame, command.id, NackCode.OUT_OF_RANGE, command.args.index(bad) + 1)
            self.history.append(Received(self.world.t, command.name, args, NackCode.OUT_OF_RANGE.name))
            return
        if (
            self.all_faults
            and command.fault_gate != "never"
            and self.all_faults & self.spec.refusing_faults(command)
            and command.fault_refuses(args)
        ):
            self._nack(frame, command.id, NackCode.DEVICE_FAULT)
            self.history.append(Received(self.world.t, command.name, args, NackCode.DEVICE_FAULT.name))
            return
        try:
            result = getattr(self, f"cmd_{command.name}")(**args)
        except Nack as nack:
            self._nack(frame, command.id, nack.code, nack.detail)
            self.history.append(Received(self.world.t, command.name, args, nack.code.name))
            return
        reply = b""
        if isinstance(result, bytes | bytearray):
            reply, result = bytes(result), AckResult.DONE
        result = AckResult.DONE if result is None else result
        self._respond(frame, MsgType.ACK, ACK_LAYOUT.pack(command.id, result) + reply)
        self.history.append(
            Received(self.world.t, command.name, args, "started" if result == AckResult.STARTED else "ack")
        )

    # ------------------------------------------------------------------------------ common commands
    def cmd_set_telemetry_period(self, period_ms: int) -> None:
        """Stream every ``period_ms`` (0 = off)."""
        if period_ms and period_ms < MIN_TELEMETRY_PERIOD_MS:
            period_ms = MIN_TELEMETRY_PERIOD_MS
        self.telemetry_period_ms = period_ms
        # one period after the command arrived (the world may lag the clock by up to a step: not from its time)
        self._next_telemetry = self.world.now() + period_ms / 1000 if period_ms else math.inf
        self.world.wakeups_changed()

    def cmd_set_deadman(self, timeout_ms: int) -> None:
        """Set the dead-man timeout, milliseconds."""
        self.deadman_ms = timeout_ms

    def cmd_stop(self) -> None:
        """Stop every actuator; back to mode 0 (with MODE_CHANGE if the mode was not 0)."""
        self.stop_actuators()
        self.end_motion(Completion.STOPPED)
        self.set_mode(0)

    def cmd_set_event_resend(self, period_ms: int) -> None:
        """Resend unacknowledged reliable events every ``period_ms`` (0 = off; 1..49 raised to 50)."""
        if period_ms and period_ms < MIN_EVENT_RESEND_MS:
            period_ms = MIN_EVENT_RESEND_MS
        self.pending_events.set_period(period_ms / 1000, self.world.t)
        self.world.wakeups_changed()

    def cmd_ack_event(self, event_seq: int) -> None:
        """The host has the event sent with header seq ``event_seq``."""
        self.pending_events.acknowledge(event_seq)

    def cmd_resend_events(self) -> None:
        """Resend every unacknowledged reliable event now (before this command's ACK)."""
        self._resend(self.pending_events.all())

    def cmd_self_test(self) -> bytes:
        """Reply with the failed-check bits (0 = pass); a device with an active fault fails check 0."""
        return self.spec.command("self_test").reply_layout.pack(self.self_test_failures())

    def cmd_clear_fault(self) -> None:
        """Clear latched faults whose cause is gone."""
        self.faults &= self._forced_faults
        if not self.all_faults:
            self.emit_event(EventId.FAULT_CLEARED, Severity.INFO, 0, 0.0)

    def cmd_get_telemetry(self) -> bytes:
        """Reply with one telemetry snapshot."""
        return self.telemetry_payload()

    # --------------------------------------------------------------------------------- device API
    @property
    def state(self) -> DeviceState:
        """Coarse state: FAULT if any fault is active, ACTIVE while a mode other than idle runs."""
        if self.all_faults:
            return DeviceState.FAULT
        return DeviceState.ACTIVE if self.mode else DeviceState.IDLE

    @property
    def all_faults(self) -> int:
        """Latched and injected fault bits."""
        return self.faults | self._forced_faults

    def set_mode(self, mode: int) -> None:
        """Change mode, with a MODE_CHANGE event."""
        if mode != self.mode:
            self.mode = mode
            self.emit_event(EventId.MODE_CHANGE, Severity.INFO, mode, 0.0)

    def raise_fault(self, name: str, value: float = 0.0, severity: Severity = Severity.ERROR) -> None:
        """Latch fault ``name`` (a name from the spec's fault table), with a FAULT_SET event."""
        bit = self.spec.fault_bit(name)
        if not self.faults & bit:
            self.faults |= bit
            self.emit_event(EventId.FAULT_SET, severity, self.spec.faults.index(name), value)

    def emit_event(self, event: EventId, severity: Severity, code: int, value: float) -> None:
        """Send an EVENT frame now."""
        self.event_seq = seq = (self.event_seq + 1) & 0xFFFF
        self.events_sent.append({"t": self.world.t, "event": event, "severity": severity, "code": code, "seq": seq})
        payload = EVENT_LAYOUT.pack(event, severity, code, value)
        self._send(MsgType.EVENT, payload, seq=seq)
        if event in RELIABLE_EVENTS:
            self.pending_events.add(seq, payload, self.world.t)

    def begin_motion(self, command_name: str, mode: int) -> AckResult:
        """Start a motion: ends any previous one as STOPPED; returns ``AckResult.STARTED``."""
        self.end_motion(Completion.STOPPED)
        self._motion = self.spec.command(command_name)
        self.set_mode(mode)
        return AckResult.STARTED

    def end_motion(self, completion: Completion) -> None:
        """Finish the current motion (if any) with a COMMAND_COMPLETE event."""
        if self._motion is None:
            return
        command, self._motion = self._motion, None
        severity = Severity.INFO if completion == Completion.OK else Severity.WARNING
        self.emit_event(EventId.COMMAND_COMPLETE, severity, command.id, float(completion))

    @property
    def motion(self) -> str | None:
        """Name of the motion in progress, or None."""
        return self._motion.name if self._motion else None

    # -------------------------------------------------------------------------- time and streaming
    def tick(self, dt: float) -> None:
        """Advance this device by ``dt`` seconds: physics, dead-man, telemetry. Called by the world."""
        self.step(dt)
        t = self.world.t
        if (
            not self._deadman_tripped
            and (t - self._last_host_rx) * 1000.0 >= self.deadman_ms - 1e-6
            and self.is_actuating()
        ):
            self._deadman_tripped = True
            silent_ms = (t - self._last_host_rx) * 1000.0
            self.stop_actuators()
            self.end_motion(Completion.DEADMAN)
            self.set_mode(0)
            if "deadman" in self.spec.faults:
                self.raise_fault("deadman", silent_ms, Severity.WARNING)
            self.emit_event(EventId.DEADMAN_STOP, Severity.WARNING, 0, silent_ms)
        if t + 1e-9 >= self._next_telemetry:
            self._send(MsgType.TELEMETRY, self.telemetry_payload())
            period = self.telemetry_period_ms / 1000
            self._next_telemetry += period
            if self._next_telemetry <= t:  # fell behind (huge step): skip, do not burst
                self._next_telemetry = t + period
        if t + 1e-9 >= self.pending_events.next_due:
            self._resend(self.pending_events.take_due(t))

    def _resend(self, events: list[tuple[int, bytes]]) -> None:
        """Send reliable events again: same seq and payload, RETRY flag."""
        for seq, payload in events:
            self._send(MsgType.EVENT, payload, seq=seq, flags=_RETRY)
        self.events_resent += len(events)

    def next_wakeup(self) -> float:
        """World time (s) of this device's next scheduled output: telemetry, an event resend, or the
        dead-man deadline while an actuator runs; ``inf`` when none."""
        wake = min(self._next_telemetry, self.pending_events.next_due)
        if not self._deadman_tripped and self.is_actuating():
            wake = min(wake, self._last_host_rx + self.deadman_ms / 1000.0)
        return wake

    def max_step_s(self, fine_s: float) -> float:
        """Longest physics step this device allows now, seconds: the world's ``fine_s`` while a motion runs
        or an actuator is powered, :data:`QUIET_STEP_S` at rest."""
        return fine_s if self._motion is not None or self.is_actuating() else QUIET_STEP_S

    def telemetry_payload(self) -> bytes:
        """The packed TELEMETRY payload (header + device fields), with any injected sensor symptoms."""
        values = self.telemetry_values()
        if self._sensor_faults:
            values = self._apply_sensor_faults(values)
        uptime_ms = int((self.world.t - self._boot_t) * 1000) & 0xFFFFFFFF
        layout = self.spec.telemetry_layout
        names = _TELEMETRY_NAMES.get(self.spec.name)
        if names is None:
            names = _TELEMETRY_NAMES[self.spec.name] = tuple(f.name for f in self.spec.telemetry)
        header = (self.state, self.mode, self.all_faults, uptime_ms)
        try:
            return layout.struct.pack(*header, *map(values.__getitem__, names))
        except struct.error:  # let the layout name the fields in its error
            return layout.pack(*header, *(values[name] for name in names))

    # -------------------------------------------------------------------------------- subclass API
    def step(self, dt: float) -> None:
        """Advance the device's physics by ``dt`` seconds."""

    def telemetry_values(self) -> dict[str, float]:
        """Current value of every device telemetry field, by name (SI units as in the ICD)."""
        raise AttributeError(f"{type(self).__name__} must define telemetry_values()")

    def stop_actuators(self) -> None:
        """Bring every actuator to rest now (motors off, heater off)."""

    def is_actuating(self) -> bool:
        """True while any actuator is powered (the dead-man rule watches this)."""
        return self.mode != 0

    @property
    def bus_powered(self) -> bool:
        """True while the power system feeds this device's bus (the bus named like the device)."""
        return self.world.rover.bus_on.get(self.spec.name, True)

    def power_W(self) -> float:
        """Electrical power the device draws now, watts (read by the power emulator)."""
        return 0.0

    def self_test_failures(self) -> int:
        """Bit set of failed self-test checks (bit 0: an active fault)."""
        return 1 if self.all_faults else 0

    # ----------------------------------------------------------------------------------- test hooks
    def inject_fault(self, name: str) -> None:
        """Force fault bit ``name`` on until :meth:`clear_injected_fault` (clear_fault cannot clear it)."""
        self._forced_faults |= self.spec.fault_bit(name)
        self.emit_event(EventId.FAULT_SET, Severity.ERROR, self.spec.faults.index(name), 0.0)

    def clear_injected_fault(self, name: str) -> None:
        """Release a fault forced by :meth:`inject_fault`."""
        self._forced_faults &= ~self.spec.fault_bit(name)


__all__ = ["HOST_ADDRESS", "SENSOR_FAULT_KINDS", "Firmware", "Nack", "Received", "SensorFault"]
