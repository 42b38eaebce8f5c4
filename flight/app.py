"""The flight segment assembled: devices, interlocks, mission, fault protection, parameters, sequences,
persistence, and the executive that runs them.

Rate groups (frequencies from ``[flight.rates]``):

* ``control`` — poll every device, enforce the interlocks, advance running commands;
* ``mission`` — advance the mission machine and the stored-sequence runner;
* ``telemetry`` — publish executive, mission and interlock channels, evaluate fault protection;
* ``housekeeping`` — health pings, parameter and state bookkeeping.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from base.clock import Clock
from flight.clock_watch import ClockWatch
from flight.commands import CommandRegistry
from flight.config import FlightSegmentConfig
from flight.config_fdir import SequencesConfig, default_fdir_path, load_fdir, with_thresholds
from flight.device_commands import SafetyCommands, register_device_commands
from flight.dispatcher import Dispatcher, IdStore
from flight.events import EventLog
from flight.executive import Executive
from flight.failsafe import LinkFailsafe
from flight.fdir import FaultProtection
from flight.health import HealthMonitor, progress_ping
from flight.interlocks import TRIPS_FAMILY, TRIPS_PREFIX, Interlocks, InterlockSettings
from flight.ledger import RecordBook
from flight.limits import apply_limits, derived_limits, fdir_limits, physical_limits
from flight.mission import Mission, export_diagram
from flight.mission.daylight import DiurnalSolar
from flight.mission.params import LiveMissionConfig, mission_param_specs
from flight.params import ParameterStore
from flight.rates import RateGovernor
from flight.rig import Rig
from flight.sequences import SequenceRunner
from flight.state_saver import StateSaver
from flight.store import FlightStore
from flight.telemetry import ChannelSpec, TelemetryTable
from hal.icd import DEVICES
from link.config import resolve_keys_dir
from link.errors import KeyFileError
from link.ledger_keys import ROVER, load_signer, signer_path
from link.note import Signer, generate


class ChannelSource(Protocol):
    """A component that publishes telemetry channels of its own."""

    def channels(self) -> list[ChannelSpec]:
        """The specs of the channels it publishes."""
        ...


class FlightApp:
    """Everything the flight process runs, built from a :class:`flight.config.FlightSegmentConfig`."""

    def __init__(self, config: FlightSegmentConfig, clock: Clock, *, rover_key: Signer | None = None) -> None:
        self.config = config
        self.clock = clock
        flight = config.flight
        self.events = EventLog(clock)
        self.table = TelemetryTable()
        self.store = FlightStore(flight.store, clock) if flight.store else None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        if flight.params:
            params_path = Path(flight.params)
        else:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="isru-params-")
            params_path = Path(self._tmpdir.name) / "params.json"
        self.params = ParameterStore(mission_param_specs(config.mission), params_path, self.events)
        self.rig = Rig.from_config(config, clock, self.events, self.table)
        limits = flight.interlocks
        settings = InterlockSettings(
            max_chamber_temp_K=limits.max_chamber_temp_K,
            heater_margin_K=limits.heater_margin_K,
            min_preload_N=limits.min_preload_N,
            drill_deployed_depth_m=limits.drill_deployed_depth_m,
            low_battery_soc=limits.low_battery_soc,
            max_age_s=limits.max_age_s,
            max_hop_speed_m_s=limits.max_hop_speed_m_s,
            contact_needs_anchor=limits.contact_needs_anchor,
        )
        self.interlocks = Interlocks(self.rig, self.table, self.events, settings)
        self.ledger: list[dict[str, Any]] = []
        self.records = RecordBook(
            rover_key or self._rover_key(), config.name, flight.licence, self.events, self.table, clock
        )
        self.mission = Mission(
            self.interlocks,
            self.table,
            self.events,
            LiveMissionConfig(config.mission, self.params),
            ledger=self._record,
            on_change=lambda _mission: self.state_saver.save(),
            solar=self._solar_forecast(config.mission.day_length_s),
        )
        self.state_saver = StateSaver(self.store, self.mission.snapshot, self.events, clock)
        self.registry = CommandRegistry()
        id_store: IdStore | None = self.store
        self.dispatcher = Dispatcher(self.registry, clock, self.events, id_store)
        sequences_dir = SequencesConfig(flight.sequences).resolved()
        self.sequences = SequenceRunner(self.dispatcher, clock, self.events, sequences_dir)
        fdir_config = load_fdir(flight.fdir or default_fdir_path(), sequence_names=self.sequences.sequences)
        fdir_config = with_thresholds(fdir_config, flight.fdir_thresholds, f"configuration {config.name!r}")
        self._fdir_config = fdir_config
        self.fdir = FaultProtection.from_config(fdir_config, self.table, self.events, clock, self.respond)
        self.fdir.absent_devices(set(DEVICES) - set(self.rig.devices))
        self.failsafe = LinkFailsafe(fdir_config.link.policy, self.respond, self.events)
        self.health = HealthMonitor(clock, self.events)
        self.safety = SafetyCommands(self.interlocks, lambda reason: self.mission.respond("safe", reason))
        commanded: tuple[object, ...] = (
            self.mission,
            self.safety,
            self.params,
            self.sequences,
            self.fdir,
            self.failsafe,
        )
        for component in commanded:  # each is registered as the object it is (no common type)
            self.registry.register(component)
        register_device_commands(self.registry, self.interlocks)
        self.clock_watch = ClockWatch(clock, self.events)
        publishers: tuple[ChannelSource, ...] = (
            self.fdir,
            self.failsafe,
            self.health,
            self.params,
            self.sequences,
            self.clock_watch,
        )
        for publisher in publishers:
            self.table.define_many(publisher.channels())
        self.table.define_many(self.mission.channels() + self.interlocks.channels())
        self.table.define_family(TRIPS_PREFIX, TRIPS_FAMILY)
        rates = flight.rates
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
        self.rates = RateGovernor(self.executive, self.rig, self.events, clock, rates)
        self.interlocks.before_actuation = self.rates.before_actuation
        self.rates.retimed = self.fdir.stream_period
        self.table.define_many(self.rates.channels())
        self.executive.add_task("control", "rig", self.rig.poll)
        self.executive.add_task("control", "interlocks", self.interlocks.enforce)
        self.executive.add_task("control", "commands", self.dispatcher.tick)
        self.executive.add_task("mission", "mission", self.mission.tick)
        self.executive.add_task("mission", "sequences", self.sequences.tick)
        self.executive.add_task("telemetry", "clock", self.clock_watch.tick)
        self.executive.add_task("telemetry", "rates", self.rates.tick)
        self.executive.add_task("telemetry", "publish", self._publish)
        self.executive.add_task("telemetry", "fdir", self.fdir.tick)
        self.executive.add_task("housekeeping", "health", self.health.tick)
        # Parameter values change only by command: published at the housekeeping rate, not with every sample.
        self.executive.add_task("housekeeping", "params", self._publish_params)
        self.executive.add_task("housekeeping", "evidence", self.records.sample)
        self.executive.add_task("housekeeping", "state", self.state_saver.retry)
        control = self.executive.group("control")
        self.health.register("control_loop", progress_ping(lambda: control.runs), deadline_s=1.0)
        for name in self.rig.devices:
            self.health.register(f"device.{name}", self._link_up_of(name), deadline_s=1.0)

    def _link_up_of(self, name: str) -> Callable[[], bool]:
        """A health check that reads device ``name``'s link state."""
        return lambda: self.rig.device(name).link_up

    # ------------------------------------------------------------------------------- responses
    def respond(self, response: str, reason: str) -> None:
        """Carry out a fault-protection or failsafe response."""
        if response.startswith("sequence:"):
            self.sequences.start(response.split(":", 1)[1])
        else:
            self.mission.respond(response, reason)

    def _solar_forecast(self, day_length_s: float) -> DiurnalSolar | None:
        """The day/night forecast of a body with a short day (``mission.day_length_s``); None: persistence."""
        if day_length_s <= 0.0:
            return None
        return DiurnalSolar(
            lambda channel: float(self.table.get(channel, 0.0) or 0.0), self.clock.monotonic, day_length_s
        )

    def _rover_key(self) -> Signer:
        """The rover's record-signing key: ``[flight] ledger_key``, else ``ledger/rover.skey`` in the link's
        key directory; without either, a key made for this run (a warning event gives its verifier key)."""
        flight = self.config.flight
        path = (
            Path(flight.ledger_key)
            if flight.ledger_key
            else signer_path(resolve_keys_dir(self.config.link.keys), ROVER)
        )
        if flight.ledger_key or path.exists():
            try:
                return load_signer(path)
            except KeyFileError as exc:
                self.events.error("ledger", "key_unreadable", f"rover key: {exc}; signing with a key for this run")
        signer = generate(self.config.name.replace(" ", "_") or "isru-rover")
        self.events.warning(
            "ledger",
            "key_ephemeral",
            f"no rover key at {path}: records are signed with a key made for this run",
            vkey=signer.verifier.vkey,
        )
        return signer

    def _record(self, cycle: int, site: int, water_kg: float, regolith_kg: float, energy_Wh: float) -> None:
        self.records.record(cycle, max(site, 0), list(self.mission.progress.pose), water_kg, regolith_kg, energy_Wh)
        entry = {"cycle": cycle, "site": site, "water_kg": water_kg, "regolith_kg": regolith_kg, "energy_Wh": energy_Wh}
        self.ledger.append(entry)
        # Stored with the snapshot that follows the cycle's end (the next transition), in one transaction, so a
        # crash never leaves a ledger entry without the cycle count that goes with it (a resume would repeat it).
        self.state_saver.book(entry)

    def _publish_params(self, _now: float) -> None:
        self.table.update(self.params.telemetry(), self.clock.now())

    def _publish(self, _now: float) -> None:
        values = self.executive.telemetry()
        parts = (
            self.mission,
            self.interlocks,
            self.fdir,
            self.failsafe,
            self.health,
            self.params,  # its param.* channels are in the dictionary: ground shows their values, not "—"
            self.sequences,
            self.clock_watch,
            self.rates,
        )
        for component in parts:
            values.update(component.telemetry())
        self.table.update(values, self.clock.now())

    # ------------------------------------------------------------------------------------ life
    def start(self) -> list[str]:
        """Connect every device, then pick up persisted state (hardware made safe first).

        Returns the devices that failed to connect (they stay faulted and keep retrying).
        """
        self.events.info("flight", "start", f"flight segment starting: {self.config.name}")
        failed = self.rig.connect()
        self.rig.poll()
        saved = self.store.load_state() if self.store is not None else None
        if saved:
            self.ledger = [e.as_dict() for e in self.store.ledger()] if self.store is not None else []
            self.mission.restore(saved, self.params.get("mission.restart_policy"))
        # Every channel exists (with its entry in the dictionary) before a ground client can ask for it; the
        # executive's groups and the health monitor's components are all registered by now.
        self.table.define_many(self.executive.channels() + self.health.channels())
        self._publish(self.clock.monotonic())
        self._publish_params(self.clock.monotonic())
        apply_limits(
            self.table,
            physical_limits(self.table),
            fdir_limits(self._fdir_config),
            derived_limits(self.config),
            self.config.flight.limits,
        )
        return failed

    def make_safe(self, reason: str) -> None:
        """Stop every actuator and the heater without changing the mission state (shutdown, restart)."""
        self.mission.stop_hardware()
        self.events.warning("flight", "made_safe", reason)

    def close(self) -> None:
        """Close every port and the store."""
        self.rig.close()
        if self.store is not None:
            self.store.close()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()

    def dictionary(self) -> dict[str, Any]:
        """Commands, telemetry channels, parameters, the mission diagram, the stored sequences (name,
        description, steps) and the candidate sites (odometry frame, m): what ground builds itself from."""
        return {
            "commands": self.registry.dictionary(),
            "telemetry": self.table.dictionary(),
            "parameters": self.params.dictionary(),
            "diagram": export_diagram(),
            "sequences": self.sequences.catalog(),
            "sites": [
                {"index": i, "x_m": site.x_m, "y_m": site.y_m} for i, site in enumerate(self.config.mission.sites)
            ],
        }
