"""Interlocks and the emergency stop: the only path from flight to the actuators.

Every actuation — from the mission machine, a stored sequence or an operator — is issued through
:meth:`Interlocks.command`, which refuses it with :class:`~flight.errors.InterlockViolation`
(``interlock:<name>``) when a rule forbids it. Rules are also *enforced* every control tick
(:meth:`Interlocks.enforce`): a condition that arises while an actuator runs stops that actuator, whoever
started it. The emergency stop does not go through the mission machine at all: :meth:`Interlocks.estop`
stops every device and switches the actuator buses off at once, and latches until reset.

Rules (names as they appear in failure reasons):

* ``estop`` — nothing moves or heats while the emergency stop is latched;
* ``drill_unanchored`` — drill rotation or feed only when every anchor is deployed, preloaded and not slipping;
* ``drill_stalled`` — no rotation or feed while the drill reports a stall;
* ``heater_lid_open`` — heater on only with the lid sealed;
* ``heater_overtemp`` — heater on only below its maximum temperature (margin included);
* ``scoop_drill_deployed`` — no scoop motion while the drill is below the surface;
* ``low_battery`` — heavy loads (drill, heater, drive) are refused and shed on a low battery;
* ``drive_anchored`` — no driving with anchors in the ground.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flight.errors import InterlockViolation
from flight.events import EventLog
from flight.rig import Rig
from flight.telemetry import TelemetryTable
from hal.device import Motion
from hal.errors import HalError
from hal.icd import ANCHOR_COUNT, POWER_BUSES
from hal.protocol import AckResult

_LOGGER = logging.getLogger(__name__)

ALL_ANCHORS = (1 << ANCHOR_COUNT) - 1
#: Buses switched off by the emergency stop (avionics, imu and comms stay up so the rover can report).
ESTOP_BUSES = ("drill", "scoop", "extractor", "anchor", "drive")
#: Buses shed on a low battery.
SHED_BUSES = ("drill", "extractor", "drive")


@dataclass
class InterlockSettings:
    """Thresholds of the interlock rules (SI units)."""

    max_chamber_temp_K: float = 700.0
    heater_margin_K: float = 10.0
    min_preload_N: float = 200.0
    drill_deployed_depth_m: float = 0.02
    drill_turning_rpm: float = 1.0
    low_battery_soc: float = 0.2


class Interlocks:
    """Checks and enforces the interlock rules over a :class:`~flight.rig.Rig`."""

    def __init__(self, rig: Rig, table: TelemetryTable, events: EventLog, settings: InterlockSettings) -> None:
        self.rig = rig
        self.table = table
        self.events = events
        self.settings = settings
        self.estopped = False
        self.estop_reason = ""
        self.trips: dict[str, int] = {}
        self._acting: set[str] = set()
        self._now_acting: set[str] = set()

    # -------------------------------------------------------------------------------- facts
    def _get(self, channel: str, default: Any = None) -> Any:
        return self.table.get(channel, default)

    @property
    def anchored(self) -> bool:
        """Every anchor deployed, preloaded and holding (from the latest anchor telemetry)."""
        if "anchor" not in self.rig:
            return False
        if self._get("anchor.deployed_mask", 0) != ALL_ANCHORS or self._get("anchor.slip_mask", 1):
            return False
        if "slip" in str(self._get("anchor.faults", "")):
            return False
        preloads = [self._get(f"anchor.preload{i}_N", 0.0) for i in range(ANCHOR_COUNT)]
        return min(preloads) >= self.settings.min_preload_N

    @property
    def drill_deployed(self) -> bool:
        """The drill is below the surface."""
        return self._get("drill.depth_m", 0.0) > self.settings.drill_deployed_depth_m

    @property
    def low_battery(self) -> bool:
        """State of charge below the shedding threshold, or the power system reports low battery."""
        if "power" not in self.rig:
            return False
        soc = self._get("power.soc")
        return (soc is not None and soc < self.settings.low_battery_soc) or "low_battery" in str(
            self._get("power.faults", "")
        )

    # -------------------------------------------------------------------------------- check
    def check(self, device: str, name: str, args: dict[str, Any]) -> None:
        """Raise :class:`InterlockViolation` if ``device.name(args)`` is forbidden now."""
        if name in ("stop", "clear_fault", "self_test", "get_telemetry", "set_telemetry_period", "set_deadman"):
            return
        if _switches_off(device, name, args):
            return  # switching a load off is always allowed, e-stop or not
        if self.estopped and device != "imu":
            self._refuse("estop", f"{device}.{name} refused: emergency stop latched ({self.estop_reason})")
        if device == "drill" and name == "retract":
            return  # withdrawing the drill is the safe direction
        if device == "drill" and (name == "feed" or (name == "spin" and args.get("rpm", 0) > 0)):
            if "stall" in str(self._get("drill.faults", "")):
                self._refuse("drill_stalled", f"drill.{name} refused: the drill reports a stall")
            if not self.anchored:
                self._refuse("drill_unanchored", f"drill.{name} refused: the rover is not anchored")
            self._refuse_heavy(device, name)
        if device == "extractor" and _heater_on(name, args):
            if self._get("extractor.lid") != 1:
                self._refuse("heater_lid_open", f"extractor.{name} refused: the lid is not sealed")
            limit = self.settings.max_chamber_temp_K - self.settings.heater_margin_K
            if self._get("extractor.chamber_temp_K", 0.0) >= limit:
                self._refuse("heater_overtemp", f"extractor.{name} refused: chamber at or above {limit:g} K")
            if name == "heater_setpoint" and args["kelvin"] > limit:
                self._refuse("heater_overtemp", f"extractor setpoint {args['kelvin']:g} K is above {limit:g} K")
            self._refuse_heavy(device, name)
        if device == "scoop" and name in ("move", "dig", "lift", "dump") and self.drill_deployed:
            self._refuse("scoop_drill_deployed", f"scoop.{name} refused: the drill is deployed")
        if device == "drive" and _drive_moves(name, args):
            if self._get("anchor.deployed_mask", 0):
                self._refuse("drive_anchored", f"drive.{name} refused: anchors are in the ground")
            self._refuse_heavy(device, name)
        if device == "anchor" and name == "retract" and self.drill_deployed:
            self._refuse("drill_unanchored", "anchor.retract refused: the drill is deployed")

    def _refuse_heavy(self, device: str, name: str) -> None:
        if self.low_battery:
            self._refuse("low_battery", f"{device}.{name} refused: battery below the load-shedding threshold")

    def _refuse(self, rule: str, message: str) -> None:
        self.trips[rule] = self.trips.get(rule, 0) + 1
        raise InterlockViolation(rule, message)

    # ------------------------------------------------------------------------------ command
    def command(self, device: str, name: str, **args: Any) -> AckResult | Motion:
        """Issue a device command if every interlock allows it (the only path to the actuators)."""
        self.check(device, name, args)
        return self.rig.device(device).command(name, **args)

    # ------------------------------------------------------------------------------ enforce
    def enforce(self, _now: float = 0.0) -> None:
        """Stop whatever violates a rule now (called every control tick after the rig is polled).

        Each rule acts once per episode: while its condition persists after the stop was sent (a drill
        spinning down), it is not sent again every tick.
        """
        self._now_acting: set[str] = set()
        turning = self._get("drill.rpm", 0.0) > self.settings.drill_turning_rpm
        if "drill" in self.rig and turning and not self.anchored:
            self._act("drill_unanchored", "drill", "stop", "drill turning while not anchored: stopped")
        if "extractor" in self.rig and self._get("extractor.heater_power_W", 0.0) > 0.0:
            if self._get("extractor.lid") != 1:
                self._act("heater_lid_open", "extractor", "heater_power", "heater on with the lid open: off", watts=0.0)
            elif self._get("extractor.chamber_temp_K", 0.0) >= self.settings.max_chamber_temp_K - 0.5 * (
                self.settings.heater_margin_K
            ):
                self._act(
                    "heater_overtemp", "extractor", "heater_power", "chamber near its maximum: heater off", watts=0.0
                )
                if self._get("extractor.chamber_temp_K", 0.0) >= self.settings.max_chamber_temp_K:
                    self._cut_bus("extractor", "chamber at its maximum with the heater still on")
        if "scoop" in self.rig and self._get("scoop.state") == "active" and self.drill_deployed:
            self._act("scoop_drill_deployed", "scoop", "stop", "scoop moving with the drill deployed: stopped")
        if self.low_battery:
            for bus in SHED_BUSES:
                if self.bus_on(bus) and self._load(bus) > 1.0:
                    self._cut_bus(bus, "low battery: load shed")
        self._acting = self._now_acting

    def _act(self, rule: str, device: str, name: str, message: str, **args: Any) -> None:
        self._now_acting.add(rule)
        if rule in self._acting:
            return
        self.trips[rule] = self.trips.get(rule, 0) + 1
        self.events.warning("interlocks", rule, message)
        try:
            self.rig.device(device).command(name, **args)
        except HalError as exc:
            self.events.error("interlocks", f"{rule}_failed", f"{device}.{name}: {exc}")
            self._cut_bus(device, f"{rule}: command failed")

    def bus_on(self, bus: str) -> bool:
        """True if power telemetry shows bus ``bus`` switched on (or there is no power telemetry)."""
        mask = self._get("power.bus_mask")
        return True if mask is None else bool(mask >> POWER_BUSES.index(bus) & 1)

    def _load(self, bus: str) -> float:
        return float(self._get(f"power.{bus}_W", 0.0) or 0.0)

    def _cut_bus(self, bus: str, reason: str) -> bool:
        if "power" not in self.rig:
            return False
        try:
            self.rig.device("power").command("bus", index=POWER_BUSES.index(bus), on=0)
        except HalError as exc:
            self.events.critical("interlocks", "bus_cut_failed", f"{bus}: {exc}")
            return False
        self.events.warning("interlocks", "bus_off", f"{bus} bus switched off: {reason}")
        return True

    # -------------------------------------------------------------------------------- e-stop
    def estop(self, reason: str) -> list[str]:
        """Stop every actuator now and switch the actuator buses off; latches until :meth:`reset_estop`.

        Does not depend on the mission machine. Returns the devices that could not be stopped.
        """
        self.estopped = True
        self.estop_reason = reason
        failed = []
        for name, device in self.rig.devices.items():
            try:
                device.stop()
            except HalError as exc:
                failed.append(name)
                self.events.critical("estop", "stop_failed", f"{name}: {exc}")
        for bus in ESTOP_BUSES:
            if not self._cut_bus(bus, "emergency stop") and "power" in self.rig:
                failed.append(f"bus:{bus}")
        self.events.critical("estop", "estop", f"EMERGENCY STOP: {reason}", failed=failed)
        return failed

    def reset_estop(self) -> None:
        """Release the emergency stop latch and switch the actuator buses back on."""
        self.estopped = False
        self.estop_reason = ""
        if "power" in self.rig:
            for bus in ESTOP_BUSES:
                self.rig.device("power").command("bus", index=POWER_BUSES.index(bus), on=1)
        self.events.warning("estop", "estop_reset", "emergency stop released; actuator buses on")

    def telemetry(self) -> dict[str, Any]:
        """Interlock state as channels."""
        values: dict[str, Any] = {
            "interlocks.estop": self.estopped,
            "interlocks.anchored": self.anchored,
            "interlocks.drill_deployed": self.drill_deployed,
            "interlocks.low_battery": self.low_battery,
        }
        for rule, count in self.trips.items():
            values[f"interlocks.trips.{rule}"] = count
        return values


def _switches_off(device: str, name: str, args: dict[str, Any]) -> bool:
    """True for commands that only take energy out: bus off, heater off, auger stopped, wheels stopped."""
    if device == "power" and name == "bus":
        return args.get("on") == 0
    if device == "extractor" and name in ("heater_power", "heater_setpoint"):
        return not _heater_on(name, args)
    if device == "drill" and name in ("spin", "percussion"):
        return not any(args.values())
    if device == "drive" and name in ("wheels", "twist"):
        return not _drive_moves(name, args)
    return False


def _heater_on(name: str, args: dict[str, Any]) -> bool:
    return (name == "heater_power" and args.get("watts", 0) > 0) or (
        name == "heater_setpoint" and args.get("kelvin", 0) > 0
    )


def _drive_moves(name: str, args: dict[str, Any]) -> bool:
    if name in ("move", "turn"):
        return True
    return any(abs(v) > 0 for v in args.values())
