"""The host side of one device: identify, configure, command, telemetry, events, motions and dead-man.

A :class:`Device` owns one :class:`~hal.transport.Transport` and speaks the ICD common to every device
(``docs/icd.md``); each driver in :mod:`hal.devices` adds its typed commands, its telemetry dataclass and
the configuration limits it understands. Everything is checked on the host before a byte is sent:
command names, argument types, the ICD's firmware ranges and the configured operating limits.

The device has no thread of its own. Its owner (the flight executive) calls :meth:`Device.poll` every
tick: that reads the port, keeps the latest telemetry, decodes events and hands them to listeners,
re-identifies the device after a reconnect, and sends a HEARTBEAT whenever nothing else was sent for a
quarter of the dead-man timeout (so an idle host never trips the device's dead-man, and a host that
stops calling ``poll`` does). Listeners are called from ``poll`` only, never from inside a transport
read, so a listener may itself issue commands.

All durations are seconds of the device's :class:`~base.clock.Clock`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import numbers
import threading
import typing
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from base.clock import Clock
from base.config_loader import ConfigError
from hal.errors import CommandError, DeviceFault, DeviceMismatch, DeviceNack, LinkError, LinkTimeout, PayloadError
from hal.icd import (
    ACK_LAYOUT,
    DEVICE_BY_ADDRESS,
    EVENT_LAYOUT,
    HEARTBEAT_REPLY_LAYOUT,
    HEARTBEAT_REQUEST_LAYOUT,
    IDENTIFY_LAYOUT,
    NACK_LAYOUT,
    TELEMETRY_HEADER,
    Command,
    Completion,
    DeviceSpec,
    DeviceState,
    EventId,
    Field,
    Severity,
)
from hal.protocol import PROTOCOL_VERSION, AckResult, Frame, MsgType, nack_code_name
from hal.transport import BROADCAST_ADDRESS, Transport

_LOGGER = logging.getLogger(__name__)

#: Names of the self-test check bits. The firmware sets bit 0 when a fault is active; the ICD defines
#: no other bit, so the rest are reported by number.
SELF_TEST_CHECKS = ("active_fault",)
#: Consecutive unanswered heartbeats after which the link is declared down (and re-established).
HEARTBEAT_MISSES_MAX = 3
#: Host events (not sent by the device) delivered to listeners alongside the device's own.
HOST_EVENTS = ("LINK_DOWN", "LINK_UP", "IDENTITY_CHANGED", "SETUP_FAILED")

T = TypeVar("T", bound="TelemetryBase")
TT = TypeVar("TT", bound="TelemetryBase")


# ------------------------------------------------------------------------------------------ records
@dataclass(frozen=True)
class Identity:
    """What a device said about itself in its IDENTIFY reply."""

    device_type: int
    firmware: str  # "major.minor.patch"
    serial_number: int
    protocol_version: int


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


@dataclass(frozen=True)
class Limit:
    """An operating limit a driver understands, set per device in the configuration.

    ``args`` are the ``(command, argument)`` pairs it bounds before a command is sent (by absolute value
    for signed arguments); ``telemetry`` names the telemetry attribute it bounds, checked by
    :meth:`Device.limit_violations` (flight acts on those). ``kind`` is ``max`` or ``min``.
    """

    name: str
    unit: str
    doc: str
    args: tuple[tuple[str, str], ...] = ()
    telemetry: str | None = None
    kind: str = "max"

    def allows(self, value: float, bound: float) -> bool:
        """True if ``value`` respects this limit set to ``bound``."""
        return abs(value) <= bound if self.kind == "max" else value >= bound


@dataclass(frozen=True)
class LimitViolation:
    """A telemetry value beyond a configured limit."""

    limit: str
    value: float
    bound: float
    text: str


@dataclass(frozen=True)
class TelemetryBase:
    """The telemetry header every device sends, decoded. Driver dataclasses add the ICD's device fields
    in ICD order (a test keeps them equal to :mod:`hal.icd`)."""

    t: float  # host clock seconds when the snapshot arrived
    state: DeviceState
    mode: str
    faults: tuple[str, ...]
    uptime_s: float


#: Header fields of :class:`TelemetryBase` that are not device telemetry fields.
TELEMETRY_BASE_FIELDS = tuple(f.name for f in dataclasses.fields(TelemetryBase))
_CONVERTERS: dict[type, tuple[tuple[str, Callable[[Any], Any]], ...]] = {}


def build_telemetry(cls: type[T], spec: DeviceSpec, payload: bytes, t: float) -> T:
    """Decode a TELEMETRY payload (or a ``get_telemetry`` reply) of ``spec`` into ``cls``; ``t`` is the
    host clock time of arrival, seconds. Raises :class:`PayloadError` when the payload does not match
    the ICD layout."""
    return snapshot_decoder(cls, spec).decode(payload, t)[0]


class SnapshotDecoder(Generic[T]):
    """Turns TELEMETRY payloads of one device type into one driver's snapshot dataclass, fast.

    Equivalent to ``telemetry_from_values(cls, spec, spec.telemetry_layout.unpack(payload), t)``, with the
    per-snapshot work reduced to one ``struct`` unpack, table look-ups for state, mode and faults, and the
    conversions that change a value (an integer field read as ``bool``). Build one with
    :func:`snapshot_decoder`.
    """

    def __init__(self, cls: type[T], spec: DeviceSpec) -> None:
        names = tuple(f.name for f in dataclasses.fields(cls))
        if names != TELEMETRY_BASE_FIELDS + tuple(f.name for f in spec.telemetry):
            raise TypeError(f"{cls.__name__} fields {names} do not follow the ICD telemetry of {spec.name}")
        hints = typing.get_type_hints(cls)
        self.cls = cls
        self.spec = spec
        self._layout = spec.telemetry_layout
        self._unpack = spec.telemetry_layout.struct.unpack
        self._size = spec.telemetry_layout.size
        self._names = names
        header = len(TELEMETRY_HEADER)
        self._converters = tuple(
            (header + i, _converter(hints[f.name]))
            for i, f in enumerate(spec.telemetry)
            if _converter(hints[f.name]) is not _identity_for(f.fmt)
        )
        self._faults: dict[int, tuple[str, ...]] = {}
        # Frozen dataclasses set each field through object.__setattr__; filling __dict__ at once is the same
        # result for a plain (non-slotted, no __post_init__) dataclass, at a fraction of the cost.
        self._direct = not hasattr(cls, "__post_init__") and "__slots__" not in cls.__dict__

    def decode(self, payload: bytes, t: float) -> tuple[T, int, int]:
        """(snapshot, raw mode, raw fault bits) of ``payload`` received at host clock ``t`` seconds.
        Raises :class:`PayloadError` when the payload size does not match the ICD layout."""
        if len(payload) != self._size:
            self._layout.unpack(payload)  # raises PayloadError naming the sizes
        raw = self._unpack(payload)
        state, mode, faults, uptime_ms = raw[0], raw[1], raw[2], raw[3]
        fault_names = self._faults.get(faults)
        if fault_names is None:
            fault_names = self._faults[faults] = tuple(self.spec.fault_names(faults))
        values = [t, _STATES.get(state, DeviceState.FAULT), self.spec.mode_name(mode), fault_names, uptime_ms / 1000.0]
        values += raw[4:]
        for index, convert in self._converters:
            values[index + 1] = convert(values[index + 1])
        if self._direct:
            snapshot = object.__new__(self.cls)
            snapshot.__dict__.update(zip(self._names, values, strict=True))
        else:
            snapshot = self.cls(*values)
        return snapshot, mode, faults


_DECODERS: dict[tuple[type, str], SnapshotDecoder[Any]] = {}
_STATES = {state.value: state for state in DeviceState}


def snapshot_decoder(cls: type[T], spec: DeviceSpec) -> SnapshotDecoder[T]:
    """The (cached) :class:`SnapshotDecoder` of driver dataclass ``cls`` for device ``spec``."""
    key = (cls, spec.name)
    decoder = _DECODERS.get(key)
    if decoder is None:
        decoder = _DECODERS[key] = SnapshotDecoder(cls, spec)
    return decoder


def _identity_for(fmt: str) -> Callable[[Any], Any]:
    """The converter that changes nothing for a value ``struct`` unpacked with format ``fmt``."""
    return float if fmt == "f" else int


def telemetry_from_values(cls: type[T], spec: DeviceSpec, values: Mapping[str, Any], t: float) -> T:
    """Build ``cls`` from unpacked telemetry ``values`` (by ICD field name, header included)."""
    converters = _CONVERTERS.get(cls)
    if converters is None:
        hints = typing.get_type_hints(cls)
        converters = tuple((f.name, _converter(hints[f.name])) for f in spec.telemetry)
        _CONVERTERS[cls] = converters
    state = values["state"]
    return cls(
        t,
        DeviceState(state) if state in DeviceState._value2member_map_ else DeviceState.FAULT,
        spec.mode_name(values["mode"]),
        tuple(spec.fault_names(values["faults"])),
        values["uptime_ms"] / 1000.0,
        *(convert(values[name]) for name, convert in converters),
    )


def _converter(hint: Any) -> Callable[[Any], Any]:
    if hint is bool:
        return bool
    if hint is int:
        return int
    return float


def telemetry_field_names(cls: type[TelemetryBase]) -> tuple[str, ...]:
    """The device telemetry fields of a driver's dataclass (the header excluded), in order."""
    return tuple(f.name for f in dataclasses.fields(cls))[len(TELEMETRY_BASE_FIELDS) :]


