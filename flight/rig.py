"""The rover's devices as flight sees them: connected, polled, published as telemetry channels.

The rig publishes every device's telemetry into the :class:`~flight.telemetry.TelemetryTable` as
``<device>.<field>`` channels (plus ``<device>.state``, ``.mode``, ``.faults`` and ``.link_up``) and
turns device events into flight events. It does **not** send actuation commands: those go through
:class:`flight.interlocks.Interlocks`, the only path to the hardware.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from base.clock import Clock
from flight.config import FlightSegmentConfig
from flight.events import EventLog, Severity
from flight.telemetry import ChannelSpec, TelemetryTable
from hal.device import Device
from hal.device_events import DeviceEvent
from hal.devices import open_device
from hal.errors import DeviceFault, HalError
from hal.icd import DEVICES, DeviceState
from hal.icd import Severity as DeviceSeverity
from hal.telemetry import telemetry_field_names

_STATE_NAMES = {state: state.name.lower() for state in DeviceState}
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
            device.on_event(functools.partial(self._on_device_event, name))
            table.define_many(_channel_specs(name))
        #: Per device: name, driver, its link channel and its telemetry channels (built at the first snapshot).
        self._polled = [(name, device, f"{name}.link_up") for name, device in self.devices.items()]
        self._channel_maps: dict[tuple[str, type], _ChannelMap] = {}

    @classmethod
    def from_config(cls, config: FlightSegmentConfig, clock: Clock, events: EventLog, table: TelemetryTable) -> Rig:
        """Build the drivers of every enabled device in a :class:`flight.config.FlightSegmentConfig`."""
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
        Returns the names of the devices that failed.

        A device whose self-test fails on a fault latched before this start (the dead-man that stopped it
        while flight was down, a stall) gets its latched faults cleared and is tested again
        (docs/operations.md, section 6): a fault whose cause persists stays, and the device is reported
        failed with it, so ``mission.resume`` is refused while a step needs it."""
        failed = []
        for name, device in self.devices.items():
            try:
                identity = self._connect_one(name, device)
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

    def _connect_one(self, name: str, device: Device) -> Any:
        """Connect ``device``; on a failed self-test, clear its latched faults and test once more."""
        try:
            return device.connect()
        except DeviceFault as exc:
            self.events.warning("rig", "self_test_failed", f"{exc}: clearing latched faults", device=name)
            still = device.clear_fault()
            self.events.info(
                "rig", "faults_cleared", f"{name}: faults still active: {', '.join(still) or 'none'}", device=name
            )
            return device.connect()

    def close(self) -> None:
        """Close every device's port."""
        for device in self.devices.values():
            device.close()

    def poll(self, _now: float = 0.0) -> None:
        """Poll every device and publish new telemetry (the executive calls this each control tick)."""
        t = self.clock.now()
        seen = self._seen
        table = self.table
        for name, device, link_channel in self._polled:
            device.poll()
            count = device.telemetry_count
            if seen.get(name) != count:
                snapshot = device.telemetry
                if snapshot is not None:
                    seen[name] = count
                    table.update(self._channels(name, snapshot), t)
            link_up = device.link_up
            if table.get(link_channel) != link_up:
                table.update({link_channel: link_up}, t)

    def _channels(self, name: str, snapshot: Any) -> dict[str, Any]:
        key = (name, type(snapshot))
        channel_map = self._channel_maps.get(key)
        if channel_map is None:
            channel_map = self._channel_maps[key] = _ChannelMap(name, type(snapshot))
        return channel_map.values(snapshot)

    def _on_device_event(self, name: str, event: DeviceEvent) -> None:
        severity = _SEVERITY.get(event.severity, Severity.INFO)
        self.events.emit(severity, name, event.name.lower(), event.text, code=event.code, value=event.value)


class _ChannelMap:
    """How one driver's telemetry snapshot becomes ``<device>.<field>`` channel values."""

    def __init__(self, name: str, snapshot_class: type) -> None:
        self.state = f"{name}.state"
        self.mode = f"{name}.mode"
        self.faults = f"{name}.faults"
        self.fields = tuple((f"{name}.{field}", field) for field in telemetry_field_names(snapshot_class))

    def values(self, snapshot: Any) -> dict[str, Any]:
        """The channel values of ``snapshot``."""
        values: dict[str, Any] = {
            self.state: _STATE_NAMES[snapshot.state],
            self.mode: snapshot.mode,
            self.faults: ",".join(snapshot.faults),
        }
        for channel, field in self.fields:
            values[channel] = getattr(snapshot, field)
        return values


def _channel_specs(name: str) -> list[ChannelSpec]:
    spec = DEVICES.get(name)
    if spec is None:
        return []
    specs = [
        ChannelSpec(f"{name}.state", "enum", f"{name} device state: off, idle, active or fault", "str"),
        ChannelSpec(f"{name}.mode", "enum", f"{name} mode (the device's mode table in docs/icd.md)", "str"),
        ChannelSpec(f"{name}.faults", "text", f"{name} active faults, comma-separated", "str"),
        ChannelSpec(f"{name}.link_up", description=f"{name} serial link configured and answering", type="bool"),
    ]
    for field in spec.telemetry:
        kind = "float" if field.fmt == "f" else "int"
        # A field the ICD bounds (a fraction 0..1, an enum) is out of its physical range outside them: red.
        specs.append(
            ChannelSpec(f"{name}.{field.name}", field.unit, field.doc, kind, alarm_low=field.lo, alarm_high=field.hi)
        )
    return specs
