"""Load shedding never strands hardware: in every mission state, a battery that falls below the shedding
threshold gets the drill withdrawn from the ground before its bus is cut, and the heater switched off.

The real flight segment over emulators behind ``sim://`` on a virtual clock; the check reads the simulated
hardware's physical state (the drill's depth, the bus switches), not what flight believes.
"""

from __future__ import annotations

import dataclasses

import pytest

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import VirtualClock
from flight.app import FlightApp
from flight.dispatcher import Stage
from flight.mission_config import SiteConfig
from isru.config import load_config
from sim_hw.devices.drill import DrillFirmware
from sim_hw.devices.extractor import ExtractorFirmware
from sim_hw.devices.power import PowerFirmware
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld

pytestmark = pytest.mark.timeout(300)

REACH_LIMIT_S = 900.0
SETTLE_LIMIT_S = 600.0
#: The drill counts as in the ground below this depth (the interlocks' drill_deployed_depth_m), m.
DEPLOYED_M = 0.02

#: leaf → what the simulated hardware must be doing when the battery drops (the drill deep in its hole, ...)
STATES = {
    "prospect_drive": lambda world: world.device("drive").motion == "move",
    "prospect_probe": lambda world: world.device("drill").mechanics.depth_m > 0.05,
    "anchor_preload": lambda world: True,
    "extract_drill": lambda world: world.device("drill").mechanics.depth_m > 0.15,
    "extract_scoop": lambda world: True,
    "process_seal": lambda world: True,
    "process_heat": lambda world: world.device("extractor").heater_W > 0.0,
    "stow": lambda world: True,
}


def build(prospect: bool) -> tuple[FlightApp, SimWorld, VirtualClock]:
    config = load_config()
    clock = VirtualClock()
    world = install_world(SimWorld(clock, seed=7, site=0))
    start = world.sites[0]
    mission = dataclasses.replace(
        config.mission,
        prospect=prospect,
        cycles=1,
        sites=[SiteConfig(start.x_m, start.y_m), SiteConfig(start.x_m + 2.5, start.y_m)],
        probe_depth_m=0.1,
        drill_depth_m=0.3,
        bite_m=0.3,
        hopper_target_kg=0.2,
        heat_min_s=0.0,
        heat_max_s=120.0,
        vent_s=5.0,
        drive_speed_m_s=0.2,
    )
    app = FlightApp(dataclasses.replace(config, mission=mission), clock)
    assert app.start() == []
    return app, world, clock


@pytest.mark.parametrize("leaf", sorted(STATES))
def test_shedding_withdraws_the_drill_before_cutting_its_bus_in_every_state(leaf: str) -> None:
    app, world, clock = build(prospect=leaf.startswith("prospect"))
    try:
        status = app.dispatcher.submit("mission.start", {"cycles": 1}, source="test")
        assert status.stage == Stage.COMPLETED, status
        reach = clock.monotonic() + REACH_LIMIT_S
        app.executive.run(
            until=lambda: (app.mission.state == leaf and STATES[leaf](world)) or clock.monotonic() > reach
        )
        assert app.mission.state == leaf, f"never reached {leaf} with its hardware ready (in {app.mission.state})"
        drill: DrillFirmware = world.device("drill")  # type: ignore[assignment]
        power: PowerFirmware = world.device("power")  # type: ignore[assignment]
        extractor: ExtractorFirmware = world.device("extractor")  # type: ignore[assignment]
        depth_at_fault = drill.mechanics.depth_m
        power.inject_low_battery(0.1)
        stranded: list[str] = []
        bus_on = world.rover.bus_on

        def check() -> bool:
            if not bus_on.get("drill", True) and drill.mechanics.depth_m > DEPLOYED_M:
                stranded.append(f"t={world.t:.2f}: drill bus off at {drill.mechanics.depth_m:.3f} m")
            return bool(stranded) or clock.monotonic() > settle

        settle = clock.monotonic() + SETTLE_LIMIT_S
        app.executive.run(until=check)
        assert not stranded, stranded[:3]
        assert drill.mechanics.depth_m <= DEPLOYED_M, f"the drill is still {drill.mechanics.depth_m:.3f} m deep"
        assert not bus_on.get("drill", True), "the drill bus was not shed"
        assert extractor.heater_W == 0.0
        names = [e.name for e in app.events.recent if e.source == "interlocks"]
        if depth_at_fault > DEPLOYED_M:
            assert "shed_retract" in names, names
        assert "bus_off" in names, names
    finally:
        app.close()
        uninstall_world()


def test_shedding_on_the_asteroid_stops_the_hopper_on_the_drive_bus_and_the_interlocks_keep_running() -> None:
    """The asteroid's drive bus feeds the hopper's flywheel, and the rig has no wheels: shedding stops the hopper
    before it cuts the bus, and the interlocks task never fails on a device the rig does not have."""
    from tests.flight.test_asteroid import build as build_asteroid

    app, world, clock = build_asteroid()
    try:
        status = app.dispatcher.submit("mission.start", {"cycles": 1}, source="test")
        assert status.stage == Stage.COMPLETED, status
        reach = clock.monotonic() + REACH_LIMIT_S
        hopper = world.device("hopper")
        app.executive.run(until=lambda: hopper.is_actuating() or clock.monotonic() > reach)
        assert hopper.is_actuating(), f"the hopper never worked (mission in {app.mission.state})"
        power: PowerFirmware = world.device("power")  # type: ignore[assignment]
        power.inject_low_battery(0.1)
        app.executive.run(duration_s=30.0)
        assert app.executive.group("control").task_errors == 0
        assert not world.rover.bus_on.get("drive", True), "the drive bus was not shed"
        assert not hopper.is_actuating()
        names = [e.name for e in app.events.recent if e.source == "interlocks"]
        assert "bus_off" in names and "shed_stop_failed" not in names, names
    finally:
        app.close()
        uninstall_world()
