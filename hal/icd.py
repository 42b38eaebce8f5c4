"""Message payloads of ``docs/icd.md`` in code: the common messages and each device's command,
telemetry and fault tables.

This is the one definition both sides use: hal drivers pack commands and unpack telemetry with it, the
emulators in ``sim_hw`` parse commands and pack telemetry with it, and ``docs/icd.md``'s device tables
are rendered from it (a test fails when the document and this module disagree).

Every layout is fixed and little-endian so that C firmware can use packed structs. Field formats are
``struct`` codes: ``B`` u8, ``H`` u16, ``I`` u32, ``h`` i16, ``i`` i32, ``f`` IEEE-754 float32.
"""

from __future__ import annotations

import enum
import math
import struct
from dataclasses import dataclass, field
from typing import Any

from hal.errors import PayloadError

_C_TYPES = {"B": "u8", "H": "u16", "I": "u32", "h": "i16", "i": "i32", "f": "f32"}


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
        return _C_TYPES[self.fmt]

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
class Command:
    """A device command: COMMAND payload is ``command_id u8`` followed by ``args``.

    ``motion`` commands are acknowledged with ``AckResult.STARTED`` when the motion begins and report
    their end with a ``COMMAND_COMPLETE`` event. ``reply`` is extra data after the ACK's two bytes.
    """

    id: int
    name: str
    doc: str
    args: tuple[Field, ...] = ()
    reply: tuple[Field, ...] = ()
    motion: bool = False
    args_layout: Layout = field(init=False, repr=False, compare=False)
    reply_layout: Layout = field(init=False, repr=False, compare=False)

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


class DeviceState(enum.IntEnum):
    """Coarse device state, the first telemetry byte of every device."""

    OFF = 0
    IDLE = 1
    ACTIVE = 2
    FAULT = 3


class Severity(enum.IntEnum):
    """Event severity."""

    INFO = 0
    WARNING = 1
    ERROR = 2
    CRITICAL = 3


class EventId(enum.IntEnum):
    """Event identifiers common to every device (EVENT payload byte 0)."""

    BOOT = 0x01
    DEADMAN_STOP = 0x02
    COMMAND_COMPLETE = 0x03
    FAULT_SET = 0x04
    FAULT_CLEARED = 0x05
    MODE_CHANGE = 0x06


class Completion(enum.IntEnum):
    """How a motion command ended (the ``value`` of a COMMAND_COMPLETE event)."""

    OK = 0
    STOPPED = 1
    BLOCKED = 2
    DEADMAN = 3
    FAULT = 4


#: Telemetry header common to every device, before the device's own fields.
TELEMETRY_HEADER = (
    Field("state", "B", "", "DeviceState: 0 off, 1 idle, 2 active, 3 fault"),
    Field("mode", "B", "", "device-specific mode (see the device's mode table)"),
    Field("faults", "H", "", "bit set of active faults (see the device's fault table)"),
    Field("uptime_ms", "I", "ms", "time since the device booted, wrapping at 2^32"),
)

EVENT_LAYOUT = Layout(
    (
        Field("event", "B", "", "EventId"),
        Field("severity", "B", "", "Severity: 0 info, 1 warning, 2 error, 3 critical"),
        Field("code", "H", "", "event-specific code (command id, fault bit, mode)"),
        Field("value", "f", "", "event-specific value (completion, measured value)"),
    )
)

IDENTIFY_LAYOUT = Layout(
    (
        Field("device_type", "B", "", "device type (the device's address, see the device list)"),
        Field("protocol_version", "B", "", "protocol version the firmware speaks"),
        Field("fw_major", "B", "", "firmware version, major"),
        Field("fw_minor", "B", "", "firmware version, minor"),
        Field("fw_patch", "B", "", "firmware version, patch"),
        Field("reserved", "B", "", "0"),
        Field("serial_number", "I", "", "unit serial number"),
        Field("deadman_ms", "H", "ms", "current dead-man timeout"),
        Field("telemetry_period_ms", "H", "ms", "current telemetry period, 0 = off"),
    )
)

