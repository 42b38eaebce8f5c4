"""Safety invariants of the flight segment under random operation, checked on the simulated hardware.

A hypothesis state machine drives a real :class:`~flight.app.FlightApp` on a virtual clock with every
device an emulator behind ``sim://`` (the real drivers and byte path): random operator commands through the
dispatcher (device commands with in-range and out-of-range arguments, mission start/hold/resume/abort/
recover, e-stop and its reset, parameters), faults injected now or scheduled (energy faults and stale
lines among them), flight restarting mid-mission (held or resumed), and simulated time passing.

The invariants are checked on the *emulators' physical state* (what the hardware does), not on what
flight believes, by a monitor the world runs after every physics step:

* the drill never turns while the rover is not anchored;
* the chamber never exceeds the heater's maximum temperature, and the heater is off while the lid is open;
* the scoop never moves while the drill is deployed;
* after an e-stop every actuator is stopped within 100 ms of simulated time (and stays stopped while
  the e-stop is latched).

Flight sees the hardware through telemetry at 10 Hz and acts at 50 Hz, so a condition that arises on the
hardware's side (an anchor slips under a turning auger, a heater switch fails closed with the lid open) is
allowed :data:`REACTION_S` to be ended; an actuator *started* into a forbidden condition that has lasted
longer than :data:`NOTICE_S` (flight had telemetry showing it) is a violation at once.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import VirtualClock
from flight.app import FlightApp
from flight.commands import ArgSpec
from flight.dispatcher import Stage
from isru.config import load_config
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld

#: Longest a forbidden condition that arose on the hardware's side may last, simulated seconds: the
#: telemetry that shows it (0.1 s) + a control tick (0.02 s) + the stop and, if the device ignores it,
#: the bus cut 0.2 s later + one control tick held up by a device exchange on a corrupted line (0.1 s
#: timeout, three attempts: 0.3 s) + a physics step (0.05 s).
REACTION_S = 0.8
#: How long a condition must have been visible in telemetry before starting an actuator into it counts.
NOTICE_S = 0.3
#: E-stop: every actuator stopped within this long, simulated seconds.
ESTOP_S = 0.1
#: Chamber temperature allowed above the interlock's maximum, K (the step between two samples).
TEMP_TOLERANCE_K = 0.5
#: Actuated devices (power switches buses and the IMU only measures).
ACTUATORS = ("drill", "scoop", "extractor", "anchor", "drive", "hopper")
ASTEROID_CONFIG = Path(__file__).parents[2] / "configs" / "asteroid.toml"

#: Hardware faults and line faults injected by the machine: ``(device, kind, params)``. Sensor symptoms
#: are limited to ones the hardware itself cannot hide from flight (a NaN temperature is reported as such).
FAULTS: list[tuple[str, str, dict[str, Any]]] = [
    ("drill", "stall", {}),
    ("drill", "stall", {"active": False}),
    ("drill", "jam", {}),
    ("drill", "jam", {"active": False}),
    ("drill", "overtemp", {}),
    ("extractor", "heater_runaway", {}),
    ("extractor", "heater_failure", {}),
    ("extractor", "seal_leak", {"rate": 0.05}),
    ("extractor", "nan", {"field": "chamber_temp_K", "duration_s": 3.0}),
    ("anchor", "slip", {}),
    ("anchor", "slip", {"active": False}),
    ("power", "low_battery", {"soc": 0.12}),
    # energy faults: a drain to just above the parking reserve, shadow on the array, light back
    ("power", "low_battery", {"soc": 0.23}),
    ("power", "solar", {"watts": 0.0}),
    ("power", "solar", {"watts": 1500.0}),
    ("power", "nan", {"field": "soc", "duration_s": 5.0}),  # the state of charge unknown for a while
    ("power", "load", {"bus": "extractor", "watts": 600.0}),  # a drain the planner did not expect
    ("anchor", "disconnect", {}),
    ("anchor", "reconnect", {}),
    ("power", "overcurrent", {"bus": "drill"}),
    ("drive", "wheel_stall", {"side": "left", "duration_s": 5.0}),
    ("drive", "overcurrent", {"duration_s": 2.0}),
    ("scoop", "overload", {}),
    ("scoop", "overcurrent", {"duration_s": 2.0}),
    ("imu", "saturation", {"duration_s": 2.0}),
    ("drill", "drop", {"rate": 0.2}),
    ("anchor", "corrupt", {"rate": 0.2}),
    ("extractor", "latency", {"seconds": 0.03}),
    ("power", "drop", {"rate": 1.0}),
    ("drive", "drop", {"rate": 1.0}),
    ("power", "clear_line", {}),
    ("drive", "clear_line", {}),
    ("scoop", "disconnect", {}),
    ("drill", "disconnect", {}),  # stale lines: the drill's and the extractor's telemetry stops
    ("drill", "reconnect", {}),
    ("extractor", "disconnect", {}),
    ("extractor", "reconnect", {}),
    ("scoop", "reconnect", {}),
    ("drill", "clear_line", {}),
    ("anchor", "clear_line", {}),
    ("extractor", "clear_line", {}),
    ("hopper", "failed_hop", {}),
    ("hopper", "bad_landing", {}),
    ("hopper", "stuck_flywheel", {}),
    ("hopper", "stuck_flywheel", {"stuck": False}),
]

#: Mission controls and the e-stop (the e-stop is one draw in seven of this rule, so most runs go on
#: long enough between e-stops to reach the other invariants).
OPERATOR_COMMANDS = (
    "mission.start",
    "mission.hold",
    "mission.resume",
    "mission.abort",
    "mission.recover",
    "estop",
    "estop.reset",
)
PARAMS = (
    "mission.drill_rpm",
    "mission.heater_setpoint_K",
    "mission.feed_rate_m_s",
    "mission.hopper_target_kg",
    "mission.restart_policy",
    "mission.no_such_parameter",
)


def build_app(seed: int, body: str = "moon") -> tuple[FlightApp, SimWorld, VirtualClock]:
    """A flight segment over a simulated rover on ``body`` (``moon``: configs/sim.toml; ``asteroid``:
    configs/asteroid.toml), with a mission short enough to reach every phase."""
    config = load_config(ASTEROID_CONFIG) if body == "asteroid" else load_config()
    mission = dataclasses.replace(
        config.mission,
        prospect=False,
        cycles=1,
        drill_depth_m=0.05,
        feed_rate_m_s=0.005,
        hopper_target_kg=0.2,
        heat_min_s=0.0,
        heat_max_s=60.0,
        vent_s=5.0,
    )
    config = dataclasses.replace(config, mission=mission, sim=dataclasses.replace(config.sim, seed=seed))
    clock = VirtualClock()
    world = install_world(SimWorld(clock, seed=seed, site=0, body=body))
    app = FlightApp(config, clock)
    assert app.start() == []
    return app, world, clock


class StepProbe:
    """A purpose-built member of the world, stepped after every device: after each physics step it has the
    monitor check the hardware, so nothing between two control ticks (or inside a blocking e-stop) is
    missed."""

    def __init__(self, monitor: HardwareMonitor) -> None:
        self.monitor = monitor

    def tick(self, _dt: float) -> None:
        self.monitor.sample()

    def next_wakeup(self) -> float:
        return math.inf

    def max_step_s(self, fine_s: float) -> float:
        return fine_s  # the monitor samples at the world's finest step, whatever the devices allow


class HardwareMonitor:
    """Samples the emulators' physical state and records every broken invariant (with world time, s)."""

    def __init__(self, world: SimWorld, app: FlightApp) -> None:
        self.world = world
        self.app = app
        self.settings = app.interlocks.settings
        self.violations: list[str] = []
        self.estop_at: float | None = None
        self.samples = 0
        self._since: dict[str, float] = {}
        self._was: dict[str, bool] = {}

    def _lasting(self, name: str, condition: bool, t: float) -> float:
        """How long ``condition`` has held continuously, seconds (0 when it does not hold)."""
        if not condition:
            self._since.pop(name, None)
            return 0.0
        return t - self._since.setdefault(name, t)

    def _started(self, name: str, active: bool) -> bool:
        before = self._was.get(name, False)
        self._was[name] = active
        return active and not before

    def _fail(self, t: float, text: str) -> None:
        if len(self.violations) < 20:
            self.violations.append(f"t={t:.3f} s: {text}")

    def sample(self) -> None:
        """Check every invariant on the world's present state (after each physics step)."""
        world = self.world
        t = world.t
        self.samples += 1
        rover = world.rover
        drill = world.device("drill").mechanics
        extractor = world.device("extractor")
        scoop = world.device("scoop")

        # The auger is *driven* while its motor has a speed command; once that is gone it coasts down
        # (about 2 s from full speed), which no command can shorten.
        unanchored = self._lasting("unanchored", not rover.anchored, t)
        driven = drill.rpm_cmd > 0.0
        if self._started("drill_driven", driven) and unanchored > NOTICE_S:
            self._fail(t, f"drill started at {drill.rpm_cmd:g} rpm, unanchored for {unanchored:.2f} s")
        if self._lasting("drill_unanchored", driven and not rover.anchored, t) > REACTION_S:
            self._fail(t, f"drill driven at {drill.rpm_cmd:g} rpm while not anchored for > {REACTION_S} s")

        limit = self.settings.max_chamber_temp_K
        if extractor.chamber.temp_K > limit + TEMP_TOLERANCE_K:
            self._fail(t, f"chamber at {extractor.chamber.temp_K:.2f} K, above the {limit:g} K maximum")
        lid_open = extractor.lid_position < 1.0
        lid_open_for = self._lasting("lid_open", lid_open, t)
        demanded = extractor._heater_cmd_W > 0.0 or extractor._setpoint_K > 0.0
        if self._started("heater_demanded", demanded) and lid_open_for > NOTICE_S:
            self._fail(t, f"heater switched on with the lid open (lid at {extractor.lid_position:.2f})")
        # A heater whose switch failed closed (runaway) stops only when its bus is cut; with the power unit's line
        # dead too, no path reaches it (a double failure no software can beat, as for the e-stop below).
        beyond_reach = extractor._runaway and _line_dead(world, "power")
        heating_open = extractor.heater_W > 0.0 and lid_open and not beyond_reach
        if self._lasting("heater_lid_open", heating_open, t) > REACTION_S:
            self._fail(
                t,
                f"heater drawing {extractor.heater_W:.0f} W with the lid open for > {REACTION_S} s "
                f"(bus on: {extractor.bus_powered}; flight sees {self.app.table.get('extractor.heater_power_W')} W, "
                f"lid {self.app.table.get('extractor.lid')})",
            )

        deployed = self._lasting("deployed", rover.drill_depth_m > self.settings.drill_deployed_depth_m, t)
        scoop_moving = scoop.is_actuating()
        if self._started("scoop_moving", scoop_moving) and deployed > NOTICE_S:
            self._fail(t, f"scoop started moving with the drill deployed at {rover.drill_depth_m:.3f} m")
        if self._lasting("scoop_drill", scoop_moving and deployed > 0.0, t) > REACTION_S:
            self._fail(t, f"scoop moving with the drill deployed for > {REACTION_S} s")

        if self.settings.contact_needs_anchor:  # microgravity: the scoop's reaction needs the anchors
            digging = scoop.motion == "dig"
            if self._started("scoop_digging", digging) and unanchored > NOTICE_S:
                self._fail(t, f"scoop started digging, unanchored for {unanchored:.2f} s")
            if self._lasting("scoop_unanchored", digging and not rover.anchored, t) > REACTION_S:
                self._fail(t, f"scoop digging while not anchored for > {REACTION_S} s")
        hopper = world.devices.get("hopper")
        if hopper is not None:
            held = self._lasting("held_down", rover.anchor_depth_m > 0.02 or rover.drill_depth_m > 0.02, t)
            if self._started("hop_started", hopper.motion == "hop") and held > NOTICE_S:
                self._fail(t, f"hop started with an anchor {rover.anchor_depth_m:.3f} m or the drill in the ground")
            if "lost" in hopper.spec.fault_names(hopper.all_faults):
                self._fail(t, "the rover was lost off the surface")

        if self.app.interlocks.estopped and self.estop_at is not None and t >= self.estop_at + ESTOP_S:
            # A device whose own line and the power unit's are both dead is reachable by no path: its
            # dead-man timer stops it (a double failure no software can beat).
            allowed = {
                name: world.device(name).deadman_ms / 1000 + ESTOP_S if _unreachable(world, name) else ESTOP_S
                for name in ACTUATORS
            }
            moving = [name for name in ACTUATORS if driven_now(world, name) and t >= self.estop_at + allowed[name]]
            if moving:
                self._fail(t, f"{moving} still actuating {t - self.estop_at:.3f} s after the e-stop")


