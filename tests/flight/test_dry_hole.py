"""A hole that misses the probed ice is left for the next one: over the real flight stack and sim:// byte
path on a virtual clock, the rover probes an icy site where it lands and a dry one 8 m away, ranks the
icy one first and drives back; meanwhile the icy ground "moves" (what a drifted pose estimate does to the
rover: it stands beside the ground it probed). The first hole's volatiles reading is far under the
probe's, so the mission tips the dry cuttings out and drills the next hole of the grid — which is on the
ice when the shift is smaller than the grid; when the ice is gone altogether, the search covers the grid
out to two spacings and then holds for the ground with the reason."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import pytest

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import VirtualClock
from flight.app import FlightApp
from flight.mission import extract
from flight.mission_config import SiteConfig
from isru.config import load_config
from sim_hw.registry import install_world, uninstall_world
from sim_hw.terrain import Layer, Site
from sim_hw.world import SimWorld

pytestmark = pytest.mark.timeout(600)

ICE = 0.06
#: Loose regolith, dry above the 0.04 m ice table and icy below it (loose: no hammer, quick bites).
ICY = (
    Layer(0.0, 0.04, 1500.0, 2.5, 0.0, 60.0),
    Layer(0.04, 3.0, 1750.0 / (1.0 - ICE), 8.0, ICE, 60.0),
)
DRY = (Layer(0.0, 3.0, 1600.0, 5.0, 0.0, 100.0),)
#: Dry loose soil down to 0.068 m over the icy ground (a boulder site's cover): the probe, 0.1 m deep,
#: reads mostly ice over the depths it is judged on (0.05-0.1 m), while a 0.07 m bite would read mostly
#: the dry cover there, its bottom too.
COVER_M = 0.068
COVERED = (
    Layer(0.0, COVER_M, 1500.0, 2.5, 0.0, 60.0),
    Layer(COVER_M, 3.0, 1750.0 / (1.0 - ICE), 8.0, ICE, 60.0),
)


def _run(shift_m: float, icy: tuple[Layer, ...] = ICY, bite_m: float = 0.15) -> Iterator[tuple[FlightApp, SimWorld]]:
    clock = VirtualClock()
    world = SimWorld(clock, seed=5, site=0)
    world.sites = [Site(0, 0.0, 0.0, 0.0, 0.0, icy, kind="icy"), Site(1, 8.0, 0.0, 0.0, 0.0, DRY, kind="dry")]
    world.rover.x_m = world.rover.y_m = world.rover.heading_rad = 0.0
    install_world(world)
    config = load_config()
    mission = dataclasses.replace(
        config.mission,
        sites=[SiteConfig(0.0, 0.0), SiteConfig(8.0, 0.0)],
        cycles=1,
        probe_depth_m=0.1,
        bite_m=bite_m,
        drill_depth_m=0.3,
        hopper_target_kg=0.5,
        heat_min_s=60.0,
        heat_max_s=900.0,
        vent_s=10.0,
    )
    app = FlightApp(dataclasses.replace(config, mission=mission), clock)
    assert app.start() == []
    status = app.dispatcher.submit("mission.start", {"cycles": 1}, command_id="start-dry", source="test")
    assert status.stage.value != "failed", status
    limit = clock.monotonic() + 4 * 3600
    app.executive.run(until=lambda: app.mission.state == "prospect_travel" or clock.monotonic() > limit)
    assert app.mission.state == "prospect_travel" and app.mission.progress.site == 0
    # the icy ground is now shift_m east of where the rover probed it
    world.sites[0] = dataclasses.replace(world.sites[0], x_m=shift_m)
    app.executive.run(until=lambda: app.mission.state in ("idle", "safe", "hold") or clock.monotonic() > limit)
    try:
        yield app, world
    finally:
        app.close()
        uninstall_world()


@pytest.fixture
def beside() -> Iterator[tuple[FlightApp, SimWorld]]:
    """The icy ground 3.6 m east: the grid's first hole (the probed position) is off it, the second
    (two hole spacings, 2.4 m, east: the search's first point) is on it."""
    yield from _run(3.6)


#: The search's length in the test (the mission's is 25 holes, about 100 s of wall time here).
SEARCH_MAX = 6


@pytest.fixture
def gone(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FlightApp, SimWorld]]:
    """The icy ground 40 m away: every hole of the search is dry."""
    monkeypatch.setattr(extract, "DRY_SEARCH_MAX", SEARCH_MAX)
    yield from _run(40.0)


