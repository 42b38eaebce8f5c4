"""The flight segment assembled: devices, interlocks, mission, commands and the executive that runs them.

Rate groups (periods from ``[flight.rates]``):

* ``control`` — poll every device, enforce the interlocks, advance running commands;
* ``mission`` — advance the mission machine;
* ``telemetry`` — publish executive, mission and interlock channels;
* ``housekeeping`` — slow bookkeeping.
"""

from __future__ import annotations

import logging
from typing import Any

from flight.commands import CommandRegistry
from flight.device_commands import SafetyCommands, register_device_commands
from flight.dispatcher import Dispatcher
from flight.events import EventLog
from flight.executive import Executive
from flight.interlocks import Interlocks, InterlockSettings
from flight.mission import Mission, export_diagram
from flight.rig import Rig
from flight.telemetry import TelemetryTable
from hal.clock import Clock

_LOGGER = logging.getLogger(__name__)


class FlightApp:
    """Everything the flight process runs, built from an :class:`isru.config.IsruConfig`."""

    def __init__(self, config: Any, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.events = EventLog(clock)
        self.table = TelemetryTable()
        self.rig = Rig.from_config(config, clock, self.events, self.table)
        limits = config.flight.interlocks
        settings = InterlockSettings(
            max_chamber_temp_K=limits.max_chamber_temp_K,
            heater_margin_K=limits.heater_margin_K,
            min_preload_N=limits.min_preload_N,
            drill_deployed_depth_m=limits.drill_deployed_depth_m,
            low_battery_soc=limits.low_battery_soc,
        )
        self.interlocks = Interlocks(self.rig, self.table, self.events, settings)
        self.ledger: list[dict[str, Any]] = []
        self.mission = Mission(self.interlocks, self.table, self.events, config.mission, ledger=self._record)
        self.registry = CommandRegistry()
        self.registry.register(self.mission)
        self.registry.register(SafetyCommands(self.interlocks, lambda reason: self.mission.respond("safe", reason)))
        register_device_commands(self.registry, self.interlocks)
        self.dispatcher = Dispatcher(self.registry, clock, self.events)
        rates = config.flight.rates
        self.executive = Executive(
            clock,
            self.events,
            {
                "control": 1.0 / rates.control_hz,
                "mission": 1.0 / rates.mission_hz,
                "telemetry": 1.0 / rates.telemetry_hz,
                "housekeeping": 1.0 / rates.housekeeping_hz,
            },
        )
        self.executive.add_task("control", "rig", self.rig.poll)
        self.executive.add_task("control", "interlocks", self.interlocks.enforce)
        self.executive.add_task("control", "commands", self.dispatcher.tick)
        self.executive.add_task("mission", "mission", self.mission.tick)
        self.executive.add_task("telemetry", "publish", self._publish)

    def _record(self, cycle: int, site: int, water_kg: float, regolith_kg: float, energy_Wh: float) -> None:
        entry = {
            "cycle": cycle,
            "site": site,
            "water_kg": water_kg,
            "regolith_kg": regolith_kg,
            "energy_Wh": energy_Wh,
            "t": self.clock.now(),
        }
        self.ledger.append(entry)

    def _publish(self, _now: float) -> None:
        t = self.clock.now()
        values = self.executive.telemetry()
        values.update(self.mission.telemetry())
        values.update(self.interlocks.telemetry())
        self.table.update(values, t)

    # ---------------------------------------------------------------------------------- life
    def start(self) -> list[str]:
        """Connect every device; returns the ones that failed (they stay faulted and keep retrying)."""
        self.events.info("flight", "start", f"flight segment starting: {self.config.name}")
        return self.rig.connect()

    def close(self) -> None:
        """Close every port."""
        self.rig.close()

    def dictionary(self) -> dict[str, Any]:
        """Commands, telemetry channels and the mission diagram: what ground builds itself from."""
        return {
            "commands": self.registry.dictionary(),
            "telemetry": self.table.dictionary(),
            "diagram": export_diagram(),
        }
