"""The rover's devices as flight sees them: connected, polled, published as telemetry channels.

The rig publishes every device's telemetry into the :class:`~flight.telemetry.TelemetryTable` as
``<device>.<field>`` channels (plus ``<device>.state``, ``.mode``, ``.faults`` and ``.link_up``) and
turns device events into flight events. It does **not** send actuation commands: those go through
:class:`flight.interlocks.Interlocks`, the only path to the hardware.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flight.events import EventLog, Severity
from flight.telemetry import ChannelSpec, TelemetryTable
from hal.clock import Clock
from hal.device import Device, DeviceEvent, telemetry_field_names
from hal.devices import open_device
from hal.errors import HalError
from hal.icd import DEVICES
from hal.icd import Severity as DeviceSeverity

_LOGGER = logging.getLogger(__name__)

_SEVERITY = {
    DeviceSeverity.INFO: Severity.INFO,
    DeviceSeverity.WARNING: Severity.WARNING,
    DeviceSeverity.ERROR: Severity.ERROR,
    DeviceSeverity.CRITICAL: Severity.CRITICAL,
}


class Rig:
    """Every configured device, keyed by device name."""

    def __init__(self, devices: Mapping[str, Device], clock: Clock, events: EventLog, table: TelemetryTable) -> None:
        self.devices = dict(devices)
        self.clock = clock
        self.events = events
        self.table = table
        self._seen: dict[str, int] = {}
        for name, device in self.devices.items():
            device.on_event(lambda event, name=name: self._on_device_event(name, event))
            table.define_many(_channel_specs(name))

    @classmethod
    def from_config(cls, config: Any, clock: Clock, events: EventLog, table: TelemetryTable) -> Rig:
        """Build the drivers of every enabled device in an :class:`isru.config.IsruConfig`."""
        devices = {
            name: open_device(name, dev, config.transport, clock) for name, dev in config.devices.items() if dev.enabled
        }
        return cls(devices, clock, events, table)

    def __contains__(self, name: str) -> bool:
        return name in self.devices

    def device(self, name: str) -> Device:
        """The driver of device ``name``."""
        try:
            return self.devices[name]
        except KeyError:
            raise KeyError(f"no device {name!r} on this rig; it has {sorted(self.devices)}") from None

    def connect(self) -> list[str]:
        """Connect every device; failures become events (the device stays faulted and keeps retrying).
        Returns the names of the devices that failed."""
        failed = []
        for name, device in self.devices.items():
            try:
                identity = device.connect()
            except HalError as exc:
                failed.append(name)
                self.events.error("rig", "connect_failed", f"{name}: {exc}", device=name)
                continue
            self.events.info(
                "rig",
                "connected",
                f"{name}: firmware {identity.firmware}, serial {identity.serial_number:08x}",
                device=name,
            )
        return failed

    def close(self) -> None:
        """Close every device's port."""
        for device in self.devices.values():
            device.close()

    def poll(self, _now: float = 0.0) -> None:
        """Poll every device and publish new telemetry (the executive calls this each control tick)."""
        t = self.clock.now()
        for name, device in self.devices.items():
            device.poll()
            snapshot = device.telemetry
            count = device.telemetry_count
            if snapshot is not None and self._seen.get(name) != count:
                self._seen[name] = count
                self.table.update(_channels(name, device, snapshot), t)
            link_up = device.link_up
            if self.table.get(f"{name}.link_up") != link_up:
                self.table.update({f"{name}.link_up": link_up}, t)

    def _on_device_event(self, name: str, event: DeviceEvent) -> None:
        severity = _SEVERITY.get(event.severity, Severity.INFO)
        self.events.emit(severity, name, event.name.lower(), event.text, code=event.code, value=event.value)


def _channels(name: str, device: Device, snapshot: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        f"{name}.state": snapshot.state.name.lower(),
        f"{name}.mode": snapshot.mode,
        f"{name}.faults": ",".join(snapshot.faults),
    }
    for field in telemetry_field_names(type(snapshot)):
        values[f"{name}.{field}"] = getattr(snapshot, field)
    return values


def _channel_specs(name: str) -> list[ChannelSpec]:
    spec = DEVICES.get(name)
    if spec is None:
        return []
    specs = [
        ChannelSpec(f"{name}.state", description=f"{name} device state", type="str"),
        ChannelSpec(f"{name}.mode", description=f"{name} mode", type="str"),
        ChannelSpec(f"{name}.faults", description=f"{name} active faults", type="str"),
        ChannelSpec(f"{name}.link_up", description=f"{name} serial link configured and answering", type="bool"),
    ]
    for field in spec.telemetry:
        kind = "float" if field.fmt == "f" else "int"
        specs.append(ChannelSpec(f"{name}.{field.name}", field.unit, field.doc, kind))
    return specs
