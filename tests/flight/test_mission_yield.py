"""The mission mines where the ice is: over the real flight stack and sim:// byte path on a virtual clock,
with two purpose-built sites — loose dry regolith where the rover lands, ice-cemented regolith 8 m away —
it probes both, ranks the icy one first, anchors there through the cemented ground, fills the hopper with
drill cuttings and extracts water from them; when the hole is as deep as the drill reaches, the next cycle
drills a fresh hole beside it."""

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
from sim_hw.terrain import Layer, Site, icy_strength_gain_kPa
from sim_hw.world import SimWorld

#: Two cycles with prospecting are ~1500 s on the virtual clock: a few tens of seconds of wall time on an idle
#: machine, more when it is shared.
pytestmark = pytest.mark.timeout(600)

ICE = 0.06
ICE_TABLE_M = 0.04
#: Loose dry regolith (Lunar Sourcebook-like cohesion rising with depth).
DRY = (
    Layer(0.0, 0.15, 1500.0, 2.5, 0.0, 100.0),
    Layer(0.15, 0.3, 1650.0, 8.0, 0.0, 100.0),
    Layer(0.3, 3.0, 1750.0, 19.0, 0.0, 100.0),
)
#: A thin dry lag over ice-cemented regolith at 60 K (strength from the terrain's icy-strength model).
ICY = (
    Layer(0.0, ICE_TABLE_M, 1500.0, 2.5, 0.0, 60.0),
    Layer(ICE_TABLE_M, 3.0, 1750.0 / (1.0 - ICE), 15.0 + icy_strength_gain_kPa(ICE, 60.0), ICE, 60.0),
)


@pytest.fixture
def mined() -> Iterator[tuple[FlightApp, SimWorld]]:
    clock = VirtualClock()
    world = SimWorld(clock, seed=5, site=0)
    world.sites = [Site(0, 0.0, 0.0, 0.0, 0.0, DRY, kind="dry"), Site(1, 8.0, 0.0, 0.0, 0.0, ICY, kind="icy")]
    world.rover.x_m = world.rover.y_m = world.rover.heading_rad = 0.0
    install_world(world)
    config = load_config()
    # a short drill stroke (0.3 m) works a hole out in one cycle, so the second cycle needs a fresh hole
    drill = config.devices["drill"]
    drill = dataclasses.replace(drill, limits={**drill.limits, "max_depth_m": 0.3})
    mission = dataclasses.replace(
        config.mission,
        sites=[SiteConfig(0.0, 0.0), SiteConfig(8.0, 0.0)],
        cycles=2,
        probe_depth_m=0.1,
        bite_m=0.15,
        hopper_target_kg=0.5,
        heat_min_s=60.0,
        # the pore ice leaves through the bed over hours (docs/sim/extraction.md 1.5.2): a quarter of an hour
        # gives up a fifth or more of a small batch's water
        heat_max_s=900.0,
        vent_s=10.0,
    )
    devices = {**config.devices, "drill": drill}
    app = FlightApp(dataclasses.replace(config, mission=mission, devices=devices), clock)
    assert app.start() == []
    status = app.dispatcher.submit("mission.start", {"cycles": 2}, command_id="start-yield", source="test")
    assert status.stage.value != "failed", status
    limit = clock.monotonic() + 4 * 3600
    app.executive.run(until=lambda: app.mission.state in ("idle", "safe") or clock.monotonic() > limit)
    yield app, world
    app.close()
    uninstall_world()


def test_the_mission_probes_ranks_the_icy_site_first_and_extracts_its_water(mined) -> None:
    app, world = mined
    progress = app.mission.progress
    assert app.mission.state == "idle", [e.message for e in app.events.recent if e.severity >= 3]
    assert progress.visited == [
        "idle", "prospect", "anchor", "extract", "process",  # first hole
        "extract", "prospect", "anchor", "extract", "process",  # worked out at 0.3 m: travel to a fresh hole
        "stow", "idle",
    ]  # fmt: skip
    dry, icy = progress.probes[0], progress.probes[1]
    assert icy["cemented"] == 1.0 and dry["cemented"] == 0.0
    assert icy["ice"] == pytest.approx(ICE, abs=0.015) and dry["ice"] < 0.005
    assert progress.scores[1] > progress.scores[0]
    assert progress.site == 1
    # the slip- and gyro-corrected approach put the rover on the icy site itself; the first hole (in the
    # probe's bore, its cuttings from below 0.1 m) was judged icy on its bottom, so the second is beside it,
    # half a hole spacing away (at least twice the arrival tolerance)
    assert world.site is not None and world.site.index == 1
    assert progress.hole_offset == 1 and 0.1 < progress.hole_m <= 0.31
    cfg = app.mission.config
    beside = math.hypot(world.rover.x_m - 8.0, world.rover.y_m)
    assert beside == pytest.approx(max(cfg.hole_spacing_m / 2, 2 * cfg.arrive_tolerance_m), abs=0.3)
    assert len(progress.wet_hole) == 2
    # the hopper was filled by drill cuttings (the scoop would overload in cemented ground)
    assert world.device("scoop").dumped_kg == 0.0
    assert world.device("drill").delivered_kg >= 0.9
    assert progress.regolith_kg >= 0.9
    # water came out of it: a good part of the ice in the batches (the heater stops after 15 minutes here),
    # never more than the batch held (tailings + water collected, at most ICE water)
    held = ICE * (progress.regolith_kg + progress.water_kg)
    assert 0.15 * held < progress.water_kg <= 1.001 * held
    assert [(e["cycle"], e["site"], e["water_kg"] > 0.0) for e in app.ledger] == [(1, 1, True), (2, 1, True)]
