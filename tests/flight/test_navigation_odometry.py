"""A noisy odometer does not send the rover to the wrong ground.

Over the real flight stack and the sim:// byte path on a virtual clock, the rover probes where it stands and
drives 8 m to the second candidate site while the drive's ``x_m`` reading carries 1 m of noise (``drive.noise``).
Each odometry step the wheels cannot have made is rejected and that tick dead-reckoned from the wheel speed, so
the estimate stays within decimetres of the truth and the rover reaches the site it meant to probe, with
``odometry_suspect`` reported. Before, the gate widened with every rejected sample until noise passed it: 200 s
of such noise sent the rover to dry ground and the cycle booked 0 kg, silently. Noise of a few centimetres
passes the gate: the step along the drive's heading is integrated, not its length (which counted every jitter
as travel and left an 8 m drive 3 m short).
"""

from __future__ import annotations

import dataclasses
import math

import pytest

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import VirtualClock
from flight.app import FlightApp
from flight.events import Event
from flight.mission_config import SiteConfig
from isru.config import load_config
from sim_hw.registry import install_world, uninstall_world
from sim_hw.terrain import Layer, Site
from sim_hw.world import SimWorld

pytestmark = pytest.mark.timeout(600)

GROUND = (Layer(0.0, 3.0, 1600.0, 5.0, 0.0, 100.0),)


def _drive(noise_sigma_m: float) -> tuple[list[float], SimWorld, list[Event]]:
    """Probe site 0, drive to site 1 (8 m east) with ``noise_sigma_m`` of noise on the odometer's x; returns
    the pose estimate at the second probe, the world, and the mission's events."""
    clock = VirtualClock()
    world = SimWorld(clock, seed=4, site=0)
    world.sites = [Site(0, 0.0, 0.0, 0.0, 0.0, GROUND, kind="flat"), Site(1, 8.0, 0.0, 0.0, 0.0, GROUND, kind="flat")]
    world.rover.x_m = world.rover.y_m = world.rover.heading_rad = 0.0
    drive = world.device("drive")
    drive.odo_x_m = drive.odo_y_m = drive.odo_heading_rad = 0.0  # type: ignore[attr-defined]
    install_world(world)
    config = load_config()
    mission = dataclasses.replace(config.mission, sites=[SiteConfig(0.0, 0.0), SiteConfig(8.0, 0.0)], cycles=1)
    app = FlightApp(dataclasses.replace(config, mission=mission), clock)
    events: list[Event] = []
    try:
        assert app.start() == []
        app.events.subscribe(lambda event: events.append(event) if event.source == "mission" else None)
        if noise_sigma_m:
            world.schedule(world.t, "drive", "noise", field="x_m", sigma=noise_sigma_m, duration_s=7200.0)
        status = app.dispatcher.submit("mission.start", {"cycles": 1}, source="test")
        assert status.stage.value != "failed", status
        limit = clock.monotonic() + 3600
        app.executive.run(
            until=lambda: (
                app.mission.progress.probe_index >= 2
                or app.mission.state in ("safe", "hold")
                or clock.monotonic() > limit
            )
        )
        assert app.mission.progress.probe_index >= 2, app.mission.state
        return list(app.mission.progress.pose), world, events
    finally:
        app.close()
        uninstall_world()


@pytest.mark.parametrize("sigma_m", [1.0, 0.05])
def test_a_noisy_odometer_is_reported_and_the_rover_still_reaches_the_site(sigma_m: float) -> None:
    pose, world, events = _drive(noise_sigma_m=sigma_m)
    rover = world.rover
    assert world.site is not None and world.site.index == 1, (rover.x_m, rover.y_m)
    assert math.hypot(pose[0] - rover.x_m, pose[1] - rover.y_m) < 0.5, (pose, rover.x_m, rover.y_m)
    suspect = [e.message for e in events if e.name == "odometry_suspect"]
    assert suspect and "drive.move" in " ".join(suspect), suspect


def test_a_clean_odometer_raises_no_suspicion() -> None:
    pose, world, events = _drive(noise_sigma_m=0.0)
    assert world.site is not None and world.site.index == 1
    assert math.hypot(pose[0] - world.rover.x_m, pose[1] - world.rover.y_m) < 0.5
    assert not [e for e in events if e.name == "odometry_suspect"]
