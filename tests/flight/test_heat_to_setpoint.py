"""A batch whose water comes off in two stages — pore ice near 250 K, water bound in hydrated minerals only near
700 K and above (King et al. 2015) — has a lull in its yield between them. With ``heat_to_setpoint`` (the
asteroid's configuration) heating goes on through the lull to the set point and collects the bound water;
without it the low-rate stop ends heating in the lull.

The real flight segment (interlocks, the extractor's driver and its emulator's chamber physics behind
``sim://``) on a virtual clock; the heating skill is stepped once per simulated second on a batch loaded straight
into the emulated chamber.
"""

from __future__ import annotations

import dataclasses

import pytest

from base.clock import VirtualClock
from flight.app import FlightApp
from flight.mission.heating import heat_batch
from flight.mission.motion import require
from isru.config import load_config
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld
from tests.flight.test_asteroid import CONFIG_PATH

pytestmark = pytest.mark.timeout(300)

SETPOINT_K = 800.0
#: The batch: kg of regolith, pore ice and bound water mass fractions, temperature K (a little ice: its yield arms
#: the low-rate stop, then falls off while the chamber still climbs to the bound water).
BATCH = (4.0, 0.004, 0.08, 250.0)


def _heat(heat_to_setpoint: bool) -> tuple[str, float, float]:
    """Heat the batch; returns (why heating stopped, the hottest chamber reading K, water collected kg)."""
    config = load_config(CONFIG_PATH)  # the asteroid's: an 800 K set point under an 850 K interlock maximum
    mission = dataclasses.replace(
        config.mission, heat_min_s=900.0, heat_max_s=5400.0, heat_to_setpoint=heat_to_setpoint
    )
    clock = VirtualClock()
    world = install_world(SimWorld(clock, body="asteroid", seed=7, site=0, step_s=config.sim.step_s))
    app = FlightApp(dataclasses.replace(config, mission=mission), clock)
    assert app.start() == []
    try:
        extractor = world.device("extractor")
        mass, ice, bound, temp = BATCH
        extractor.chamber.load(mass, ice, temp, bound)  # type: ignore[attr-defined]
        ctx = app.mission._ctx
        steps = [require(ctx, "extractor", "lid", sealed=1), heat_batch(ctx)]
        hottest = 0.0
        result: tuple[bool, str] | None = None
        for step in steps:
            while True:
                try:
                    next(step)
                except StopIteration as done:
                    result = done.value
                    break
                app.executive.run(duration_s=1.0)
                hottest = max(hottest, float(app.table.get("extractor.chamber_temp_K", 0.0)))
        assert result is not None
        stalled, reason = result
        assert not stalled, reason
        return reason, hottest, float(app.table.get("extractor.water_kg", 0.0))
    finally:
        app.close()
        uninstall_world()


def test_heating_goes_through_the_lull_to_the_set_point_only_with_heat_to_setpoint() -> None:
    early_reason, early_hottest, early_water = _heat(heat_to_setpoint=False)
    full_reason, full_hottest, full_water = _heat(heat_to_setpoint=True)
    assert "yield rate" in early_reason and early_hottest < SETPOINT_K - 100.0, (early_reason, early_hottest)
    assert "time limit" in full_reason and full_hottest >= SETPOINT_K - 30.0, (full_reason, full_hottest)
    assert full_water > 2.0 * early_water > 0.0, (early_water, full_water)
