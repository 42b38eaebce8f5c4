"""Dead reckoning through a half turn on a slope: over the real flight stack and sim:// byte path on a
virtual clock, the rover stands on a 10 degree slope facing away from the next candidate site and must
turn about 180 degrees before driving there. The gyro's z axis leans with the body and sees only
cos(10 deg) of the turn, and the IMU's streaming period changes as the motion starts; the pose estimate
takes the turn about the vertical, each sample over its own window, and ends within a fraction of a
degree and a few decimetres of the truth (integrating the body rate over the ticks left it about 2.7
degrees short)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import pytest

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import VirtualClock
from flight.app import FlightApp
from flight.mission_config import SiteConfig
from isru.config import load_config
from sim_hw.registry import install_world, uninstall_world
from sim_hw.terrain import Layer, Site
from sim_hw.world import SimWorld

pytestmark = pytest.mark.timeout(600)

SLOPE = math.radians(10.0)
GROUND = (Layer(0.0, 3.0, 1600.0, 5.0, 0.0, 100.0),)


@pytest.fixture
def turned() -> Iterator[tuple[FlightApp, SimWorld]]:
    clock = VirtualClock()
    world = SimWorld(clock, seed=9, site=0)
    # the ground rises to the north at 10 degrees around the start; the second candidate lies 8 m west
    world.sites = [
        Site(0, 0.0, 0.0, SLOPE, math.pi / 2, GROUND, kind="slope"),
        Site(1, -8.0, 0.0, SLOPE, math.pi / 2, GROUND, kind="slope"),
    ]
    world.rover.x_m = world.rover.y_m = world.rover.heading_rad = 0.0  # facing east, away from it
    drive = world.device("drive")  # its odometry starts where the rover now stands
    drive.odo_x_m = drive.odo_y_m = drive.odo_heading_rad = 0.0  # type: ignore[attr-defined]
    install_world(world)
    config = load_config()
    mission = dataclasses.replace(config.mission, sites=[SiteConfig(0.0, 0.0), SiteConfig(-8.0, 0.0)], cycles=1)
    app = FlightApp(dataclasses.replace(config, mission=mission), clock)
    assert app.start() == []
    status = app.dispatcher.submit("mission.start", {"cycles": 1}, command_id="start-turn", source="test")
    assert status.stage.value != "failed", status
    limit = clock.monotonic() + 3600
    app.executive.run(
        until=lambda: (
            app.mission.progress.probe_index >= 2 or app.mission.state in ("safe", "hold") or clock.monotonic() > limit
        )
    )
    try:
        yield app, world
    finally:
        app.close()
        uninstall_world()


def test_a_half_turn_on_a_slope_keeps_the_heading_and_the_position(turned) -> None:
    app, world = turned
    assert app.mission.progress.probe_index >= 2, app.mission.state
    x, y, heading = app.mission.progress.pose
    rover = world.rover
    assert world.site is not None and world.site.index == 1
    assert abs(math.degrees(math.remainder(heading - rover.heading_rad, math.tau))) < 0.5
    assert abs(math.remainder(rover.heading_rad, math.tau)) > math.radians(120.0)  # it did turn round
    assert math.hypot(x - rover.x_m, y - rover.y_m) < 0.4