@pytest.fixture
def covered() -> Iterator[tuple[FlightApp, SimWorld]]:
    """The probed ground under a dry cover, and bites shallower than the probe."""
    yield from _run(0.0, COVERED, bite_m=0.07)


def _events(app: FlightApp, name: str) -> list[str]:
    return [e.message for e in app.events.recent if e.source == "mission" and e.name == name]


def test_a_dry_hole_is_left_and_the_next_hole_on_the_ice_fills_the_batch(beside) -> None:
    app, world = beside
    progress = app.mission.progress
    assert app.mission.state == "idle", [e.message for e in app.events.recent if e.severity >= 3]
    dry = _events(app, "dry_hole")
    assert len(dry) == 1 and "dry hole 1 at site 0" in dry[0] and "tipped out" in dry[0], dry
    assert "probe's 0.0" in dry[0]
    # the search's first point, two hole spacings east of the probed position, is on the icy ground;
    # the search is over and no hole was worked out
    assert progress.dry_holes == 0 and progress.hole_offset == 0
    assert world.site is not None and world.site.index == 0
    assert math.hypot(world.rover.x_m - 2.4, world.rover.y_m) < 0.6
    # it is the icy hole the next holes are drilled beside (pose-estimate frame)
    assert len(progress.wet_hole) == 2 and math.hypot(progress.wet_hole[0] - 2.4, progress.wet_hole[1]) < 0.6
    # the dry cuttings went out before the batch was heated: the batch booked is the second hole's
    # icy cuttings alone, and gave water
    assert 0.45 <= progress.regolith_kg < 1.0
    assert progress.water_kg > 0.2 * ICE * progress.regolith_kg
    record = app.mission.campaign.cycles[0]
    assert record["recoveries"].get("dry_hole") == 1


def test_a_search_that_finds_no_ice_holds_for_the_ground_with_the_reason(gone) -> None:
    app, _world = gone
    progress = app.mission.progress
    assert app.mission.state == "hold", [e.message for e in app.events.recent if e.severity >= 3]
    assert len(_events(app, "dry_hole")) == SEARCH_MAX
    reason = _events(app, "transition")[-1]
    assert reason.startswith("extract_drill → hold") and progress.held == "extract_drill"
    assert f"{SEARCH_MAX} dry holes in a row around the ice of site 0" in reason
    assert "lost the icy ground or the volatiles sensor is suspect" in reason
    # every dry hole's cuttings were tipped out: nothing was heated, no cycle was booked
    assert progress.regolith_kg == 0.0 and app.ledger == []


def test_a_dry_cover_over_the_ice_is_not_a_dry_hole(covered) -> None:
    """A fresh hole's first bite goes down to the probed depth, and the verdict is on its bottom, where the
    probe read ice: the hole is drilled on and fills the batch (judged after a 0.07 m bite, on all the
    probed depths or on its bottom, it was called dry, and every hole of the search after it)."""
    app, world = covered
    progress = app.mission.progress
    assert app.mission.state == "idle", [e.message for e in app.events.recent if e.severity >= 3]
    assert _events(app, "dry_hole") == []
    assert world.site is not None and world.site.index == 0
    assert len(progress.wet_hole) == 2 and math.hypot(*progress.wet_hole) < 0.6
    assert progress.regolith_kg >= 0.45
    assert progress.water_kg > 0.2 * ICE * progress.regolith_kg
