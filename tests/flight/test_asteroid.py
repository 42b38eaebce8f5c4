"""The flight segment on a Bennu-class asteroid (configs/asteroid.toml), over the emulators behind sim://:
the microgravity interlocks (no hop anchored, no hop near escape speed, no scoop contact unanchored), and
every fault of the hopping mobility injected while the mission hops, ending recovered or in HOLD or SAFE with
the reason — never a rover lost without the mission noticing. Every fault kind of the hopper injected as each
phase is entered is tests/flight/test_asteroid_inject_phases.py."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import VirtualClock
from flight.app import FlightApp
from flight.dispatcher import Stage
from flight.errors import InterlockViolation
from flight.events import Event
from flight.mission_config import SiteConfig
from hal.icd import Completion
from hal.motion import Motion
from isru.commands.demo import parse_fault
from isru.config import load_config
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld

CONFIG_PATH = Path(__file__).parents[2] / "configs" / "asteroid.toml"
REACH_LIMIT_S = 600.0
SETTLE_LIMIT_S = 4000.0


def build(hop_m: float = 6.0) -> tuple[FlightApp, SimWorld, VirtualClock]:
    """The asteroid flight app; two candidate sites ``hop_m`` and ``hop_m + 3`` m from the start."""
    config = load_config(CONFIG_PATH)
    clock = VirtualClock()
    world = install_world(SimWorld(clock, body="asteroid", seed=7, site=0, step_s=config.sim.step_s))
    x, y = world.rover.x_m, world.rover.y_m
    mission = dataclasses.replace(
        config.mission,
        cycles=1,
        sites=[SiteConfig(x + hop_m, y), SiteConfig(x + hop_m + 3.0, y)],
        probe_depth_m=0.05,
        drill_depth_m=0.05,
        hopper_target_kg=0.2,
        heat_min_s=0.0,
        heat_max_s=60.0,
        vent_s=5.0,
    )
    app = FlightApp(dataclasses.replace(config, mission=mission), clock)
    assert app.start() == []
    return app, world, clock


@pytest.fixture
def asteroid() -> Iterator[tuple[FlightApp, SimWorld, VirtualClock]]:
    app, world, clock = build()
    try:
        yield app, world, clock
    finally:
        app.close()
        uninstall_world()


def refused(app: FlightApp, device: str, name: str, **args: Any) -> str:
    with pytest.raises(InterlockViolation) as caught:
        app.interlocks.command(device, name, **args)
    return caught.value.interlock


def test_microgravity_interlocks(asteroid: tuple[FlightApp, SimWorld, VirtualClock]) -> None:
    app, world, _clock = asteroid
    app.executive.run(duration_s=1.0)
    assert refused(app, "hopper", "hop", heading_rad=0.0, speed_m_s=0.15, elevation_rad=0.78) == "hop_escape"
    world.device("hopper").assert_not_received("hop")
    assert refused(app, "scoop", "dig", depth_m=0.05) == "scoop_unanchored"
    assert refused(app, "scoop", "move", angle_rad=-0.3, speed_rad_s=0.1) == "scoop_unanchored"
    world.device("scoop").assert_not_received("dig")
    assert refused(app, "drill", "spin", rpm=100.0) == "drill_unanchored"
    deploy = app.interlocks.command("anchor", "deploy", mask=0b1111, depth_m=0.3)
    assert isinstance(deploy, Motion)
    app.executive.run(until=lambda: deploy.done)
    app.executive.run(duration_s=1.0)
    assert refused(app, "hopper", "hop", heading_rad=0.0, speed_m_s=0.02, elevation_rad=0.78) == "hop_anchored"
    world.device("hopper").assert_not_received("hop")
    preload = app.interlocks.command("anchor", "preload", mask=0b1111, force_N=0.15)
    assert isinstance(preload, Motion)
    app.executive.run(until=lambda: preload.done)
    app.executive.run(duration_s=1.0)
    assert preload.completion == Completion.OK and app.interlocks.anchored
    app.interlocks.command("scoop", "move", angle_rad=-0.3, speed_rad_s=0.1)  # anchored: allowed
    world.device("scoop").assert_received("move", "started")


def test_a_rover_without_wheels_raises_no_stale_wheel_watchpoint(
    asteroid: tuple[FlightApp, SimWorld, VirtualClock],
) -> None:
    app, _world, _clock = asteroid
    app.executive.run(duration_s=10.0)  # well past every watchpoint's staleness limit
    stale = [e.data["channel"] for e in app.events.recent if e.name == "watchpoint_stale"]
    assert not [channel for channel in stale if channel.startswith("drive.")], stale
    assert any(e.name == "watchpoints_not_applicable" and "drive" in e.message for e in app.events.recent)


def test_the_hopper_is_self_tested_while_the_rover_sits_still_but_not_under_the_estop(
    asteroid: tuple[FlightApp, SimWorld, VirtualClock],
) -> None:
    app, world, _clock = asteroid
    hopper = world.device("hopper")
    app.executive.run(duration_s=300.0)
    tests = len(hopper.received("self_test"))
    assert tests >= 2  # every 2 minutes while idle
    assert app.dispatcher.submit("estop", {}, source="test").stage == Stage.COMPLETED
    app.executive.run(duration_s=300.0)
    assert len(hopper.received("self_test")) == tests  # the flywheel is not pulsed under the e-stop


#: fault kind → (the state the mission settles in, events that prove how: "source.name~text in message")
HOP_FAULTS = {
    "failed_hop": ("prospect_probe", ("mission.hop_failed~launch 1 ended BLOCKED", "mission.hop")),
    "bad_landing": ("prospect_probe", ("mission.hop_tumbled", "mission.hop")),
    "stuck_flywheel": (
        "hold",
        (
            "mission.activity_failed~hopper flywheel stuck",
            "mission.transition~hopper: fault flywheel_stuck latched after 90 s",
        ),
    ),
    "runaway_launch": ("safe", ("mission.safe~rover lost",)),
}


def _matches(event: Event, wanted: str) -> bool:
    name, _, text = wanted.partition("~")
    return f"{event.source}.{event.name}" == name and text in event.message


@pytest.mark.parametrize("kind", sorted(HOP_FAULTS))
def test_each_hop_fault_ends_recovered_or_held_or_safe_with_the_reason(kind: str) -> None:
    outcome, evidence = HOP_FAULTS[kind]
    app, world, clock = build()
    events: list[Event] = []
    try:
        app.events.subscribe(events.append)
        status = app.dispatcher.submit("mission.start", {"cycles": 1}, source="test")
        assert status.stage == Stage.COMPLETED, status
        reach = clock.monotonic() + REACH_LIMIT_S
        hopper = world.device("hopper")
        app.executive.run(until=lambda: hopper.motion == "hop" or clock.monotonic() > reach)
        assert app.mission.state == "prospect_drive" and hopper.motion == "hop"
        world.inject("hopper", kind)
        settle = clock.monotonic() + SETTLE_LIMIT_S
        app.executive.run(until=lambda: app.mission.state in (outcome, "hold", "safe") or clock.monotonic() > settle)
        assert app.mission.state == outcome, [e.message for e in events if e.source == "mission"][-5:]
        missing = [wanted for wanted in evidence if not any(_matches(e, wanted) for e in events)]
        assert not missing, f"{kind}: no {missing}; saw {[e.message for e in events if e.source == 'mission']}"
        if outcome in ("hold", "safe"):
            app.executive.run(duration_s=3.0)
            assert app.mission.state == outcome
            assert not [d for d in ("drill", "scoop", "anchor", "hopper") if world.device(d).is_actuating()]
        if outcome == "hold":  # the flywheel never spun up: the rover did not launch and sits where it was
            assert hopper.hops == 0 and hopper.upright and hopper.hop is None
        elif outcome != "safe":
            assert hopper.hops >= 1 and hopper.upright and world.rover.anchor_depth_m == 0.0
    finally:
        app.close()
        uninstall_world()


def test_a_flywheel_seized_while_anchored_is_reported_refuses_the_next_hop_and_holds_until_freed() -> None:
    """The flywheel seizes while the rover probes a site, anchored: the built-in test finds it and the
    mission reports it; the next hop is refused and the mission holds for the ground, the rover where it was
    (no hop sent); ``mission.resume`` is refused while the fault is latched; freed and cleared,
    the mission resumes and hops on."""
    app, world, clock = build()
    events: list[Event] = []
    try:
        app.events.subscribe(events.append)
        app.dispatcher.submit("mission.start", {"cycles": 1}, source="test")
        limit = clock.monotonic() + REACH_LIMIT_S
        app.executive.run(until=lambda: app.mission.state == "prospect_probe" or clock.monotonic() > limit)
        assert app.mission.state == "prospect_probe"
        hopper = world.device("hopper")
        hops, x, sent = hopper.hops, world.rover.x_m, len(hopper.received("hop"))
        world.inject("hopper", "stuck_flywheel")
        limit = clock.monotonic() + SETTLE_LIMIT_S
        app.executive.run(until=lambda: app.mission.state == "hold" or clock.monotonic() > limit)
        assert app.mission.state == "hold", [e.message for e in events if e.source == "mission"][-4:]
        unfit = [e for e in events if e.name == "hopper_unfit"]
        holds = [e.message for e in events if e.name == "transition" and e.message.startswith("prospect_drive → hold")]
        assert unfit and "flywheel_stuck" in unfit[0].message
        assert holds and "hopper: fault flywheel_stuck latched after 90 s" in holds[-1]
        assert hopper.hops == hops and world.rover.x_m == x and len(hopper.received("hop")) == sent  # no launch
        refused = app.dispatcher.submit("mission.resume", {}, source="test")
        assert refused.stage == Stage.FAILED and "hopper: fault flywheel_stuck latched" in refused.message
        world.inject("hopper", "stuck_flywheel", stuck=False)  # freed (a real rover: thermal cycling)
        assert app.dispatcher.submit("hopper.clear_fault", {}, source="test").stage == Stage.COMPLETED
        app.executive.run(duration_s=2.0)
        assert app.dispatcher.submit("mission.resume", {}, source="test").stage == Stage.COMPLETED
        limit = clock.monotonic() + SETTLE_LIMIT_S
        app.executive.run(until=lambda: hopper.hops > hops or clock.monotonic() > limit)
        assert hopper.hops > hops and app.mission.state == "prospect_drive"
    finally:
        app.close()
        uninstall_world()


@pytest.mark.parametrize(
    "text",
    [
        "hopper.failed_hop@600",
        "hopper.bad_landing",
        "hopper.stuck_flywheel:stuck=true",
        "hopper.runaway_launch:speed_m_s=0.3",
    ],
)
def test_demo_inject_accepts_each_hop_fault(text: str) -> None:
    at_s, device, kind, _params = parse_fault(text)
    assert device == "hopper" and kind in HOP_FAULTS and at_s >= 0.0


def test_demo_inject_names_what_a_hop_fault_takes() -> None:
    with pytest.raises(ValueError, match=r"no parameter 'speed'; expected one of \['stuck'\]"):
        parse_fault("hopper.stuck_flywheel:speed=1")
    with pytest.raises(ValueError, match="expected one of"):
        parse_fault("hopper.lost")
