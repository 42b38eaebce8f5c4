"""Message payloads of ``docs/icd.md`` in code: the common messages and each device's command,
telemetry and fault tables.

The definition is data, ``hal/icd.toml`` (read by :mod:`hal.icd_load`); this module builds the tables
from it at import, so both sides use one definition: hal drivers pack commands and unpack telemetry with
it, the emulators in ``sim_hw`` parse commands and pack telemetry with it, and ``docs/icd.md``'s tables
and the C header ``docs/isru_icd.h`` are rendered from it (``python -m hal.icd_gen``; a test fails when
they are stale). The code enums below are checked against the definition at import.

Every layout is fixed and little-endian so that C firmware can use packed structs.
"""

from __future__ import annotations

import enum

from hal.errors import DefinitionError
from hal.icd_load import DEFINITION_PATH, Definition, load_definition
from hal.icd_model import Command, DeviceSpec, Field, Layout, Precondition
from hal.protocol import NackCode


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


#: The whole definition, read from ``hal/icd.toml``.
DEFINITION: Definition = load_definition(DEFINITION_PATH)


def _check_codes(definition: Definition) -> None:
    """The code enums must equal the definition's tables (a renamed or renumbered code is a bug here)."""
    pairs = (
        ("events", {e["name"]: e["value"] for e in definition.events}, {e.name: int(e) for e in EventId}),
        ("nack_codes", {n["name"]: n["value"] for n in definition.nack_codes}, {n.name: int(n) for n in NackCode}),
    )
    for table, defined, coded in pairs:
        if defined != coded:
            raise DefinitionError(f"{DEFINITION_PATH}: {table} {defined} differ from the code's {coded}")


_check_codes(DEFINITION)

#: Events a device resends until the host acknowledges them (``ack_event``).
RELIABLE_EVENTS: frozenset[int] = frozenset(e["value"] for e in DEFINITION.events if e.get("reliable", False))

_PROTOCOL = DEFINITION.protocol
#: Dead-man timeout at power-up, milliseconds.
DEFAULT_DEADMAN_MS: int = _PROTOCOL["default_deadman_ms"]
#: Shortest telemetry period a device streams at, milliseconds (shorter requests are raised to it).
MIN_TELEMETRY_PERIOD_MS: int = _PROTOCOL["min_telemetry_period_ms"]
#: Shortest event resend period, milliseconds (shorter non-zero requests are raised to it).
MIN_EVENT_RESEND_MS: int = _PROTOCOL["min_event_resend_ms"]
#: Unacknowledged reliable events a device keeps for resending.
EVENT_QUEUE: int = _PROTOCOL["event_queue"]

#: Telemetry header common to every device, before the device's own fields.
TELEMETRY_HEADER: tuple[Field, ...] = DEFINITION.layouts["telemetry_header"]
EVENT_LAYOUT = Layout(DEFINITION.layouts["event"])
IDENTIFY_LAYOUT = Layout(DEFINITION.layouts["identify"])
HEARTBEAT_REQUEST_LAYOUT = Layout(DEFINITION.layouts["heartbeat_request"])
HEARTBEAT_REPLY_LAYOUT = Layout(DEFINITION.layouts["heartbeat_reply"])
ACK_LAYOUT = Layout(DEFINITION.layouts["ack"])
NACK_LAYOUT = Layout(DEFINITION.layouts["nack"])

COMMON_COMMANDS: tuple[Command, ...] = DEFINITION.common

DEVICES: dict[str, DeviceSpec] = {d.name: d for d in DEFINITION.devices}
DEVICE_BY_ADDRESS: dict[int, DeviceSpec] = {d.address: d for d in DEVICES.values()}


def device_spec(name: str) -> DeviceSpec:
    """The spec of the device called ``name``; raises ``KeyError`` naming the known devices."""
    try:
        return DEVICES[name]
    except KeyError:
        raise KeyError(f"unknown device {name!r}; expected one of {sorted(DEVICES)}") from None


DRILL = DEVICES["drill"]
SCOOP = DEVICES["scoop"]
EXTRACTOR = DEVICES["extractor"]
IMU = DEVICES["imu"]
ANCHOR = DEVICES["anchor"]
DRIVE = DEVICES["drive"]
POWER = DEVICES["power"]
HOPPER = DEVICES["hopper"]

ANCHOR_COUNT: int = ANCHOR.constants["anchor_count"]
POWER_BUSES: tuple[str, ...] = tuple(POWER.constants["buses"])

__all__ = [
    "ACK_LAYOUT",
    "ANCHOR",
    "ANCHOR_COUNT",
    "COMMON_COMMANDS",
    "DEFAULT_DEADMAN_MS",
    "DEFINITION",
    "DEVICES",
    "DEVICE_BY_ADDRESS",
    "DRILL",
    "DRIVE",
    "EVENT_LAYOUT",
    "EVENT_QUEUE",
    "EXTRACTOR",
    "HEARTBEAT_REPLY_LAYOUT",
    "HEARTBEAT_REQUEST_LAYOUT",
    "HOPPER",
    "IDENTIFY_LAYOUT",
    "IMU",
    "MIN_EVENT_RESEND_MS",
    "MIN_TELEMETRY_PERIOD_MS",
    "NACK_LAYOUT",
    "POWER",
    "POWER_BUSES",
    "RELIABLE_EVENTS",
    "SCOOP",
    "TELEMETRY_HEADER",
    "Command",
    "Completion",
    "DeviceSpec",
    "DeviceState",
    "EventId",
    "Field",
    "Layout",
    "Precondition",
    "Severity",
    "device_spec",
]
