"""The device emulators: one module ``sim_hw.devices.<name>`` per device type, each defining ``FIRMWARE``,
its :class:`~sim_hw.firmware.Firmware` subclass."""

from __future__ import annotations

import importlib

from sim_hw.device_names import DEVICE_NAMES
from sim_hw.errors import UnknownDeviceError
from sim_hw.firmware import Firmware


def firmware_class(name: str) -> type[Firmware]:
    """The emulator class of device ``name``; raises :class:`UnknownDeviceError` naming the known devices."""
    if name not in DEVICE_NAMES:
        raise UnknownDeviceError(f"no emulator for device {name!r}; expected one of {list(DEVICE_NAMES)}")
    firmware: type[Firmware] = importlib.import_module(f"sim_hw.devices.{name}").FIRMWARE
    return firmware


__all__ = ["DEVICE_NAMES", "firmware_class"]