# ------------------------------------------------------------------------------------------ motion
class Motion:
    """A motion the device has started; its COMMAND_COMPLETE event ends it."""

    def __init__(self, device: Device[Any], command: Command, t_start: float) -> None:
        self.device = device
        self.command = command
        self.t_start = t_start
        self.t_end: float | None = None
        self.completion: Completion | None = None
        self._lost: str | None = None

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

    def _complete(self, completion: Completion, t: float) -> None:
        self.completion, self.t_end = completion, t

    def _lose(self, reason: str) -> None:
        self._lost = reason

    def wait(self, timeout_s: float) -> Completion:
        """Poll the device until this motion ends; returns how it ended.

        Raises :class:`LinkTimeout` when it has not ended after ``timeout_s`` seconds of clock time, and
        :class:`LinkError` when the link went down while it ran (its outcome is then unknown).
        """
        device = self.device
        clock = device.clock
        deadline = clock.monotonic() + timeout_s
        while True:
            device.poll()
            if self.completion is not None:
                return self.completion
            if self._lost is not None:
                raise LinkError(f"{device.name}: {self.name} outcome unknown: {self._lost}")
            now = clock.monotonic()
            if now >= deadline:
                raise LinkTimeout(f"{device.name}: {self.name} did not complete within {timeout_s:g} s")
            clock.sleep(min(device.wait_slice_s, deadline - now))

    def __repr__(self) -> str:
        state = self.completion.name if self.completion is not None else ("lost" if self._lost else "running")
        return f"<Motion {self.device.name}.{self.name} {state}>"


