"""A fresh hole is never drilled in the bore of the last one.

On the asteroid the arrival tolerance (2 m, a hop lands within metres) is wider than the hole spacing, so the
next hole of a site is aimed at the same place as the last, and an arrival there needs no hop: the drill went
back down the worked-out bore and cut nothing ("4 bite(s), hole 1.00 m, hopper 0.00 kg" in asteroid seed 1's
second cycle, which then scooped instead). Over the real flight stack and the sim:// byte path on a virtual
clock, a hole is drilled to the drill's reach in the first cycle; the second cycle's fresh hole is started
only after a hop aside, away from the first bore, and its bites fill the hopper.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import VirtualClock
from flight.app import FlightApp
from flight.events import Event
from flight.mission_config import SiteConfig
from isru.config import load_config
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld

pytestmark = pytest.mark.timeout(600)

CONFIG_PATH = Path(__file__).parents[2] / "configs" / "asteroid.toml"
REACH_M = 0.1


def test_the_next_hole_is_started_beside_the_worked_out_bore_not_in_it() -> None:
    config = load_config(CONFIG_PATH)
    clock = VirtualClock()
    world = install_world(SimWorld(clock, body="asteroid", seed=7, site=0, step_s=config.sim.step_s))
    x, y = world.rover.x_m, world.rover.y_m
    mission = dataclasses.replace(
        config.mission,
        cycles=2,
        sites=[SiteConfig(x, y)],
        probe_depth_m=0.05,
        drill_depth_m=REACH_M,
        hopper_target_kg=0.5,
        heat_min_s=0.0,
        heat_max_s=60.0,
        vent_s=5.0,
    )
    drill = dataclasses.replace(
        config.devices["drill"], limits={**config.devices["drill"].limits, "max_depth_m": REACH_M}
    )
    app = FlightApp(dataclasses.replace(config, mission=mission, devices={**config.devices, "drill": drill}), clock)
    events: list[Event] = []
    holes: list[tuple[float, float]] = []  # where the rover truly stood as each hole's drilling began

    def seen(event: Event) -> None:
        if event.source != "mission":
            return
        events.append(event)
        if event.name == "transition" and "→ extract_drill" in event.message:
            holes.append((world.rover.x_m, world.rover.y_m))

    try:
        assert app.start() == []
        app.events.subscribe(seen)
        status = app.dispatcher.submit("mission.start", {"cycles": 2}, source="test")
        assert status.stage.value != "failed", status
        limit = clock.monotonic() + 40 * 3600
        app.executive.run(
            until=lambda: (
                len(app.mission.campaign.cycles) >= 2
                or app.mission.state in ("safe", "hold")
                or clock.monotonic() > limit
            )
        )
        assert len(app.mission.campaign.cycles) == 2, (app.mission.state, [e.message for e in events][-5:])
    finally:
        app.close()
        uninstall_world()
    messages = [e.message for e in events]
    drilled = [m for m in messages if m.startswith("extract_drill → extract_scoop")]
    assert len(drilled) == 2, drilled
    assert "hopper 0.00 kg" not in drilled[1], drilled  # the second hole's bites cut fresh ground
    aside = [e for e in events if e.name == "step_aside"]
    assert aside, messages
    first, last = holes[0], holes[-1]
    assert math.hypot(last[0] - first[0], last[1] - first[1]) >= 0.05, holes  # out of the first bore
