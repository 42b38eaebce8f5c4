"""Telemetry snapshots: the header every device sends, decoding TELEMETRY payloads into a driver's
dataclass, and what a device last reported about itself.

Each driver in :mod:`hal.devices` declares a frozen dataclass deriving from :class:`TelemetryBase` whose
fields follow the ICD's telemetry fields in order; :class:`SnapshotDecoder` turns payloads into it.
Times are host clock seconds.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from hal.icd import TELEMETRY_HEADER, DeviceSpec, DeviceState

T = TypeVar("T", bound="TelemetryBase")


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
_STATES = {state.value: state for state in DeviceState}


def device_state(raw: int) -> DeviceState:
    """The :class:`DeviceState` a device reported as ``raw``; FAULT for a value the ICD does not define."""
    return _STATES.get(raw, DeviceState.FAULT)


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
        Raises :class:`~hal.errors.PayloadError` when the payload size does not match the ICD layout."""
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
        snapshot: T
        if self._direct:
            snapshot = object.__new__(self.cls)
            snapshot.__dict__.update(zip(self._names, values, strict=True))
        else:
            snapshot = self.cls(*values)
        return snapshot, mode, faults


class ReportedStatus:
    """What one device last reported: its state, mode and fault bits (from telemetry, heartbeats and
    events) and its latest telemetry snapshot, decoded into ``cls`` (built at the first snapshot)."""

    def __init__(self, cls: type[TelemetryBase], spec: DeviceSpec) -> None:
        self.spec = spec
        self.snapshot: Any = None  # the latest ``cls`` instance, or None before the first
        self.state = DeviceState.OFF
        self.mode = 0
        self.fault_bits = 0
        self._cls = cls
        self._decoder: SnapshotDecoder[Any] | None = None

    def store(self, payload: bytes, t: float) -> Any:
        """Decode TELEMETRY payload ``payload`` received at clock ``t`` seconds and keep it as the latest."""
        decoder = self._decoder
        if decoder is None:
            decoder = self._decoder = snapshot_decoder(self._cls, self.spec)
        snapshot, mode, faults = decoder.decode(payload, t)
        self.state, self.mode, self.fault_bits = snapshot.state, mode, faults
        self.snapshot = snapshot
        return snapshot

    def heartbeat(self, state: int, mode: int, faults: int) -> None:
        """Take the raw state, mode and fault bits a HEARTBEAT reply carried."""
        self.state = device_state(state)
        self.mode, self.fault_bits = mode, faults

    def fault_set(self, bit: int) -> None:
        """A FAULT_SET event named fault ``bit`` (bits past the 16 the header carries are ignored)."""
        if bit < 16:
            self.fault_bits |= 1 << bit

    @property
    def mode_name(self) -> str:
        """The name of the reported mode."""
        return self.spec.mode_name(self.mode)

    @property
    def faults(self) -> tuple[str, ...]:
        """Names of the reported active faults."""
        return tuple(self.spec.fault_names(self.fault_bits))


_DECODERS: dict[tuple[type, str], SnapshotDecoder[Any]] = {}
_CONVERTERS: dict[type, tuple[tuple[str, Callable[[Any], Any]], ...]] = {}


def snapshot_decoder(cls: type[T], spec: DeviceSpec) -> SnapshotDecoder[T]:
    """The (cached) :class:`SnapshotDecoder` of driver dataclass ``cls`` for device ``spec``."""
    key = (cls, spec.name)
    decoder = _DECODERS.get(key)
    if decoder is None:
        decoder = _DECODERS[key] = SnapshotDecoder(cls, spec)
    return decoder


def build_telemetry(cls: type[T], spec: DeviceSpec, payload: bytes, t: float) -> T:
    """Decode a TELEMETRY payload (or a ``get_telemetry`` reply) of ``spec`` into ``cls``; ``t`` is the
    host clock time of arrival, seconds. Raises :class:`~hal.errors.PayloadError` when the payload does
    not match the ICD layout."""
    return snapshot_decoder(cls, spec).decode(payload, t)[0]


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


def telemetry_field_names(cls: type[TelemetryBase]) -> tuple[str, ...]:
    """The device telemetry fields of a driver's dataclass (the header excluded), in order."""
    return tuple(f.name for f in dataclasses.fields(cls))[len(TELEMETRY_BASE_FIELDS) :]


def _identity_for(fmt: str) -> Callable[[Any], Any]:
    """The converter that changes nothing for a value ``struct`` unpacked with format ``fmt``."""
    return float if fmt == "f" else int


def _converter(hint: Any) -> Callable[[Any], Any]:
    """How a raw unpacked value becomes the type the dataclass field is annotated with."""
    if hint is bool:
        return bool
    if hint is int:
        return int
    return float


__all__ = [
    "TELEMETRY_BASE_FIELDS",
    "ReportedStatus",
    "SnapshotDecoder",
    "TelemetryBase",
    "build_telemetry",
    "device_state",
    "snapshot_decoder",
    "telemetry_field_names",
    "telemetry_from_values",
]