# ------------------------------------------------------------------------------------------ device
class Device(Generic[TT]):
    """One device on one transport. Subclasses (``class Drill(Device[DrillTelemetry])``) set
    :attr:`spec`, :attr:`telemetry_class` and :attr:`LIMITS`, and add typed command methods.

    ``limits`` maps limit names (see :attr:`LIMITS`) to values in the limit's unit;
    ``telemetry_period_s`` (0 = no streaming) and ``deadman_s`` are written to the device at connect;
    ``silence_timeout_s`` is how long a streaming device may stay silent before :attr:`stale`.
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
    ) -> None:
        self.name = name or self.spec.name
        self._lock = threading.RLock()
        self.transport = transport
        self.clock = clock
        self.telemetry_period_s = _check_period(self.name, telemetry_period_s)
        self.deadman_s = _check_deadman(self.name, deadman_s)
        self.silence_timeout_s = silence_timeout_s
        self.limits: dict[str, float] = self._check_limits(limits or {})
        self._arg_limits: dict[tuple[str, str], list[Limit]] = {}
        for limit in self.LIMITS:
            if limit.name in self.limits:
                for target in limit.args:
                    self._arg_limits.setdefault(target, []).append(limit)
        #: Seconds :meth:`Motion.wait` sleeps between polls.
        self.wait_slice_s = 0.01
        self.identity: Identity | None = None
        self.events: deque[DeviceEvent] = deque(maxlen=event_history)
        self.telemetry_count = 0
        self.bad_frames = 0
        self.setups = 0
        self._telemetry: TT | None = None
        self._decoder: SnapshotDecoder[Any] | None = None  # built at the first snapshot
        self._remote_state = DeviceState.OFF
        self._remote_mode = 0
        self._fault_bits = 0
        self._opened = False
        self._self_tested = False
        self._link_up = False
        self._needs_setup = False
        self._setup_retry_at = -math.inf
        self._down_reason = "not connected"
        self._last_tx = -math.inf
        self._heartbeat_misses = 0
        self._listeners: list[Callable[[DeviceEvent], None]] = []
        self._undelivered: list[DeviceEvent] = []
        self._motions: list[Motion] = []
        self._unclaimed: deque[tuple[int, int, Completion, float]] = deque(maxlen=16)
        self._event_serial = 0
        self._pending_link_events: list[tuple[bool, str]] = []
        transport.subscribe(self._on_frame, {MsgType.TELEMETRY, MsgType.EVENT})
        transport.on_link_change(self._on_link_change)

    # ------------------------------------------------------------------------------- limits
    @classmethod
    def limit_names(cls) -> tuple[str, ...]:
        """Names of the limits this driver understands."""
        return tuple(limit.name for limit in cls.LIMITS)

    def _check_limits(self, limits: Mapping[str, float]) -> dict[str, float]:
        known = {limit.name: limit for limit in self.LIMITS}
        checked: dict[str, float] = {}
        for key, value in limits.items():
            if key not in known:
                raise ConfigError(
                    f"device {self.name}", f"limits.{key}", f"one of the limits {sorted(known)}", f"{key!r}"
                )
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise ConfigError(
                    f"device {self.name}", f"limits.{key}", f"a finite number in {known[key].unit}", repr(value)
                )
            checked[key] = float(value)
        return checked

    def limit_violations(self) -> list[LimitViolation]:
        """Configured telemetry limits the latest snapshot is beyond (empty without telemetry)."""
        snapshot = self._telemetry
        if snapshot is None:
            return []
        out = []
        for limit in self.LIMITS:
            if limit.telemetry is None or limit.name not in self.limits:
                continue
            value = getattr(snapshot, limit.telemetry)
            if value is None or not isinstance(value, numbers.Real) or math.isnan(value):
                continue
            bound = self.limits[limit.name]
            if not limit.allows(value, bound):
                word = "above" if limit.kind == "max" else "below"
                out.append(
                    LimitViolation(
                        limit.name,
                        float(value),
                        bound,
                        f"{self.name}: {limit.telemetry} = {value:g} {limit.unit} is {word} "
                        f"the limit {limit.name} = {bound:g} {limit.unit}",
                    )
                )
        return out

    # ---------------------------------------------------------------------------------- life
    def connect(self) -> Identity:
        """Open the port, identify the device, run its self-test and configure it.

        Raises :class:`LinkError`/:class:`LinkTimeout` for link problems, :class:`DeviceMismatch` when
        another device type (or protocol version) answers, :class:`DeviceFault` when the self-test fails.
        """
        with self._lock:
            self._opened = True
            self._link_up = False
            self._needs_setup = False
            try:
                self.transport.open()
                self._drain_link_changes()
                identity = self._identify()
                self._check_self_test()
                self._configure()
            except (LinkError, LinkTimeout) as exc:
                # Keep trying from poll(): the transport reconnects, then the device is set up.
                self._down_reason = f"connect failed: {exc}"
                self._needs_setup = True
                self._setup_retry_at = self.clock.monotonic() + self._setup_backoff_s
                raise
            except Exception as exc:
                self._down_reason = f"connect failed: {exc}"
                raise
            return identity

    @property
    def _setup_backoff_s(self) -> float:
        return max(self.deadman_s / 4, 0.05)

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
            self._link_up = False
            self._needs_setup = False
            self._down_reason = "closed"
            self._lose_motions("the port was closed")

    def __enter__(self) -> Device:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _identify(self) -> Identity:
        try:
            response = self._exchange(MsgType.IDENTIFY, b"", "IDENTIFY")
        except LinkTimeout:
            # Nothing answers at our address: ask whatever is on the port (broadcast) so that a wrong
            # device plugged in here is reported as such rather than as a silent line.
            response = self._identify_broadcast()
        if response.msg_type != MsgType.IDENTIFY or len(response.payload) != IDENTIFY_LAYOUT.size:
            raise DeviceMismatch(
                f"{self.name} on {self.transport.url}: expected a {IDENTIFY_LAYOUT.size}-byte IDENTIFY reply, "
                f"found message type 0x{response.msg_type:02x} with {len(response.payload)} bytes"
            )
        values = IDENTIFY_LAYOUT.unpack(response.payload)
        found = values["device_type"]
        if found != self.spec.device_type:
            other = DEVICE_BY_ADDRESS.get(found)
            found_name = other.name if other is not None else "an unknown device"
            raise DeviceMismatch(
                f"{self.name} on {self.transport.url}: expected device type 0x{self.spec.device_type:02x} "
                f"({self.spec.name}), found 0x{found:02x} ({found_name})"
            )
        if values["protocol_version"] != PROTOCOL_VERSION:
            raise DeviceMismatch(
                f"{self.name} on {self.transport.url}: expected protocol version {PROTOCOL_VERSION}, "
                f"found {values['protocol_version']}"
            )
        identity = Identity(
            device_type=found,
            firmware=f"{values['fw_major']}.{values['fw_minor']}.{values['fw_patch']}",
            serial_number=values["serial_number"],
            protocol_version=values["protocol_version"],
        )
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
        self.refresh()
        self._link_up = True
        self._needs_setup = False
        self._heartbeat_misses = 0
        self.setups += 1

    # ---------------------------------------------------------------------------------- poll
    def poll(self) -> None:
        """Read the port, update telemetry and events, keep the link configured and the dead-man fed.

        Never raises for link problems; they show in :attr:`state` and as events. Returns at once when
        there is nothing to do: no set-up or keep-alive due, nothing to deliver, and a port that can tell
        it has nothing to read (:meth:`Transport.idle`).
        """
        if (
            not self._needs_setup
            and not self._undelivered
            and not self._pending_link_events
            and self.clock.monotonic() - self._last_tx < self.deadman_s / 4
            and self.transport.idle()
        ):
            return
        with self._lock:
            if not self._opened:
                return
            self.transport.poll()
            self._drain_link_changes()
            now = self.clock.monotonic()
            if self._needs_setup and self.transport.connected and now >= self._setup_retry_at:
                self._resetup()
            elif self._link_up and now - self._last_tx >= self.deadman_s / 4:
                self._keepalive()
        self._deliver()

    def _resetup(self) -> None:
        try:
            self._identify()
            if not self._self_tested:
                self._check_self_test()
            self._configure()
        except (LinkError, LinkTimeout, PayloadError) as exc:
            self._setup_retry_at = self.clock.monotonic() + self._setup_backoff_s
            self._down_reason = f"re-identification failed: {exc}"
            self._host_event("SETUP_FAILED", Severity.ERROR, str(exc))
            return
        except (DeviceNack, DeviceMismatch, DeviceFault) as exc:
            # Not something retrying fixes: stay faulted until connect() is called again.
            self._needs_setup = False
            self._down_reason = f"re-identification failed: {exc}"
            self._host_event("SETUP_FAILED", Severity.CRITICAL, str(exc))
            return
        self._host_event("LINK_UP", Severity.INFO, f"re-identified {self._identity_text()} and reconfigured")

    def _keepalive(self) -> None:
        try:
            self.heartbeat(retries=0)
        except (LinkTimeout, PayloadError):
            self._heartbeat_misses += 1
            if self._heartbeat_misses >= HEARTBEAT_MISSES_MAX and self.transport.connected:
                self.transport.mark_down(f"{self._heartbeat_misses} heartbeats unanswered")
                self._drain_link_changes()
        except LinkError:
            self._drain_link_changes()

    # -------------------------------------------------------------------------------- frames
    def _on_frame(self, frame: Frame) -> None:
        """Transport subscriber: decode and record at once; listeners are called later from poll."""
        if frame.address != self.spec.address:
            return
        try:
            if frame.msg_type == MsgType.TELEMETRY:
                self._store_telemetry(frame.payload)
                self.telemetry_count += 1
            else:
                self._on_event(EVENT_LAYOUT.unpack(frame.payload))
        except PayloadError as exc:
            self.bad_frames += 1
            _LOGGER.warning("%s: dropped a malformed %s frame: %s", self.name, MsgType(frame.msg_type).name, exc)

    def _store_telemetry(self, payload: bytes) -> TT:
        decoder = self._decoder
        if decoder is None:
            decoder = self._decoder = snapshot_decoder(self.telemetry_class, self.spec)
        snapshot, mode, faults = decoder.decode(payload, self.clock.monotonic())
        self._remote_state, self._remote_mode, self._fault_bits = snapshot.state, mode, faults
        self._telemetry = snapshot
        return snapshot

    def _on_event(self, values: dict[str, Any]) -> None:
        event_id, code, value = values["event"], values["code"], values["value"]
        severity = Severity(values["severity"]) if values["severity"] in Severity._value2member_map_ else Severity.ERROR
        t = self.clock.monotonic()
        self._event_serial += 1
        try:
            name = EventId(event_id).name
        except ValueError:
            name = f"EVENT_0x{event_id:02x}"
        text = name.lower()
        if event_id == EventId.COMMAND_COMPLETE:
            text = self._on_complete(code, value, t)
        elif event_id == EventId.FAULT_SET:
            fault = self.spec.faults[code] if code < len(self.spec.faults) else f"bit_{code}"
            if code < 16:
                self._fault_bits |= 1 << code
            text = f"fault {fault} set (value {value:g})"
        elif event_id == EventId.FAULT_CLEARED:
            text = "faults cleared"
        elif event_id == EventId.MODE_CHANGE:
            self._remote_mode = code
            text = f"mode {self.spec.mode_name(code)}"
        elif event_id == EventId.DEADMAN_STOP:
            text = f"dead-man stop after {value:g} ms without the host"
        elif event_id == EventId.BOOT:
            text = "device booted"
            if self._link_up:
                # A reboot loses the dead-man and telemetry settings: configure again at the next poll.
                self._needs_setup = True
                self._lose_motions("the device rebooted")
        self._record(DeviceEvent(t, name, severity, code, value, text, self.name))

    def _on_complete(self, command_id: int, value: float, t: float) -> str:
        command = self.spec.command_by_id(command_id)
        command_name = command.name if command is not None else f"command 0x{command_id:02x}"
        try:
            completion = Completion(int(value))
        except (ValueError, OverflowError):
            return f"{command_name} ended with unknown completion {value!r}"
        for motion in self._motions:
            if motion.command.id == command_id:
                self._motions.remove(motion)
                motion._complete(completion, t)
                break
        else:
            self._unclaimed.append((self._event_serial, command_id, completion, t))
        return f"{command_name} completed {completion.name}"

    def _record(self, event: DeviceEvent) -> None:
        self.events.append(event)
        self._undelivered.append(event)
        log = _LOGGER.warning if event.severity >= Severity.WARNING else _LOGGER.info
        log("%s: %s: %s", self.name, event.name, event.text)

    def _host_event(self, name: str, severity: Severity, text: str) -> None:
        self._record(DeviceEvent(self.clock.monotonic(), name, severity, 0, 0.0, text, self.name))

    def on_event(self, callback: Callable[[DeviceEvent], None]) -> None:
        """Call ``callback(event)`` for every event, from :meth:`poll`."""
        self._listeners.append(callback)

    def _deliver(self) -> None:
        while self._undelivered:
            with self._lock:
                pending, self._undelivered = self._undelivered, []
            for event in pending:
                for callback in list(self._listeners):
                    try:
                        callback(event)
                    except Exception:  # a listener's bug must not stop the device
                        _LOGGER.exception("%s: event listener %r failed on %s", self.name, callback, event)

    # ---------------------------------------------------------------------------------- link
    def _on_link_change(self, connected: bool, reason: str) -> None:
        """Transport callback: only record; re-identification happens in :meth:`poll`."""
        if connected:
            self._needs_setup = True
            self._setup_retry_at = -math.inf
        else:
            self._link_up = False
            self._down_reason = reason
            self._lose_motions(f"link down: {reason}")
        self._pending_link_events.append((connected, reason))

    def _drain_link_changes(self) -> None:
        events = self._pending_link_events
        while events:
            connected, reason = events.pop(0)
            if not connected:
                self._host_event("LINK_DOWN", Severity.ERROR, reason)

    def _lose_motions(self, reason: str) -> None:
        motions, self._motions = self._motions, []
        for motion in motions:
            motion._lose(reason)

    # ------------------------------------------------------------------------------ commands
    def command(self, name: str, **args: Any) -> AckResult | Motion:
        """Send command ``name`` with ``args`` (by ICD argument name, ICD units) and wait for the ACK.

        Returns the :class:`AckResult` of an immediate command, or a :class:`Motion` for a motion
        command. Raises :class:`CommandError` before sending for an unknown command, missing, extra or
        ill-typed arguments, a value outside the ICD range or beyond a configured limit;
        :class:`DeviceNack` when the device refuses; :class:`LinkTimeout`/:class:`LinkError` from the
        link. A retry after a lost response never makes the device act twice (the RETRY flag).
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
            serial_before = self._event_serial
            result, _reply = self._send_command(command, values)
            motion = Motion(self, command, self.clock.monotonic())
            if result == AckResult.DONE:
                motion._complete(Completion.OK, motion.t_start)
                return motion
            for entry in list(self._unclaimed):
                serial, command_id, completion, t = entry
                # A completion that arrived during this request ends this motion unless it is the STOPPED of
                # the motion this one replaced (the firmware ends the previous motion before it acknowledges).
                if serial > serial_before and command_id == command.id and completion != Completion.STOPPED:
                    self._unclaimed.remove(entry)
                    motion._complete(completion, t)
                    return motion
            self._motions.append(motion)
            return motion

    def _validate(self, name: str, args: Mapping[str, Any]) -> tuple[Command, dict[str, int | float]]:
        try:
            command = self.spec.command(name)
        except KeyError as exc:
            raise CommandError(exc.args[0]) from None
        expected = [a.name for a in command.args]
        missing = [a for a in expected if a not in args]
        extra = sorted(set(args) - set(expected))
        if missing or extra:
            raise CommandError(f"{self.name}.{name} takes arguments {expected}; missing {missing}, unexpected {extra}")
        values = {arg.name: self._coerce(command, arg, args[arg.name]) for arg in command.args}
        for arg in command.args:
            value = values[arg.name]
            if not arg.in_range(value):
                raise CommandError(
                    f"{self.name}.{name}: {arg.name} = {value:g}{_unit(arg.unit)} is outside the ICD range "
                    f"{_range_text(arg)}"
                )
            for limit in self._arg_limits.get((name, arg.name), ()):
                bound = self.limits[limit.name]
                if not limit.allows(value, bound):
                    word = "exceeds" if limit.kind == "max" else "is below"
                    raise CommandError(
                        f"{self.name}.{name}: {arg.name} = {value:g}{_unit(arg.unit)} {word} the configured "
                        f"limit {limit.name} = {bound:g}{_unit(limit.unit)}"
                    )
        return command, values

    def _coerce(self, command: Command, arg: Field, value: Any) -> int | float:
        where = f"{self.name}.{command.name}: {arg.name}"
        if isinstance(value, bool):
            value = int(value)
        if arg.fmt == "f":
            if not isinstance(value, numbers.Real):
                raise CommandError(f"{where} must be a number in {arg.unit or 'no unit'}, got {value!r}")
            value = float(value)
            if not math.isfinite(value):
                raise CommandError(f"{where} must be finite, got {value!r}")
            return value
        if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
            if not math.isfinite(value) or not float(value).is_integer():
                raise CommandError(f"{where} must be an integer, got {value!r}")
            value = int(value)
        if not isinstance(value, numbers.Integral):
            raise CommandError(f"{where} must be an integer, got {value!r}")
        return int(value)

    def _send_command(self, command: Command, values: dict[str, int | float]) -> tuple[AckResult, bytes]:
        response = self._exchange(MsgType.COMMAND, command.pack(values), command.name)
        payload = response.payload
        if response.msg_type == MsgType.NACK and len(payload) == NACK_LAYOUT.size:
            nack = NACK_LAYOUT.unpack(payload)
            raise DeviceNack(self.name, command.name, nack["code"], nack_code_name(nack["code"]), nack["detail"])
        if response.msg_type != MsgType.ACK or len(payload) < ACK_LAYOUT.size or payload[0] != command.id:
            raise PayloadError(
                f"{self.name}: expected an ACK of {command.name} (id 0x{command.id:02x}), found message type "
                f"0x{response.msg_type:02x} with payload {payload.hex()}"
            )
        try:
            result = AckResult(payload[1])
        except ValueError:
            raise PayloadError(f"{self.name}: ACK of {command.name} with unknown result {payload[1]}") from None
        reply = payload[ACK_LAYOUT.size :]
        if len(reply) != command.reply_layout.size and command.name != "get_telemetry":
            raise PayloadError(
                f"{self.name}: ACK of {command.name} carries {len(reply)} reply bytes; "
                f"expected {command.reply_layout.size}"
            )
        return result, reply

    def _exchange(self, msg_type: MsgType, payload: bytes, what: str, retries: int | None = None) -> Frame:
        with self._lock:
            if not self.transport.connected:
                raise LinkError(f"{self.name}: cannot send {what}: link is down ({self._down_reason})")
            self._last_tx = self.clock.monotonic()
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
        return tuple(
            SELF_TEST_CHECKS[i] if i < len(SELF_TEST_CHECKS) else f"check_{i}" for i in range(16) if bits >> i & 1
        )

    def refresh(self) -> TT:
        """Read one telemetry snapshot now (``get_telemetry``) and keep it as the latest."""
        command, values = self._validate("get_telemetry", {})
        _, reply = self._send_command(command, values)
        return self._store_telemetry(reply)

    def heartbeat(self, retries: int | None = None) -> float:
        """Exchange a HEARTBEAT; returns the round trip in seconds of the clock."""
        t0 = self.clock.monotonic()
        host_ms = int(t0 * 1000) & 0xFFFFFFFF
        response = self._exchange(
            MsgType.HEARTBEAT, HEARTBEAT_REQUEST_LAYOUT.pack(host_ms), "HEARTBEAT", retries=retries
        )
        if response.msg_type != MsgType.HEARTBEAT or len(response.payload) != HEARTBEAT_REPLY_LAYOUT.size:
            raise PayloadError(
                f"{self.name}: expected a HEARTBEAT reply, found message type 0x{response.msg_type:02x} "
                f"with {len(response.payload)} bytes"
            )
        reply = HEARTBEAT_REPLY_LAYOUT.unpack(response.payload)
        if reply["host_ms"] != host_ms:
            raise PayloadError(f"{self.name}: heartbeat echoed {reply['host_ms']}, sent {host_ms}")
        self._remote_state = _STATES.get(reply["state"], DeviceState.FAULT)
        self._remote_mode, self._fault_bits = reply["mode"], reply["faults"]
        self._heartbeat_misses = 0
        return self.clock.monotonic() - t0

    # ---------------------------------------------------------------------------- properties
    @property
    def telemetry(self) -> TT | None:
        """The latest telemetry snapshot, or None before the first."""
        return self._telemetry

    @property
    def telemetry_age_s(self) -> float | None:
        """Seconds since the latest snapshot arrived, or None before the first."""
        return None if self._telemetry is None else self.clock.monotonic() - self._telemetry.t

    @property
    def link_up(self) -> bool:
        """True while the port is open and the device is identified and configured."""
        return self._link_up and self.transport.connected

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
        if not self.link_up or self._fault_bits:
            return DeviceState.FAULT
        return self._remote_state

    @property
    def mode(self) -> str:
        """The device's mode name, as last reported."""
        return self.spec.mode_name(self._remote_mode)

    @property
    def faults(self) -> tuple[str, ...]:
        """Names of the device's active faults, as last reported."""
        return tuple(self.spec.fault_names(self._fault_bits))

    @property
    def fault_reason(self) -> str:
        """Why :attr:`state` is FAULT, in words ("" when it is not)."""
        if self.state != DeviceState.FAULT:
            return ""
        if not self.link_up:
            return self._down_reason
        return "device faults: " + ", ".join(self.faults)

    @property
    def motions(self) -> tuple[Motion, ...]:
        """Motions started and not yet reported complete."""
        return tuple(self._motions)

    def _identity_text(self) -> str:
        ident = self.identity
        return f"{self.spec.name} s/n {ident.serial_number:#x} fw {ident.firmware}" if ident else self.spec.name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} on {self.transport.url} {self.state.name}>"