def driven_now(world: SimWorld, name: str) -> bool:
    """Device ``name``'s actuators are powered: a motor commanded or running, a heater demanded or drawing,
    the vent held open (the auger coasting down after its motor is off does not count)."""
    firmware = world.device(name)
    if name == "drill":
        return firmware.mechanics.active
    if name == "extractor":
        return firmware.is_actuating() or firmware.heater_W > 0.0
    return firmware.is_actuating()


def _line_dead(world: SimWorld, name: str) -> bool:
    faults = world.port_faults[name]
    return faults.unplugged or faults.drop_rate >= 1.0


def _unreachable(world: SimWorld, name: str) -> bool:
    return _line_dead(world, name) and _line_dead(world, "power")


def _out_of_range(arg: ArgSpec, data: st.DataObject) -> Any:
    """A value ``arg`` must refuse: below or above its range, of the wrong type, or not finite."""
    options: list[Any] = ["text", None, [1]]
    if arg.type == "float":
        options += [math.nan, math.inf]
    if arg.lo is not None:
        options.append(arg.lo - max(1.0, abs(arg.lo)) if arg.type == "float" else int(arg.lo) - 1)
    if arg.hi is not None:
        options.append(arg.hi + max(1.0, abs(arg.hi)) if arg.type == "float" else int(arg.hi) + 1)
    return data.draw(st.sampled_from(options), label=f"bad {arg.name}")