HEARTBEAT_REQUEST_LAYOUT = Layout((Field("host_ms", "I", "ms", "host time, wrapping; echoed back"),))
HEARTBEAT_REPLY_LAYOUT = Layout(
    (
        Field("host_ms", "I", "ms", "the request's host_ms, echoed"),
        Field("state", "B", "", "DeviceState"),
        Field("mode", "B", "", "device mode"),
        Field("faults", "H", "", "active fault bits"),
    )
)

ACK_LAYOUT = Layout((Field("command", "B", "", "command id"), Field("result", "B", "", "AckResult")))
NACK_LAYOUT = Layout(
    (
        Field("command", "B", "", "command id (0 if the payload was empty)"),
        Field("code", "B", "", "NackCode"),
        Field("detail", "B", "", "1-based index of the offending argument, or 0"),
    )
)

#: Dead-man timeout at power-up, milliseconds.
DEFAULT_DEADMAN_MS = 1000
#: Shortest telemetry period a device streams at, milliseconds (shorter requests are raised to it).
MIN_TELEMETRY_PERIOD_MS = 10

COMMON_COMMANDS: tuple[Command, ...] = (
    Command(
        0x01,
        "set_telemetry_period",
        "Stream TELEMETRY every period_ms (0 stops streaming; 1..9 are raised to 10).",
        args=(Field("period_ms", "H", "ms", "telemetry period", 0, 60000),),
    ),
    Command(
        0x02,
        "set_deadman",
        "Set the dead-man timeout: actuators stop when no valid frame arrives from the host for this long.",
        args=(Field("timeout_ms", "H", "ms", "dead-man timeout", 50, 60000),),
    ),
    Command(0x03, "stop", "Stop every actuator now and return to idle (also ends any motion)."),
    Command(
        0x04,
        "self_test",
        "Run the built-in self-test.",
        reply=(Field("failed_checks", "H", "", "bit set of failed checks, 0 = pass"),),
    ),
    Command(0x05, "clear_fault", "Clear latched faults whose cause is gone; the device returns to idle."),
    Command(0x06, "get_telemetry", "Reply with one telemetry snapshot (same layout as TELEMETRY)."),
)


@dataclass(frozen=True)
class DeviceSpec:
    """One device type: its bus address, commands, telemetry, modes and fault bits."""

    name: str
    address: int
    doc: str
    commands: tuple[Command, ...]
    telemetry: tuple[Field, ...]
    modes: tuple[str, ...]
    faults: tuple[str, ...]
    telemetry_layout: Layout = field(init=False, repr=False, compare=False)
    _by_name: dict[str, Command] = field(init=False, repr=False, compare=False)
    _by_id: dict[int, Command] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        all_commands = COMMON_COMMANDS + self.commands
        object.__setattr__(self, "telemetry_layout", Layout(TELEMETRY_HEADER + self.telemetry))
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
        return COMMON_COMMANDS + self.commands

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

    def mode_name(self, mode: int) -> str:
        """The name of mode number ``mode`` (or ``mode_<n>`` if unknown)."""
        return self.modes[mode] if 0 <= mode < len(self.modes) else f"mode_{mode}"


def _f(name: str, unit: str, doc: str, lo: float | None = None, hi: float | None = None) -> Field:
    return Field(name, "f", unit, doc, lo, hi)


def _u8(name: str, doc: str, lo: int | None = None, hi: int | None = None) -> Field:
    return Field(name, "B", "", doc, lo, hi)


ANCHOR_COUNT = 4
POWER_BUSES = ("avionics", "drill", "scoop", "extractor", "anchor", "drive", "imu", "comms")