# ------------------------------------------------------------------------------------------ helpers
def _unit(unit: str) -> str:
    return f" {unit}" if unit else ""


def _range_text(arg: Field) -> str:
    lo = "-inf" if arg.lo is None else f"{arg.lo:g}"
    hi = "inf" if arg.hi is None else f"{arg.hi:g}"
    return f"{lo}..{hi}{_unit(arg.unit)}"


def _check_period(name: str, period_s: float) -> float:
    if not (period_s == 0 or 0.001 <= period_s <= 60.0) or not math.isfinite(period_s):
        raise ConfigError(f"device {name}", "telemetry_period_s", "0 (off) or 0.001..60 s", repr(period_s))
    return float(period_s)


def _check_deadman(name: str, deadman_s: float) -> float:
    if not 0.05 <= deadman_s <= 60.0:
        raise ConfigError(f"device {name}", "deadman_s", "a value in 0.05..60 s", repr(deadman_s))
    return float(deadman_s)


__all__ = [
    "HOST_EVENTS",
    "SELF_TEST_CHECKS",
    "TELEMETRY_BASE_FIELDS",
    "Device",
    "DeviceEvent",
    "Identity",
    "Limit",
    "LimitViolation",
    "Motion",
    "SnapshotDecoder",
    "TelemetryBase",
    "build_telemetry",
    "snapshot_decoder",
    "telemetry_field_names",
    "telemetry_from_values",
]
