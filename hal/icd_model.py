"""The shapes of the ICD's definition in code: fields, packed layouts, commands and device types.

:mod:`hal.icd_load` builds these from ``hal/icd.toml``; :mod:`hal.icd` holds the tables built from it.
Every layout is fixed and little-endian so that C firmware can use packed structs. Field formats are
``struct`` codes: ``B`` u8, ``H`` u16, ``I`` u32, ``h`` i16, ``i`` i32, ``f`` IEEE-754 float32.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hal.errors import PayloadError

#: C type name of each ``struct`` code, and back.
C_TYPES = {"B": "u8", "H": "u16", "I": "u32", "h": "i16", "i": "i32", "f": "f32"}
STRUCT_CODES = {c: code for code, c in C_TYPES.items()}
#: Fault gates of a command (see ``hal/icd.toml``).
FAULT_GATES = ("never", "always", "unless_zero")


@dataclass(frozen=True)
class Field:
    """One fixed-size field of a payload. ``lo``/``hi`` are the inclusive range the firmware accepts."""

    name: str
    fmt: str
    unit: str
    doc: str
    lo: float | None = None
    hi: float | None = None

    @property
    def c_type(self) -> str:
        """The field's C type name (``u8``, ``f32``, ...)."""
        return C_TYPES[self.fmt]

    def in_range(self, value: float) -> bool:
        """True if ``value`` is finite and within ``lo..hi``.

        For float32 fields the limits are compared as float32, so a limit such as 2.2 (not exactly
        representable) accepts the value a host packed for it on both sides of the wire.
        """
        if isinstance(value, float) and not math.isfinite(value):
            return False
        lo, hi = self.lo, self.hi
        if self.fmt == "f":
            lo = None if lo is None else _f32(lo)
            hi = None if hi is None else _f32(hi)
            value = _f32(value)
        return (lo is None or value >= lo) and (hi is None or value <= hi)


def _f32(value: float) -> float:
    """``value`` rounded to IEEE-754 single precision."""
    return _F32.unpack(_F32.pack(value))[0]


_F32 = struct.Struct("<f")


class Layout:
    """A packed little-endian sequence of :class:`Field` s."""

    def __init__(self, fields: tuple[Field, ...], prefix: str = "") -> None:
        self.fields = fields
        self.names = tuple(f.name for f in fields)
        self.struct = struct.Struct("<" + prefix + "".join(f.fmt for f in fields))

    @property
    def size(self) -> int:
        """Size in bytes."""
        return self.struct.size

    def pack(self, *values: Any) -> bytes:
        """Pack values in field order; raises :class:`PayloadError` for a wrong count or type."""
        try:
            return self.struct.pack(*values)
        except struct.error as exc:
            raise PayloadError(f"cannot pack {values!r} as {self.names}: {exc}") from exc

    def unpack(self, data: bytes, offset: int = 0) -> dict[str, Any]:
        """Unpack into a dict by field name; raises :class:`PayloadError` on a size mismatch."""
        if len(data) - offset != self.struct.size:
            raise PayloadError(f"{len(data) - offset} bytes; expected {self.struct.size} for {self.names}")
        return dict(zip(self.names, self.struct.unpack_from(data, offset), strict=True))


@dataclass(frozen=True)
class Precondition:
    """One of a command's own checks: the NACK code (by name) sent when ``when`` holds."""

    nack: str
    when: str