DRILL = DeviceSpec(
    name="drill",
    address=0x01,
    doc="Rotary-percussive auger drill: rotation, feed axis and percussion.",
    commands=(
        Command(0x10, "spin", "Set the auger speed (0 stops rotation).", args=(_f("rpm", "rpm", "speed", 0, 600),)),
        Command(
            0x11,
            "feed",
            "Advance the auger to depth_m at rate_m_s; completes at the depth or on a stall.",
            args=(
                _f("depth_m", "m", "target depth below the surface", 0.0, 3.0),
                _f("rate_m_s", "m/s", "feed rate", 0.0001, 0.01),
            ),
            motion=True,
        ),
        Command(
            0x12,
            "retract",
            "Withdraw the auger to depth 0 at rate_m_s.",
            args=(_f("rate_m_s", "m/s", "retract rate", 0.0001, 0.05),),
            motion=True,
        ),
        Command(0x13, "percussion", "Switch the hammer on (1) or off (0).", args=(_u8("on", "1 on, 0 off", 0, 1),)),
    ),
    telemetry=(
        _f("rpm", "rpm", "measured auger speed"),
        _f("depth_m", "m", "bit depth below the surface"),
        _f("feed_rate_m_s", "m/s", "measured feed rate (positive down)"),
        _f("torque_Nm", "N*m", "auger torque"),
        _f("current_A", "A", "motor current"),
        _f("power_W", "W", "electrical power"),
        _f("bit_temp_K", "K", "bit temperature"),
        _f("wob_N", "N", "weight on bit"),
        _f("cuttings_kg", "kg", "cuttings brought up since the last retract"),
        _f("volatiles_ice_fraction", "", "ice mass fraction of the cuttings, from the downhole volatiles sensor"),
        _u8("percussion", "1 when the hammer is on"),
    ),
    modes=("idle", "spinning", "feeding", "retracting", "stalled"),
    faults=("stall", "overtemp", "overcurrent", "sensor", "deadman"),
)

SCOOP = DeviceSpec(
    name="scoop",
    address=0x02,
    doc="Regolith excavator arm with a load-cell bucket that dumps into the extractor hopper.",
    commands=(
        Command(
            0x10,
            "move",
            "Move the arm to angle_rad at speed_rad_s.",
            args=(
                _f("angle_rad", "rad", "arm angle, 0 horizontal, positive up", -0.6, 2.2),
                _f("speed_rad_s", "rad/s", "arm speed", 0.01, 0.5),
            ),
            motion=True,
        ),
        Command(
            0x11,
            "dig",
            "Lower the bucket into the regolith to depth_m and sweep it full.",
            args=(_f("depth_m", "m", "cut depth", 0.005, 0.1),),
            motion=True,
        ),
        Command(0x12, "lift", "Raise the loaded bucket to the carry angle.", motion=True),
        Command(0x13, "dump", "Tip the bucket into the extractor hopper.", motion=True),
    ),
    telemetry=(
        _f("arm_angle_rad", "rad", "arm angle"),
        _f("bucket_load_kg", "kg", "bucket load-cell mass"),
        _f("current_A", "A", "motor current"),
        _f("dig_force_N", "N", "digging resistance"),
        _f("power_W", "W", "electrical power"),
        _f("dumped_kg", "kg", "regolith dumped into the hopper since boot"),
    ),
    modes=("idle", "moving", "digging", "lifting", "dumping"),
    faults=("overload", "overcurrent", "load_cell", "deadman"),
)

EXTRACTOR = DeviceSpec(
    name="extractor",
    address=0x03,
    doc="Thermal water extractor: sealed chamber, heater, vent and a cold trap feeding a water tank.",
    commands=(
        Command(
            0x10,
            "lid",
            "Seal (1) or open (0) the chamber lid; regolith is accepted only with the lid open.",
            args=(_u8("sealed", "1 seal, 0 open", 0, 1),),
            motion=True,
        ),
        Command(
            0x11,
            "heater_power",
            "Drive the heater open-loop at watts (0 = off).",
            args=(_f("watts", "W", "heater power", 0, 800),),
        ),
        Command(
            0x12,
            "heater_setpoint",
            "Regulate the chamber to kelvin with the heater (0 = off).",
            args=(_f("kelvin", "K", "chamber temperature setpoint", 0, 900),),
        ),
        Command(0x13, "vent", "Open (1) or close (0) the vent valve.", args=(_u8("open", "1 open, 0 closed", 0, 1),)),
        Command(0x14, "dump", "Dump the tailings out of the chamber (lid open).", motion=True),
        Command(0x15, "transfer_water", "Move the cold-trap water into the tank.", motion=True),
    ),
    telemetry=(
        _f("chamber_temp_K", "K", "chamber (regolith) temperature"),
        _f("pressure_Pa", "Pa", "chamber pressure"),
        _f("heater_power_W", "W", "heater electrical power"),
        _f("loaded_mass_kg", "kg", "regolith in the chamber"),
        _f("cold_trap_temp_K", "K", "cold-trap temperature"),
        _f("water_kg", "kg", "water in the cold trap"),
        _f("tank_kg", "kg", "water in the tank"),
        _f("heater_energy_J", "J", "heater energy since the chamber was last loaded"),
        _u8("lid", "0 open, 1 sealed, 2 moving"),
        _u8("vent", "1 when the vent is open"),
    ),
    modes=("idle", "sealing", "sealed", "heating", "venting", "dumping", "transferring"),
    faults=("overtemp", "heater_failure", "seal_leak", "pressure_sensor", "temp_sensor", "deadman"),
)

