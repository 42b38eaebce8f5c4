"""Power system emulator: Li-ion battery, sun-tracking solar array and eight switched load buses.

Each step (the world steps this device last, so it sees the loads of the same step) it sums the load of
every bus — the ``power_W()`` of the device named like the bus, or a constant for the avionics and comms
buses — subtracts the solar input, solves the battery's operating point (current, terminal voltage) and
integrates the state of charge. It models the hardware a real power unit has below any software: an
electronic fuse per bus that switches the bus off on overcurrent, and an undervoltage cutoff that sheds the
heavy buses when the battery voltage sags. ``docs/sim/mobility-power.md`` gives the equations, parameters
and sources.

Buses are switched with the ``bus`` command; the state lives in ``world.rover.bus_on`` (devices read it
through :attr:`~sim_hw.firmware.Firmware.bus_powered`). Bus switches are not actuators under the dead-man
rule (``docs/icd.md`` section 9) and are accepted in every state, faults included, except that the
undervoltage cutoff holds the heavy buses off until the battery recovers.
"""

from __future__ import annotations

import logging
import math

from hal.icd import POWER, POWER_BUSES, EventId, Severity
from hal.protocol import NackCode
from sim_hw.errors import Nack
from sim_hw.fault_params import choice, declares, number
from sim_hw.firmware import Firmware
from sim_hw.physics.electrical import BatteryPack, SolarArray
from sim_hw.terrain import SITE_RADIUS_M, illumination_at
from sim_hw.world_view import PoweredDevice, WorldView

_LOGGER = logging.getLogger(__name__)

MODE_IDLE, MODE_CHARGING, MODE_DISCHARGING = range(3)

#: State of charge at power-up (assumption: the rover starts a sol charged).
INITIAL_SOC = 0.95
#: ``low_battery`` is raised below this state of charge.
LOW_BATTERY_SOC = 0.20
#: Undervoltage cutoff: heavy buses are shed when the loaded cell voltage falls below this, V/cell ...
CUTOFF_CELL_V = 3.3
#: ... and may be switched on again once the open-circuit cell voltage is back above this, V/cell.
RECOVER_CELL_V = 3.65
#: Buses the undervoltage cutoff sheds.
HEAVY_BUSES = ("drill", "scoop", "extractor", "anchor", "drive")
#: Buses without an emulated device: constant loads, W (assumptions: flight computer, device MCUs and
#: heaters of the avionics box; radio in receive with periodic transmit).
CONSTANT_LOADS_W = {"avionics": 15.0, "comms": 10.0}
#: Electronic-fuse trip current of each bus, A (assumptions, above each device's normal peak).
FUSE_TRIP_A = {
    "avionics": 4.0,
    "drill": 30.0,
    "scoop": 15.0,
    "extractor": 40.0,
    "anchor": 15.0,
    "drive": 20.0,
    "imu": 2.0,
    "comms": 4.0,
}
#: Battery current (A) beyond which the mode is charging (negative) or discharging (positive); a smaller
#: current leaves the mode unchanged unless it is within the idle band.
MODE_ENTER_A = 0.5
MODE_IDLE_A = 0.1
#: The site under the rover is looked up again after it moved this far, m.
SITE_RECHECK_M = 0.1


#: Devices without a bus of their own, on the bus of another (the hopper on the drive bus: both are mobility).
BUS_SHARERS: dict[str, tuple[str, ...]] = {"drive": ("hopper",)}


class _SharedBus:
    """Several devices on one bus: their draws add up."""

    def __init__(self, devices: list[PoweredDevice]) -> None:
        self._devices = devices

    def power_W(self) -> float:
        """The bus load, W."""
        return sum(d.power_W() for d in self._devices)


