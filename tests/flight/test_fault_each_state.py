"""A fault injected in each top-level mission state ends in SAFE or in the documented recovery.

For each state the mission is driven there on a virtual clock (the real flight segment over emulators
behind ``sim://``), a representative fault is injected into the simulated hardware, and the run goes on
until the mission settles. The outcome must be the one ``docs/operations.md`` (section 7, "A fault in each
mission state") gives for that state and fault: SAFE (where hardware safety needs it) or HOLD for the
ground with every actuator stopped, or the recovery named there (anchoring retried, the stall ladder),
proven by its events.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import VirtualClock
from flight.app import FlightApp
from flight.dispatcher import Stage
from flight.events import Event
from flight.mission_config import SiteConfig
from isru.config import load_config
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld

#: Longest a run may take to reach the state under test, or to settle after the fault, simulated seconds.
REACH_LIMIT_S = 600.0
SETTLE_LIMIT_S = 900.0
ACTUATORS = ("drill", "scoop", "extractor", "anchor", "drive")


@dataclass
class Case:
    """Reach leaf ``leaf`` (and ``ready(world)``), inject ``faults``, expect ``outcome``."""

    leaf: str
    faults: list[tuple[float, str, str, dict[str, Any]]]  # (delay s, device, kind, params)
    outcome: str  # the state the mission settles in, or the later state a recovery reaches
    evidence: tuple[str, ...]  # events the documented outcome raises: "source.name" or "source.name~text in message"
    prospect: bool = False
    ready: Callable[[SimWorld], bool] = field(default=lambda world: True)
    mission: dict[str, Any] = field(default_factory=dict)  # mission settings beyond the short mission's
    reach_s: float = REACH_LIMIT_S
    settle_s: float = SETTLE_LIMIT_S


CASES = {
    # A wheel short that lasts 30 s: the retry waits for the drive to settle (its fault cleared once the short
    # is gone), then drives on to the candidate site.
    "prospect-drive-overcurrent": Case(
        "prospect_drive",
        [(0.0, "drive", "overcurrent", {"duration_s": 30.0})],
        "prospect_probe",
        ("mission.activity_failed", "mission.step_retried", "drive.fault_cleared"),
        prospect=True,
        ready=lambda world: world.device("drive").motion == "move",
    ),
    # One that outlasts the settling: HOLD naming the fault still latched, the retry not wasted on a drive
    # that cannot move.
    "prospect-drive-overcurrent-persistent": Case(
        "prospect_drive",
        [(0.0, "drive", "overcurrent", {"duration_s": 600.0})],
        "hold",
        ("mission.step_retried", "mission.transition~drive: fault overcurrent latched after 90 s"),
        prospect=True,
        ready=lambda world: world.device("drive").motion == "move",
    ),
    # The probe's auger seizes for 30 s: the probe is drilled again a minute later (not scored by the few
    # centimetres it reached), and prospecting goes on.
    "prospect-probe-stall": Case(
        "prospect_probe",
        [(0.0, "drill", "stall", {}), (30.0, "drill", "stall", {"active": False})],
        "prospect_drive",
        ("mission.probe_stalled~probing again in 60 s", "mission.probe~site 0"),
        prospect=True,
        ready=lambda world: world.device("drill").motion == "feed",
    ),
    # Both wheel sides jam for 10 s: fault protection's wheel_overcurrent fails the step (fail_step), the
    # retry waits for the drive's wheel_stall to clear once the jam is gone, and the rover drives on.
    "prospect-wheel-stall": Case(
        "prospect_drive",
        [(0.0, "drive", "wheel_stall", {"side": "both", "duration_s": 10.0})],
        "prospect_probe",
        ("fdir.actionpoint_fired~wheel_overcurrent", "mission.step_retried", "drive.fault_cleared"),
        prospect=True,
        ready=lambda world: world.device("drive").motion == "move",
    ),
    "anchor-slip-transient": Case(
        "anchor_preload",
        [(0.0, "anchor", "slip", {}), (3.0, "anchor", "slip", {"active": False})],
        "extract_drill",
        ("mission.transition~anchoring attempt 1 failed",),
    ),
    "anchor-slip-persistent": Case(
        "anchor_preload",
        [(0.0, "anchor", "slip", {})],
        "hold",
        (
            "mission.transition~anchoring attempt 1 failed",
            "mission.activity_failed",
            "mission.transition~hold for the ground",
        ),
    ),
    "extract-drill-stall": Case(
        "extract_drill",
        [(0.5, "drill", "stall", {})],
        "process_seal",
        ("mission.drill_stall", "mission.hole_ended"),
    ),
    # The auger jams in the hole: the retract ends BLOCKED, so nothing may pull the anchors or drive off; the
    # mission holds naming the stuck drill (not SAFE on an anchor retract the interlocks refuse).
    "extract-drill-jam": Case(
        "extract_drill",
        [(0.5, "drill", "jam", {})],
        "hold",
        ("mission.activity_failed~the drill did not come out of the hole", "mission.transition~drill: fault"),
        ready=lambda world: world.device("drill").is_actuating(),
    ),
    # A short trips the drill bus's electronic fuse under the turning auger: the retry switches the bus on
    # again (the power unit reports the trip) and drilling goes on.
    "extract-drill-bus-fuse": Case(
        "extract_drill",
        [(0.5, "power", "overcurrent", {"bus": "drill"})],
        "process_seal",
        ("power.fault_set", "mission.step_retried", "mission.bus_restore~drill bus"),
        ready=lambda world: world.device("drill").is_actuating(),
    ),
    # The bit overheats 25 K past its limit: the retry waits past the usual 90 s while the bit keeps cooling
    # (withdrawn, in vacuum: about 1.6 K a minute), then drills on.
    "extract-drill-overtemp": Case(
        "extract_drill",
        [(0.5, "drill", "overtemp", {})],
        "process_seal",
        ("mission.step_retried", "mission.settle_cooling~drill.bit_temp_K", "drill.fault_cleared"),
        ready=lambda world: world.device("drill").is_actuating(),
        settle_s=2400.0,
    ),
    "extract-anchor-slip": Case(
        "extract_drill",
        [(0.5, "anchor", "slip", {})],
        "safe",
        ("interlocks.drill_unanchored", "mission.safe"),
        ready=lambda world: world.device("drill").is_actuating(),  # the slip comes while the auger turns
    ),
    "process-heater-runaway": Case(
        "process_heat",
        [(1.0, "extractor", "heater_runaway", {})],
        "safe",
        ("interlocks.heater_uncommanded", "interlocks.bus_off", "mission.safe"),
    ),
    # Mid-heat, the regulator still at work: the interlocks cut the heater near the chamber's maximum and the
    # bus when it still draws; heating stalls and the mission goes to SAFE naming the failed switch.
    "process-heater-runaway-mid-heat": Case(
        "process_heat",
        [(0.0, "extractor", "heater_runaway", {})],
        "safe",
        ("interlocks.heater_uncommanded", "interlocks.bus_off", "mission.safe~failed closed"),
        mission={"heat_max_s": 6 * 3600.0, "heat_min_s": 5 * 3600.0},  # heat on to the set point
        reach_s=6000.0,
        settle_s=1800.0,  # the chamber climbs to its maximum, then heating stalls for heat_stall_s
        ready=lambda world: world.device("extractor").chamber.temp_K > 600.0,  # the regulator near its set point
    ),
    # The lid seal starts leaking mid-heat: the heat stops at once and the mission holds naming the leak (not a
    # silent two-hour heat into a chamber that can no longer be vented).
    "process-seal-leak": Case(
        "process_heat",
        [(1.0, "extractor", "seal_leak", {"rate": 0.001})],
        "hold",
        ("extractor.fault_set", "mission.transition~the chamber's lid seal leaks (extractor fault seal_leak)"),
        mission={"heat_max_s": 3600.0},
        settle_s=120.0,
    ),
    # A short trips the extractor bus's electronic fuse mid-heat: the step fails at once (not after the 300 s
    # heating stall, then a hold), the retry switches the bus on again and the heat goes on to the vent.
    "process-heat-bus-fuse": Case(
        "process_heat",
        [(1.0, "power", "overcurrent", {"bus": "extractor"})],
        "process_vent",
        ("power.fault_set", "mission.step_retried~fuse tripped while heating", "mission.bus_restore~extractor bus"),
        mission={"heat_max_s": 600.0},
    ),
    "process-low-battery": Case(
        "process_heat",
        [(1.0, "power", "low_battery", {"soc": 0.1})],
        "safe",
        ("interlocks.bus_off", "fdir.actionpoint_fired", "mission.safe"),
    ),
    "stow-anchor-link-lost": Case(
        "stow",
        [(0.0, "anchor", "disconnect", {})],
        "hold",
        ("mission.activity_failed", "mission.step_retried", "mission.transition~hold for the ground"),
    ),
}


def build(case: Case, rates: dict[str, Any] | None = None, **mission: Any) -> tuple[FlightApp, SimWorld, VirtualClock]:
    """The flight segment with a short mission: one cycle, a shallow hole, a small batch (``mission``
    overrides any of its settings, ``rates`` any of ``[flight.rates]``)."""
    config = load_config()
    if rates:
        config = dataclasses.replace(
            config, flight=dataclasses.replace(config.flight, rates=dataclasses.replace(config.flight.rates, **rates))
        )
    clock = VirtualClock()
    world = install_world(SimWorld(clock, seed=7, site=0))
    start = world.sites[0]
    short = dict(
        prospect=case.prospect,
        cycles=1,
        # two candidates on the same patch of ground, 2.5 m apart: a short drive between probes
        sites=[SiteConfig(start.x_m, start.y_m), SiteConfig(start.x_m + 2.5, start.y_m)],
        probe_depth_m=0.05,
        drill_depth_m=0.05,
        feed_rate_m_s=0.005,
        hopper_target_kg=0.2,
        heat_min_s=0.0,
        heat_max_s=60.0,
        vent_s=5.0,
        drive_speed_m_s=0.2,
    )
    short.update(mission)
    app = FlightApp(dataclasses.replace(config, mission=dataclasses.replace(config.mission, **short)), clock)
    assert app.start() == []
    return app, world, clock


def _matches(event: Event, wanted: str) -> bool:
    name, _, text = wanted.partition("~")
    return f"{event.source}.{event.name}" == name and text in event.message


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_fault_in_each_state_ends_safe_or_recovers(name: str) -> None:
    case = CASES[name]
    app, world, clock = build(case, **case.mission)
    events: list[Event] = []
    try:
        status = app.dispatcher.submit("mission.start", {"cycles": 1}, source="test")
        assert status.stage == Stage.COMPLETED, status
        reach = clock.monotonic() + case.reach_s
        app.executive.run(
            until=lambda: (app.mission.state == case.leaf and case.ready(world)) or clock.monotonic() > reach
        )
        assert app.mission.state == case.leaf, f"{name}: never reached {case.leaf} (in {app.mission.state})"
        app.events.subscribe(events.append)
        for delay_s, device, kind, params in case.faults:
            world.schedule(world.t + delay_s, device, kind, **params)
        visited = [app.mission.state]

        def settled() -> bool:
            if app.mission.state != visited[-1]:
                visited.append(app.mission.state)
            return app.mission.state in (case.outcome, "safe", "hold", "idle") or clock.monotonic() > settle

        settle = clock.monotonic() + case.settle_s
        app.executive.run(until=settled)
        assert app.mission.state == case.outcome, f"{name}: went {visited}"
        missing = [wanted for wanted in case.evidence if not any(_matches(e, wanted) for e in events)]
        assert not missing, f"{name}: no {missing} event; saw {sorted({f'{e.source}.{e.name}' for e in events})}"
        if case.outcome in ("safe", "hold"):
            app.executive.run(duration_s=3.0)
            assert app.mission.state == case.outcome
            driven = [d for d in ACTUATORS if d != "extractor" and world.device(d).is_actuating()]
            assert not driven, f"{name}: in {case.outcome} but {driven} still actuating"
        if case.outcome == "safe":
            assert world.device("extractor").heater_W == 0.0
    finally:
        app.close()
        uninstall_world()


def test_an_auger_seized_for_25_s_is_re_bitten_after_a_pause_and_the_hole_goes_on() -> None:
    # Re-bitten at once, a seizure that lasts half a minute took all three re-bites within seconds and ended
    # the hole; the pause before each re-bite (10, 20, 40 s) lets it pass at the second rung.
    case = Case("extract_drill", [], "", (), ready=lambda world: world.device("drill").is_actuating())
    app, world, clock = build(case)
    events: list[Event] = []
    try:
        assert app.dispatcher.submit("mission.start", {"cycles": 1}, source="test").stage == Stage.COMPLETED
        reach = clock.monotonic() + REACH_LIMIT_S
        app.executive.run(
            until=lambda: (app.mission.state == case.leaf and case.ready(world)) or clock.monotonic() > reach
        )
        assert app.mission.state == case.leaf
        app.events.subscribe(events.append)
        world.schedule(world.t + 0.5, "drill", "stall")
        world.schedule(world.t + 25.0, "drill", "stall", active=False)
        settle = clock.monotonic() + SETTLE_LIMIT_S
        app.executive.run(until=lambda: app.mission.state != case.leaf or clock.monotonic() > settle)
        assert app.mission.state in ("extract_scoop", "process_seal"), app.mission.state  # drilling done
        names = [f"{e.source}.{e.name}" for e in events]
        assert "mission.drill_stall" in names and "mission.hole_ended" not in names, names
    finally:
        app.close()
        uninstall_world()