def _in_range(arg: ArgSpec, data: st.DataObject) -> Any:
    lo = arg.lo if arg.lo is not None else -10.0
    hi = arg.hi if arg.hi is not None else 10.0
    if arg.type == "int":
        return data.draw(st.integers(math.ceil(lo), math.floor(hi)), label=arg.name)
    return data.draw(st.floats(lo, hi, allow_nan=False), label=arg.name)


class FlightSafety(RuleBasedStateMachine):
    """Random operation of the flight segment; the hardware must stay safe throughout."""

    #: The body the rover works on.
    BODY = "moon"

    def __init__(self) -> None:
        super().__init__()
        self.app: FlightApp | None = None

    @initialize(
        seed=st.sampled_from([7, 11]),
        chamber_K=st.floats(250.0, 698.0),
        mission_s=st.sampled_from([None, 5.0, 20.0, 40.0, 70.0, 100.0, 130.0, 165.0]),
    )
    def boot(self, seed: int, chamber_K: float, mission_s: float | None) -> None:
        """Start flight on a rover whose chamber may still be hot from an earlier batch, and let the mission
        run for ``mission_s`` simulated seconds first (anchoring, drilling, heating ...), or not start it."""
        self.app, self.world, self.clock = build_app(seed, self.BODY)
        self.world.device("extractor").chamber.temp_K = chamber_K
        self.monitor = HardwareMonitor(self.world, self.app)
        self.world.add_device("invariant_probe", StepProbe(self.monitor))
        self.device_commands = sorted(
            name for name in self.app.registry.names() if name.split(".", 1)[0] in self.app.rig.devices
        )
        if mission_s is not None:
            self._submit("mission.start", {"cycles": 1})
            self.app.executive.run(duration_s=mission_s)

    def teardown(self) -> None:
        if self.app is not None:
            self.app.close()
            uninstall_world()

    def _submit(self, name: str, args: dict[str, Any]) -> Any:
        status = self.app.dispatcher.submit(name, args, source="operator")
        assert status.stage in (Stage.COMPLETED, Stage.FAILED, Stage.PROGRESS, Stage.STARTED), status
        if status.stage == Stage.FAILED:
            assert status.reason, status  # every failure names its reason
        return status

    # ------------------------------------------------------------------------------------ commands
    @rule(data=st.data(), valid=st.booleans())
    def device_command(self, data: st.DataObject, valid: bool) -> None:
        name = data.draw(st.sampled_from(self.device_commands), label="command")
        spec = self.app.registry.spec(name)
        args = {arg.name: _in_range(arg, data) for arg in spec.args}
        if not valid and spec.args:
            bad = data.draw(st.sampled_from(spec.args), label="bad argument")
            args[bad.name] = _out_of_range(bad, data)
            status = self._submit(name, args)
            assert status.stage == Stage.FAILED and status.reason in ("out_of_range", "invalid_argument"), status
            return
        status = self._submit(name, args)
        if self.app.interlocks.estopped and status.stage != Stage.FAILED and not name.startswith("imu."):
            # Under e-stop only commands that take energy out may pass.
            assert name.endswith((".stop", ".clear_fault", ".self_test")) or not any(
                v for k, v in args.items() if k not in ("index",)
            ), status

    @rule(name=st.sampled_from(OPERATOR_COMMANDS))
    def operator_command(self, name: str) -> None:
        if name == "estop":
            if self.monitor.estop_at is None:
                self.monitor.estop_at = self.clock.monotonic()
            status = self._submit("estop", {})
            assert status.stage == Stage.COMPLETED, status
        elif name == "estop.reset":
            if self._submit("estop.reset", {}).stage == Stage.COMPLETED:
                self.monitor.estop_at = None
        else:
            self._submit(name, {"cycles": 1} if name == "mission.start" else {})

    @rule(name=st.sampled_from(PARAMS), value=st.one_of(st.floats(-10.0, 1000.0), st.sampled_from(["hold", "x"])))
    def set_parameter(self, name: str, value: Any) -> None:
        status = self._submit("param.set", {"name": name, "value": value})
        if name == "mission.no_such_parameter":
            assert status.stage == Stage.FAILED and status.reason == "invalid_parameter", status

    # -------------------------------------------------------------------------------------- faults
    @rule(fault=st.sampled_from(FAULTS))
    def inject(self, fault: tuple[str, str, dict[str, Any]]) -> None:
        device, kind, params = fault
        self.world.inject(device, kind, **params)

    @rule(fault=st.sampled_from(FAULTS), delay_s=st.sampled_from([0.01, 0.5, 5.0, 20.0]))
    def schedule(self, fault: tuple[str, str, dict[str, Any]], delay_s: float) -> None:
        device, kind, params = fault
        self.world.schedule(self.world.t + delay_s, device, kind, **params)

    @rule(policy=st.sampled_from(["hold", "resume"]))
    def restart_flight(self, policy: str) -> None:
        """Flight dies and comes back (the hardware keeps its state and latched faults): devices self-tested
        with their latched faults cleared, hardware made safe, the mission held or resumed by ``policy``
        (held anyway while a device the step needs has failed)."""
        snapshot = self.app.mission.snapshot()
        config = self.app.config
        self.app.close()
        self.app = FlightApp(config, self.clock)
        self.app.start()
        self.app.mission.restore(snapshot, policy)
        self.monitor.app = self.app
        self.monitor.estop_at = None  # the e-stop latch was flight's; the new process starts released

    # ---------------------------------------------------------------------------------------- time
    @rule(seconds=st.sampled_from([0.02, 0.05, 0.1, 0.5, 2.0, 10.0, 30.0]))
    def advance(self, seconds: float) -> None:
        self.app.executive.run(duration_s=seconds)

    @precondition(lambda self: self.app is not None and self.app.mission.state not in ("idle", "safe"))
    @rule(seconds=st.sampled_from([20.0, 60.0]))
    def let_the_mission_run(self, seconds: float) -> None:
        self.app.executive.run(duration_s=seconds)

    # ---------------------------------------------------------------------------------- invariants
    @invariant()
    def hardware_is_safe(self) -> None:
        if self.app is None:
            return
        self.world.sync()
        assert not self.monitor.violations, self.monitor.violations


# Derandomized in the suite (the same 10 programs every run, so CI never fails at random); to explore new
# programs, set derandomize=False and run this file with --hypothesis-seed=N.
FlightSafety.TestCase.settings = settings(
    derandomize=True,
    max_examples=10,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
test_flight_safety_invariants = pytest.mark.timeout(240)(FlightSafety.TestCase)


class AsteroidFlightSafety(FlightSafety):
    """The same random operation on a Bennu-class asteroid (configs/asteroid.toml): hopping, anchoring in
    microgravity, and the scoop's contact interlock."""

    BODY = "asteroid"


AsteroidFlightSafety.TestCase.settings = settings(
    derandomize=True,
    max_examples=5,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
test_asteroid_safety_invariants = pytest.mark.timeout(300)(AsteroidFlightSafety.TestCase)
