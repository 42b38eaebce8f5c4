"""Typed drivers of the eight rover devices, and :func:`open_device` to build one from configuration."""

from __future__ import annotations

from base.clock import Clock
from hal.config import DeviceConfig, TransportConfig
from hal.device import Device
from hal.devices.anchor import Anchor
from hal.devices.drill import Drill
from hal.devices.drive import Drive
from hal.devices.extractor import ThermalExtractor
from hal.devices.hopper import Hopper
from hal.devices.imu import Imu
from hal.devices.power import Power
from hal.devices.scoop import Scoop
from hal.icd import DEVICES
from hal.transport import Transport

#: Driver class of each device, by ICD device name.
DRIVER_CLASSES: dict[str, type[Device]] = {
    "drill": Drill,
    "scoop": Scoop,
    "extractor": ThermalExtractor,
    "imu": Imu,
    "anchor": Anchor,
    "drive": Drive,
    "power": Power,
    "hopper": Hopper,
}


def driver_class(name: str) -> type[Device]:
    """The driver class of device ``name``; ``KeyError`` names the known devices."""
    try:
        return DRIVER_CLASSES[name]
    except KeyError:
        raise KeyError(f"no driver for device {name!r}; expected one of {sorted(DRIVER_CLASSES)}") from None


def open_device(
    name: str,
    device_config: DeviceConfig,
    transport_config: TransportConfig,
    clock: Clock,
    *,
    connect: bool = False,
) -> Device:
    """Build the driver of device ``name`` on a transport to ``device_config.port``.

    The port URL alone decides what is on the other end: ``sim://drill`` (an emulator in this process;
    ``sim_hw`` must have been imported to register the scheme), a pty path from ``isru sim --pty``, or
    the real device's ``/dev/serial/by-id/...``.

    The port is not opened: call :meth:`Device.connect` (identify, self-test, configure dead-man and
    telemetry period), or pass ``connect=True`` to do it here (the port is closed again if that fails).
    Raises ``KeyError`` for an unknown device name and :class:`~base.config_loader.ConfigError` for a
    limit the driver does not understand. ``device_config.enabled`` is the caller's to honour.
    """
    cls = driver_class(name)
    transport = Transport(
        device_config.port,
        clock=clock,
        address=DEVICES[name].address,
        name=name,
        baud=device_config.baud or transport_config.baud,
        timeout_s=transport_config.timeout_s,
        retries=transport_config.retries,
        reconnect_min_s=transport_config.reconnect_min_s,
        reconnect_max_s=transport_config.reconnect_max_s,
    )
    device = cls(
        transport,
        clock,
        limits=device_config.limits,
        telemetry_period_s=device_config.telemetry_period_s,
        deadman_s=device_config.deadman_s,
        silence_timeout_s=transport_config.silence_timeout_s,
        name=name,
        event_resend_s=device_config.event_resend_s,
    )
    if connect:
        try:
            device.connect()
        except Exception:
            device.close()
            raise
    return device


__all__ = [
    "DRIVER_CLASSES",
    "Anchor",
    "Drill",
    "Drive",
    "Hopper",
    "Imu",
    "Power",
    "Scoop",
    "ThermalExtractor",
    "driver_class",
    "open_device",
]
