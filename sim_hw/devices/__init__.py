"""One firmware emulator per device type. Each module ``sim_hw.devices.<name>`` defines ``FIRMWARE``,
its :class:`~sim_hw.firmware.Firmware` subclass."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim_hw.firmware import Firmware

#: Device names, in the order the world steps them (sources of load before the power system).
DEVICE_NAMES = ("drive", "anchor", "drill", "scoop", "extractor", "imu", "power")


def firmware_class(name: str) -> type[Firmware]:
    """The emulator class of device ``name``; raises ``KeyError`` naming the known devices."""
    if name not in DEVICE_NAMES:
        raise KeyError(f"no emulator for device {name!r}; expected one of {list(DEVICE_NAMES)}")
    return importlib.import_module(f"sim_hw.devices.{name}").FIRMWARE