@dataclass(frozen=True)
class Command:
    """A device command: COMMAND payload is ``command_id u8`` followed by ``args``.

    ``motion`` commands are acknowledged with ``AckResult.STARTED`` when the motion begins and report
    their end with a ``COMMAND_COMPLETE`` event. ``reply`` is extra data after the ACK's two bytes.
    ``fault_gate`` (``never``, ``always``, ``unless_zero``) and ``accepted_faults`` say when a latched
    fault refuses the command with DEVICE_FAULT; ``preconditions`` are the device's own checks after
    that, in precedence order. ``duration`` describes a motion's length and ``timeout`` computes the
    host's wait for its completion, seconds, from the arguments.
    """

    id: int
    name: str
    doc: str
    args: tuple[Field, ...] = ()
    reply: tuple[Field, ...] = ()
    motion: bool = False
    fault_gate: str = "never"
    accepted_faults: tuple[str, ...] = ()
    preconditions: tuple[Precondition, ...] = ()
    duration: str = ""
    timeout_expr: str = ""
    args_layout: Layout = field(init=False, repr=False, compare=False)
    reply_layout: Layout = field(init=False, repr=False, compare=False)
    _timeout: Callable[[Mapping[str, float]], float] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "args_layout", Layout(self.args))
        object.__setattr__(self, "reply_layout", Layout(self.reply))

    def pack(self, values: dict[str, Any]) -> bytes:
        """COMMAND payload for ``values`` (a dict by argument name). No range check: see :meth:`check`."""
        missing = [a.name for a in self.args if a.name not in values]
        extra = sorted(set(values) - {a.name for a in self.args})
        if missing or extra:
            raise PayloadError(
                f"command {self.name!r} takes arguments {[a.name for a in self.args]}; "
                f"missing {missing}, unexpected {extra}"
            )
        return bytes((self.id,)) + self.args_layout.pack(*(values[a.name] for a in self.args))

    def unpack_args(self, data: bytes) -> dict[str, Any]:
        """Arguments from a COMMAND payload without its leading command id."""
        return self.args_layout.unpack(data)

    def check(self, values: dict[str, Any]) -> Field | None:
        """The first argument outside the ICD range, or None when all are in range."""
        for arg in self.args:
            if not arg.in_range(values[arg.name]):
                return arg
        return None

    def fault_refuses(self, values: Mapping[str, Any]) -> bool:
        """True if this command, with these arguments, is subject to the DEVICE_FAULT rule (before
        ``accepted_faults`` are taken into account)."""
        if self.fault_gate == "always":
            return True
        if self.fault_gate == "unless_zero":
            return any(values[a.name] for a in self.args)
        return False

    def timeout(self, values: Mapping[str, float]) -> float | None:
        """The host's wait for this motion's COMMAND_COMPLETE with these arguments, seconds (None when
        the definition gives none)."""
        return None if self._timeout is None else self._timeout(values)


@dataclass(frozen=True)
class DeviceSpec:
    """One device type: its bus address, commands, telemetry, modes and fault bits.

    ``common`` are the commands every device has (before its own); ``icd_hash`` is the definition hash
    it reports in IDENTIFY; ``conformance`` holds the probe commands the conformance suite uses and
    ``constants`` device-specific named values of the definition.
    """

    name: str
    address: int
    doc: str
    commands: tuple[Command, ...]
    telemetry: tuple[Field, ...]
    modes: tuple[str, ...]
    faults: tuple[str, ...]
    common: tuple[Command, ...] = ()
    header: tuple[Field, ...] = ()
    icd_hash: int = 0
    conformance: Mapping[str, Any] = field(default_factory=dict, compare=False)
    constants: Mapping[str, Any] = field(default_factory=dict, compare=False)
    telemetry_layout: Layout = field(init=False, repr=False, compare=False)
    _by_name: dict[str, Command] = field(init=False, repr=False, compare=False)
    _by_id: dict[int, Command] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        all_commands = self.common + self.commands
        object.__setattr__(self, "telemetry_layout", Layout(self.header + self.telemetry))
        object.__setattr__(self, "_by_name", {c.name: c for c in all_commands})
        object.__setattr__(self, "_by_id", {c.id: c for c in all_commands})
        if len(self._by_id) != len(all_commands) or len(self._by_name) != len(all_commands):
            raise ValueError(f"device {self.name}: duplicate command id or name")
        if len(self.faults) > 16:
            raise ValueError(f"device {self.name}: more than 16 fault bits")
        if self.telemetry_layout.size > 240:
            raise ValueError(f"device {self.name}: telemetry payload exceeds 240 bytes")

    @property
    def device_type(self) -> int:
        """The IDENTIFY device type (equal to the default address)."""
        return self.address

    @property
    def all_commands(self) -> tuple[Command, ...]:
        """Common commands followed by the device's own."""
        return self.common + self.commands

    def command(self, name: str) -> Command:
        """The command called ``name``; raises ``KeyError`` naming the valid ones."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"{self.name} has no command {name!r}; expected one of {sorted(self._by_name)}") from None

    def command_by_id(self, command_id: int) -> Command | None:
        """The command with this id, or None."""
        return self._by_id.get(command_id)

    def fault_names(self, bits: int) -> list[str]:
        """Names of the fault bits set in ``bits``."""
        return [name for i, name in enumerate(self.faults) if bits >> i & 1]

    def fault_bit(self, name: str) -> int:
        """The bit mask of the fault called ``name``."""
        return 1 << self.faults.index(name)

    def refusing_faults(self, command: Command) -> int:
        """Fault bits that refuse ``command`` with DEVICE_FAULT (when its gate applies)."""
        accepted = sum(self.fault_bit(name) for name in command.accepted_faults)
        return ((1 << len(self.faults)) - 1) & ~accepted

    def mode_name(self, mode: int) -> str:
        """The name of mode number ``mode`` (or ``mode_<n>`` if unknown)."""
        return self.modes[mode] if 0 <= mode < len(self.modes) else f"mode_{mode}"
