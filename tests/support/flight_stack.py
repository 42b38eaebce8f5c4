"""A whole flight segment over the simulated rover, in-process on a virtual clock (every device command
crosses the real byte path through sim://)."""

from __future__ import annotations

import dataclasses

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import VirtualClock
from flight.app import FlightApp
from isru.config import load_config
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld


def build(seed: int = 7) -> tuple[FlightApp, SimWorld, VirtualClock]:
    """A started flight app over the simulated rover on a virtual clock, with a short one-bite cycle."""
    config = load_config()
    mission = dataclasses.replace(
        config.mission,
        prospect=False,
        cycles=1,
        heat_min_s=120.0,
        heat_max_s=300.0,  # a dry batch never yields: the heater runs to this limit
        hopper_target_kg=1.0,  # one drill bite: the cycle stays short in wall time
        vent_s=10.0,
    )
    config = dataclasses.replace(config, mission=mission, sim=dataclasses.replace(config.sim, seed=seed))
    clock = VirtualClock()
    world = install_world(SimWorld(clock, seed=seed, site=0))
    app = FlightApp(config, clock)
    failures = app.start()
    if failures:
        app.close()
        uninstall_world()
        raise RuntimeError(f"flight did not start: {failures}")
    return app, world, clock