IMU = DeviceSpec(
    name="imu",
    address=0x04,
    doc="Six-axis inertial measurement unit on the rover body.",
    commands=(
        Command(
            0x10,
            "calibrate",
            "Average the gyro for duration_s at rest and store it as the bias.",
            args=(_f("duration_s", "s", "averaging time", 0.5, 30),),
            motion=True,
        ),
    ),
    telemetry=(
        _f("ax", "m/s^2", "specific force, x (forward)"),
        _f("ay", "m/s^2", "specific force, y (left)"),
        _f("az", "m/s^2", "specific force, z (up)"),
        _f("gx", "rad/s", "angular rate about x"),
        _f("gy", "rad/s", "angular rate about y"),
        _f("gz", "rad/s", "angular rate about z"),
        _f("temp_K", "K", "sensor temperature"),
    ),
    modes=("idle", "calibrating"),
    faults=("sensor", "saturated"),
)

ANCHOR = DeviceSpec(
    name="anchor",
    address=0x05,
    doc=f"{ANCHOR_COUNT} screw anchors; a mask selects anchors (bit i = anchor i).",
    commands=(
        Command(
            0x10,
            "deploy",
            "Drive the selected anchors into the ground to depth_m.",
            args=(_u8("mask", "anchors, bit i = anchor i", 1, 15), _f("depth_m", "m", "anchor depth", 0.01, 0.5)),
            motion=True,
        ),
        Command(
            0x11,
            "retract",
            "Withdraw the selected anchors.",
            args=(_u8("mask", "anchors, bit i = anchor i", 1, 15),),
            motion=True,
        ),
        Command(
            0x12,
            "preload",
            "Tension the selected deployed anchors to force_N.",
            args=(_u8("mask", "anchors, bit i = anchor i", 1, 15), _f("force_N", "N", "preload", 0, 2000)),
            motion=True,
        ),
    ),
    telemetry=tuple(_f(f"depth{i}_m", "m", f"anchor {i} depth") for i in range(ANCHOR_COUNT))
    + tuple(_f(f"preload{i}_N", "N", f"anchor {i} preload force") for i in range(ANCHOR_COUNT))
    + (_f("holding_N", "N", "estimated total holding force"),)
    + (_u8("deployed_mask", "anchors fully deployed"), _u8("slip_mask", "anchors slipping now")),
    modes=("idle", "deploying", "retracting", "preloading", "holding"),
    faults=("slip", "overcurrent", "deadman"),
)

DRIVE = DeviceSpec(
    name="drive",
    address=0x06,
    doc="Skid-steer wheel drive with odometry.",
    commands=(
        Command(
            0x10,
            "wheels",
            "Set left and right wheel ground speeds.",
            args=(_f("left_m_s", "m/s", "left speed", -0.3, 0.3), _f("right_m_s", "m/s", "right speed", -0.3, 0.3)),
        ),
        Command(
            0x11,
            "twist",
            "Set body speed and turn rate.",
            args=(_f("v_m_s", "m/s", "forward speed", -0.3, 0.3), _f("omega_rad_s", "rad/s", "turn rate", -1, 1)),
        ),
        Command(
            0x12,
            "move",
            "Drive straight for distance_m at speed_m_s, then stop.",
            args=(
                _f("distance_m", "m", "signed distance", -100, 100),
                _f("speed_m_s", "m/s", "speed", 0.01, 0.3),
            ),
            motion=True,
        ),
        Command(
            0x13,
            "turn",
            "Turn in place by angle_rad at rate_rad_s, then stop.",
            args=(
                _f("angle_rad", "rad", "signed angle", -3.1416, 3.1416),
                _f("rate_rad_s", "rad/s", "turn rate", 0.01, 1),
            ),
            motion=True,
        ),
    ),
    telemetry=(
        _f("x_m", "m", "odometry x"),
        _f("y_m", "m", "odometry y"),
        _f("heading_rad", "rad", "odometry heading"),
        _f("v_m_s", "m/s", "measured forward speed"),
        _f("omega_rad_s", "rad/s", "measured turn rate"),
        _f("current_left_A", "A", "left motor current"),
        _f("current_right_A", "A", "right motor current"),
        _f("slip", "", "slip ratio estimate, 0..1"),
        _f("odometer_m", "m", "distance driven since boot"),
    ),
    modes=("idle", "driving", "moving", "turning"),
    faults=("wheel_stall", "overcurrent", "deadman"),
)