class PowerFirmware(Firmware):
    """The power distribution unit: battery monitor, array regulator, bus switches with e-fuses."""

    spec = POWER

    def __init__(self, world: WorldView, *, serial_number: int, seed: int = 0) -> None:
        super().__init__(world, serial_number=serial_number, seed=seed)
        self.pack = BatteryPack()
        self.array = SolarArray()
        self.soc = INITIAL_SOC
        self.battery_V = self.pack.ocv_V(self.soc)
        self.battery_A = 0.0
        self.solar_W = 0.0
        self.load_W = 0.0
        self.bus_W = dict.fromkeys(POWER_BUSES, 0.0)
        self.cutoff = False
        self.solar_override_W: float | None = None
        self._shorts: dict[str, tuple[float, float]] = {}  # bus -> (amps, until t)
        self._extra_W: dict[str, float] = {}  # bus -> load-bank watts
        self._lookup_xy = (math.inf, math.inf)
        self._illumination = 1.0
        self._sites_ref: object = None
        self._bus_sources: list[tuple[str, float, PoweredDevice | None, float]] = []
        self._cutoff_V = CUTOFF_CELL_V * self.pack.series
        self._sources_for = -1
        for bus in POWER_BUSES:
            world.rover.bus_on.setdefault(bus, True)

    # -------------------------------------------------------------------------------- commands
    def cmd_bus(self, index: int, on: int) -> None:
        """Switch bus ``index`` (see ``POWER_BUSES``) on (1) or off (0); NACK ``BAD_STATE`` for switching a
        heavy bus on while the undervoltage cutoff holds."""
        name = POWER_BUSES[index]
        if on and self.cutoff and name in HEAVY_BUSES:
            raise Nack(NackCode.BAD_STATE)
        self.world.rover.bus_on[name] = bool(on)
        _LOGGER.info("power: bus %s %s at t=%.3f", name, "on" if on else "off", self.world.t)

    def cmd_clear_fault(self) -> None:
        """Clear latched faults whose cause is gone: ``low_battery`` stays while the state of charge is below
        its threshold, ``overcurrent`` while a short is present."""
        keep = 0
        if self.soc < LOW_BATTERY_SOC:
            keep |= self.spec.fault_bit("low_battery")
        if any(self.world.t < until for _, until in self._shorts.values()):
            keep |= self.spec.fault_bit("overcurrent")
        self.faults &= keep
        if not self.all_faults:
            self.emit_event(EventId.FAULT_CLEARED, Severity.INFO, 0, 0.0)

    # ------------------------------------------------------------------------------ device API
    def is_actuating(self) -> bool:
        """Never: bus switches are not actuators under the dead-man rule (``docs/icd.md`` section 9)."""
        return False

    def telemetry_values(self) -> dict[str, float]:
        values: dict[str, float] = {
            "battery_V": self.battery_V,
            "battery_A": self.battery_A,
            "soc": self.soc,
            "solar_W": self.solar_W,
            "load_W": self.load_W,
        }
        for bus in POWER_BUSES:
            values[f"{bus}_W"] = self.bus_W[bus]
        values["bus_mask"] = self.bus_mask
        return values

    @property
    def bus_mask(self) -> int:
        """Bit i set while bus i (of ``POWER_BUSES``) is on."""
        bus_on = self.world.rover.bus_on
        return sum(1 << i for i, bus in enumerate(POWER_BUSES) if bus_on.get(bus, True))

    # -------------------------------------------------------------------------------- physics
    def step(self, dt: float) -> None:
        """Loads, fuses, solar input, battery operating point and state of charge over ``dt`` seconds."""
        if dt <= 0.0:
            return
        world = self.world
        bus_on = world.rover.bus_on
        volts = self.battery_V if self.battery_V > 1.0 else 1.0
        bus_W = self.bus_W
        extra = self._extra_W
        total = 0.0
        sources = self._bus_sources if self._sources_for == len(world.devices) else self._sources()
        for bus, constant, device, trip_A in sources:
            if not bus_on.get(bus, True):
                bus_W[bus] = 0.0
                continue
            load = constant if device is None else device.power_W()
            if extra:
                load += extra.get(bus, 0.0)
            if self._shorts:
                load += self._short_W(bus, volts)
            if load > trip_A * volts:
                self._blow_fuse(bus, load / volts)
                load = 0.0
            bus_W[bus] = load
            total += load
        self.load_W = total
        soc = self.soc
        available = self._solar_available_W()
        solar = available if soc < 1.0 or available < total else total  # a full battery shunts the surplus
        self.solar_W = solar
        current, volts = self.pack.operating_point(total - solar, soc)
        if current < 0.0 and soc >= 1.0:
            current = 0.0
        self.battery_A, self.battery_V = current, volts
        self.soc = self.pack.soc_after(soc, current, dt)
        if self.cutoff or volts < self._cutoff_V or self.soc < LOW_BATTERY_SOC:
            self._check_battery()
        mode = self.mode
        if current <= -MODE_ENTER_A:
            mode = MODE_CHARGING
        elif current >= MODE_ENTER_A:
            mode = MODE_DISCHARGING
        elif -MODE_IDLE_A < current < MODE_IDLE_A:
            mode = MODE_IDLE
        if mode != self.mode:
            self.set_mode(mode)

    def _sources(self) -> list[tuple[str, float, PoweredDevice | None, float]]:
        """(bus, constant load W, device or None, fuse rating A) for every bus, rebuilt when the world's
        devices change."""
        devices = self.world.devices
        self._sources_for = len(devices)
        self._bus_sources = []
        for bus in POWER_BUSES:
            device = devices.get(bus)
            if device is self:
                device = None
            sharers = [devices[name] for name in BUS_SHARERS.get(bus, ()) if name in devices]
            if sharers:
                device = _SharedBus(([device] if device is not None else []) + sharers)
            self._bus_sources.append((bus, CONSTANT_LOADS_W.get(bus, 0.0), device, FUSE_TRIP_A[bus]))
        return self._bus_sources

    def _solar_available_W(self) -> float:
        if self.solar_override_W is not None:
            return self.solar_override_W
        rover = self.world.rover
        lx, ly = self._lookup_xy
        if abs(rover.x_m - lx) + abs(rover.y_m - ly) > SITE_RECHECK_M or self._sites_ref is not self.world.sites:
            self._lookup_xy = (rover.x_m, rover.y_m)
            self._sites_ref = self.world.sites
            self._illumination = illumination_at(self.world.sites, rover.x_m, rover.y_m, SITE_RADIUS_M)
        return self.array.output_W(self.world.body, self._illumination, self.world.t)

    def _short_W(self, bus: str, volts: float) -> float:
        short = self._shorts.get(bus)
        if short is None:
            return 0.0
        amps, until = short
        if self.world.t > until:
            del self._shorts[bus]
        return amps * volts

    def _blow_fuse(self, bus: str, amps: float) -> None:
        _LOGGER.warning("power: %s bus fuse tripped at %.1f A (t=%.3f)", bus, amps, self.world.t)
        self.world.rover.bus_on[bus] = False
        self.raise_fault("overcurrent", amps)

    def _check_battery(self) -> None:
        cell_v = self.battery_V / self.pack.series
        if not self.cutoff and cell_v < CUTOFF_CELL_V:
            self.cutoff = True
            bus_on = self.world.rover.bus_on
            for bus in HEAVY_BUSES:
                bus_on[bus] = False
            _LOGGER.warning("power: undervoltage cutoff at %.2f V (soc %.3f)", self.battery_V, self.soc)
            if self.faults & self.spec.fault_bit("low_battery"):  # already latched: report the cutoff itself
                index = self.spec.faults.index("low_battery")
                self.emit_event(EventId.FAULT_SET, Severity.CRITICAL, index, self.battery_V)
            else:
                self.raise_fault("low_battery", self.battery_V, Severity.CRITICAL)
        elif self.cutoff and self.pack.ocv_V(self.soc) / self.pack.series > RECOVER_CELL_V:
            self.cutoff = False
            _LOGGER.info("power: battery recovered (soc %.3f); heavy buses may be switched on", self.soc)
        if self.soc < LOW_BATTERY_SOC:
            self.raise_fault("low_battery", self.soc)

    # -------------------------------------------------------------------------- fault injection
    @declares(soc=number(0.0, 1.0))
    def inject_low_battery(self, soc: float = 0.15) -> None:
        """Set the state of charge to ``soc`` (0..1), as after an unplanned drain."""
        self.soc = float(soc)

    @declares(
        bus=choice(POWER_BUSES),
        amps=number(0.0, unit="A", above=True),
        duration_s=number(0.0, unit="s", forever=True),
    )
    def inject_overcurrent(self, bus: str = "drill", amps: float = 40.0, duration_s: float = 0.0) -> None:
        """Add a short of ``amps`` to ``bus`` for ``duration_s`` seconds (0: one surge); the bus fuse trips
        when the bus current exceeds its rating."""
        self._shorts[bus] = (float(amps), self.world.t + max(0.0, float(duration_s)))

    @declares(bus=choice(POWER_BUSES), watts=number(0.0, unit="W"))
    def inject_load(self, bus: str = "extractor", watts: float = 600.0) -> None:
        """Connect a resistive load bank of ``watts`` to ``bus`` (0 disconnects it), as on a test rig: it
        draws only while the bus is on and counts toward the bus fuse."""
        if watts:
            self._extra_W[bus] = float(watts)
        else:
            self._extra_W.pop(bus, None)

    @declares(watts=number(0.0, unit="W", none_ok=True))
    def inject_solar(self, watts: float | None = None) -> None:
        """Force the array output to ``watts`` (a lamp, dust, an eclipse); ``None`` restores the model."""
        self.solar_override_W = None if watts is None else float(watts)


FIRMWARE = PowerFirmware
