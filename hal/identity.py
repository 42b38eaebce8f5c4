"""Who is on the port: the IDENTIFY reply checked against the device the configuration expects, and the
self-test result in words."""

from __future__ import annotations

from dataclasses import dataclass

from hal.errors import DeviceMismatch
from hal.icd import DEVICE_BY_ADDRESS, IDENTIFY_LAYOUT, DeviceSpec
from hal.protocol import PROTOCOL_VERSION, Frame, MsgType

#: Names of the self-test check bits. The firmware sets bit 0 when a fault is active; the ICD defines
#: no other bit, so the rest are reported by number.
SELF_TEST_CHECKS = ("active_fault",)


@dataclass(frozen=True)
class Identity:
    """What a device said about itself in its IDENTIFY reply."""

    device_type: int
    firmware: str  # "major.minor.patch"
    serial_number: int
    protocol_version: int
    icd_hash: int = 0


def identity_from_reply(spec: DeviceSpec, where: str, response: Frame) -> Identity:
    """The :class:`Identity` in IDENTIFY reply ``response``; :class:`~hal.errors.DeviceMismatch` (naming
    ``where``, e.g. ``drill on /dev/ttyUSB0``) when it is not one, another device type or protocol
    version answered, or the device was built from another ICD definition (its ``icd_hash``)."""
    if response.msg_type != MsgType.IDENTIFY or len(response.payload) != IDENTIFY_LAYOUT.size:
        hint = ""
        if response.msg_type == MsgType.IDENTIFY and len(response.payload) == IDENTIFY_LAYOUT.size - 4:
            hint = " (firmware from before the definition hash: rebuild it from hal/icd.toml)"
        raise DeviceMismatch(
            f"{where}: expected a {IDENTIFY_LAYOUT.size}-byte IDENTIFY reply, "
            f"found message type 0x{response.msg_type:02x} with {len(response.payload)} bytes{hint}"
        )
    values = IDENTIFY_LAYOUT.unpack(response.payload)
    found = values["device_type"]
    if found != spec.device_type:
        other = DEVICE_BY_ADDRESS.get(found)
        found_name = other.name if other is not None else "an unknown device"
        raise DeviceMismatch(
            f"{where}: expected device type 0x{spec.device_type:02x} ({spec.name}), found 0x{found:02x} ({found_name})"
        )
    if values["protocol_version"] != PROTOCOL_VERSION:
        raise DeviceMismatch(
            f"{where}: expected protocol version {PROTOCOL_VERSION}, found {values['protocol_version']}"
        )
    if values["icd_hash"] != spec.icd_hash:
        raise DeviceMismatch(
            f"{where}: the device was built from another ICD definition: it reports definition hash "
            f"0x{values['icd_hash']:08X}, this host's definition of {spec.name} hashes to 0x{spec.icd_hash:08X}; "
            "build the firmware and the host from the same hal/icd.toml (docs/isru_icd.h ICD_HASH_"
            f"{spec.name.upper()})"
        )
    return Identity(
        device_type=found,
        firmware=f"{values['fw_major']}.{values['fw_minor']}.{values['fw_patch']}",
        serial_number=values["serial_number"],
        protocol_version=values["protocol_version"],
        icd_hash=values["icd_hash"],
    )


def identity_text(spec: DeviceSpec, identity: Identity | None) -> str:
    """``drill s/n 0x1 fw 1.2.3``: the device type with its serial number and firmware, where known."""
    if identity is None:
        return spec.name
    return f"{spec.name} s/n {identity.serial_number:#x} fw {identity.firmware}"


def failed_checks(bits: int) -> tuple[str, ...]:
    """Names of the failed self-test checks in result ``bits`` (empty = pass)."""
    return tuple(SELF_TEST_CHECKS[i] if i < len(SELF_TEST_CHECKS) else f"check_{i}" for i in range(16) if bits >> i & 1)


__all__ = ["SELF_TEST_CHECKS", "Identity", "failed_checks", "identity_from_reply", "identity_text"]