POWER = DeviceSpec(
    name="power",
    address=0x07,
    doc=f"Battery, solar array and {len(POWER_BUSES)} switched load buses: " + ", ".join(POWER_BUSES) + ".",
    commands=(
        Command(
            0x10,
            "bus",
            "Switch bus index on (1) or off (0).",
            args=(
                _u8("index", "bus index (see the bus list)", 0, len(POWER_BUSES) - 1),
                _u8("on", "1 on, 0 off", 0, 1),
            ),
        ),
    ),
    telemetry=(
        _f("battery_V", "V", "battery voltage"),
        _f("battery_A", "A", "battery current, positive discharging"),
        _f("soc", "", "state of charge, 0..1"),
        _f("solar_W", "W", "solar array input"),
        _f("load_W", "W", "total load"),
        *(_f(f"{bus}_W", "W", f"{bus} bus load") for bus in POWER_BUSES),
        _u8("bus_mask", "bit i set when bus i is on"),
    ),
    modes=("idle", "charging", "discharging"),
    faults=("low_battery", "overcurrent", "sensor"),
)

HOPPER = DeviceSpec(
    name="hopper",
    address=0x08,
    doc="Microgravity hopping mobility: an internal flywheel torquer launches the rover (MINERVA-II, MASCOT); "
    "it draws on the drive bus.",
    commands=(
        Command(
            0x10,
            "hop",
            "Spin the flywheel up, brake it to launch at speed_m_s toward heading_rad, fly, bounce and settle. "
            "Completes OK settled upright, FAULT tumbled or lost off the surface, BLOCKED when it did not launch.",
            args=(
                _f("heading_rad", "rad", "launch direction in the position frame", -3.1416, 3.1416),
                _f("speed_m_s", "m/s", "launch speed", 0.001, 0.5),
                _f("elevation_rad", "rad", "launch elevation above the local horizontal", 0.1, 1.4),
            ),
            motion=True,
        ),
        Command(0x11, "upright", "Right a tumbled rover with flywheel torque pulses.", motion=True),
    ),
    telemetry=(
        _f("flywheel_rpm", "rpm", "flywheel speed"),
        _f("x_m", "m", "position estimate x (inertial dead reckoning of the hops)"),
        _f("y_m", "m", "position estimate y"),
        _f("height_m", "m", "height above the local surface (0 settled)"),
        _f("speed_m_s", "m/s", "speed over the surface"),
        _f("hop_m", "m", "ground distance of the last hop"),
        _f("power_W", "W", "electrical power"),
        Field("hops", "H", "", "hops since boot"),
        _u8("bounces", "bounces of the current or last hop"),
        _u8("upright", "1 when the rover rests on its feet"),
    ),
    modes=("settled", "spinning_up", "ballistic", "bouncing", "settling", "righting", "lost"),
    faults=("failed_hop", "tumbled", "flywheel_stuck", "lost", "deadman"),
)

DEVICES: dict[str, DeviceSpec] = {d.name: d for d in (DRILL, SCOOP, EXTRACTOR, IMU, ANCHOR, DRIVE, POWER, HOPPER)}
DEVICE_BY_ADDRESS: dict[int, DeviceSpec] = {d.address: d for d in DEVICES.values()}


def device_spec(name: str) -> DeviceSpec:
    """The spec of the device called ``name``; raises ``KeyError`` naming the known devices."""
    try:
        return DEVICES[name]
    except KeyError:
        raise KeyError(f"unknown device {name!r}; expected one of {sorted(DEVICES)}") from None
