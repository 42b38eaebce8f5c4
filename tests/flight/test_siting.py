"""Energy-aware siting: sites rank by water per battery kWh counting the solar energy collected there, and a
parked rover drives to the sunniest probed site to charge, then back to its hole (``flight.mission.siting``,
``flight.mission.recharge``)."""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator

import pytest

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import VirtualClock
from flight.app import FlightApp
from flight.dispatcher import Stage
from flight.mission.siting import charging_site, kg_per_kWh
from flight.mission_config import SiteConfig
from isru.config import load_config
from sim_hw.devices.power import PowerFirmware
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld

CYCLE = {"batch_kg": 3.0, "work_s": 7200.0, "standby_W": 60.0}


def test_a_sunlit_site_pays_for_part_of_its_cycle() -> None:
    # 3 kg at 300 kJ/kg: 250 Wh, plus 120 Wh of standby over two hours
    dark = kg_per_kWh(0.05, 300e3, 0.0, **CYCLE)
    assert dark == pytest.approx(0.05 * 3.0 / 370.0 * 1000.0)
    lit = kg_per_kWh(0.05, 300e3, 100.0, **CYCLE)  # 200 Wh collected while working
    assert lit == pytest.approx(0.05 * 3.0 / 170.0 * 1000.0)
    # a site whose array carries the whole cycle stays finite: the battery still cycles
    assert kg_per_kWh(0.05, 300e3, 1000.0, **CYCLE) == pytest.approx(dark * 10.0)
    # water matters as much as light: a dry sunlit ridge is worth nothing, an unworkable probe nothing
    assert kg_per_kWh(0.0, 300e3, 300.0, **CYCLE) == 0.0
    assert kg_per_kWh(0.05, math.inf, 300.0, **CYCLE) == 0.0


def test_the_charging_site_is_the_sunniest_probed_one_when_it_is_far_better() -> None:
    probes = {0: {"solar_W": 34.0}, 1: {"solar_W": 48.0}, 2: {"solar_W": 296.0}, 3: {"solar_W": 0.0}}
    assert charging_site(probes, 48.0) == 2
    assert charging_site(probes, 200.0) is None  # not twice the input here
    assert charging_site({0: {"solar_W": 40.0}}, 0.0) is None  # not 50 W more
    assert charging_site({}, 0.0) is None


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_a_parked_rover_charges_where_the_sun_is_and_returns_to_its_hole() -> None:
    """Seed 7 on the Moon: the rover drills at site 1 (15 % sunlight, 48 W); site 2, 20 m away, is a sunlit
    ridge (296 W). A drain while drilling parks it: it withdraws drill and anchors, drives to site 2, charges,
    drives back beside its hole (the bore cannot be re-entered), anchors again and drills a fresh hole from
    the surface, the drill's reading and the mission's depth agreeing."""
    config = load_config()
    clock = VirtualClock()
    world = install_world(SimWorld(clock, seed=7, site=1))
    sites = [SiteConfig(site.x_m, site.y_m) for site in world.sites]
    mission = dataclasses.replace(
        config.mission,
        prospect=False,
        cycles=1,
        sites=sites,
        drill_depth_m=0.3,
        bite_m=0.15,
        hopper_target_kg=0.5,
        heat_min_s=60.0,
        heat_max_s=300.0,
        vent_s=5.0,
        resume_soc=0.3,  # a short charge, so the test runs in little wall time
    )
    app = FlightApp(dataclasses.replace(config, mission=mission), clock)
    power: PowerFirmware = world.device("power")  # type: ignore[assignment]
    try:
        assert app.start() == []
        progress = app.mission.progress
        progress.site = 1
        progress.probes = {1: {"solar_W": 48.0, "cemented": 1.0}, 2: {"solar_W": 296.0}}
        status = app.dispatcher.submit("mission.start", {"cycles": 1}, source="test")
        assert status.stage == Stage.COMPLETED, status
        limit = clock.monotonic() + 3600
        drill = world.device("drill")
        app.executive.run(
            until=lambda: (
                (app.mission.state == "extract_drill" and drill.mechanics.depth_m > 0.05)  # type: ignore[attr-defined]
                or clock.monotonic() > limit
            )
        )
        power.inject_low_battery(0.23)  # an unplanned drain: just above the reserve over the shedding floor
        app.executive.run(until=lambda: app.mission.state == "recharge" or clock.monotonic() > limit)
        app.executive.run(until=lambda: app.mission.state != "recharge" or clock.monotonic() > limit + 4 * 3600)
        moves = [e.message for e in app.events.recent if e.source == "mission" and e.name == "transition"]
        assert app.mission.state == "prospect_travel", moves[-4:]
        assert any(e.name == "charge_away" for e in app.events.recent)
        assert world.rover.x_m == pytest.approx(world.sites[2].x_m, abs=1.0)  # it charged on the ridge
        app.executive.run(until=lambda: app.mission.state == "extract_drill" or clock.monotonic() > limit + 5 * 3600)
        assert app.mission.state == "extract_drill"
        # back at its site: a fresh hole beside the one it left (the probe here measured no water, so the
        # hole grid's second hole, hole_spacing_m from the probed position)
        assert world.site is not None and world.site.index == 1
        beside = math.hypot(world.rover.x_m - world.sites[1].x_m, world.rover.y_m - world.sites[1].y_m)
        assert beside == pytest.approx(app.mission.config.hole_spacing_m, abs=0.5)
        assert not progress.away
        assert progress.hole_m == 0.0 and progress.hole_offset == 1  # a fresh hole beside the one it left
        assert any(e.name == "hole_left" for e in app.events.recent)
        app.executive.run(until=lambda: progress.hole_m > 0.0 or clock.monotonic() > limit + 6 * 3600)
        assert progress.hole_m == pytest.approx(drill.mechanics.depth_m, abs=0.01)  # type: ignore[attr-defined]
        assert progress.hole_m <= mission.bite_m + 0.01  # one bite from the surface, not the old depth plus one
        app.executive.run(until=lambda: app.mission.state in ("idle", "safe") or clock.monotonic() > limit + 8 * 3600)
        assert app.mission.state == "idle", [e.message for e in app.events.recent if e.severity >= 3]
        (record,) = app.mission.campaign.cycles
        assert record["recoveries"].get("charge_away", 0) >= 1 and record["water_kg"] > 0.0
    finally:
        app.close()
        uninstall_world()


@contextlib.contextmanager
def _parked_while_drilling_at_site_1(probes: dict[int, dict[str, float]]) -> Iterator[tuple[FlightApp, SimWorld]]:
    """Seed 7 on the Moon, the rover drilling at site 1 with ``probes`` as what prospecting found, then drained
    to just above the reserve: it parks (``recharge``)."""
    config = load_config()
    clock = VirtualClock()
    world = install_world(SimWorld(clock, seed=7, site=1))
    sites = [SiteConfig(site.x_m, site.y_m) for site in world.sites]
    mission = dataclasses.replace(
        config.mission, prospect=False, cycles=1, sites=sites, drill_depth_m=0.3, bite_m=0.15, hopper_target_kg=0.5
    )
    app = FlightApp(dataclasses.replace(config, mission=mission), clock)
    power: PowerFirmware = world.device("power")  # type: ignore[assignment]
    try:
        assert app.start() == []
        app.mission.progress.site = 1
        app.mission.progress.probes = probes
        assert app.dispatcher.submit("mission.start", {"cycles": 1}, source="test").stage == Stage.COMPLETED
        limit = clock.monotonic() + 3600
        drill = world.device("drill")
        app.executive.run(
            until=lambda: (
                (app.mission.state == "extract_drill" and drill.mechanics.depth_m > 0.05)  # type: ignore[attr-defined]
                or clock.monotonic() > limit
            )
        )
        power.inject_low_battery(0.23)
        app.executive.run(until=lambda: app.mission.state == "recharge" or clock.monotonic() > limit)
        assert app.mission.state == "recharge"
        yield app, world
    finally:
        app.close()
        uninstall_world()


@pytest.mark.timeout(600)
def test_a_parked_rover_at_the_sunniest_site_charges_where_it_stands() -> None:
    """The sunniest probed site is the one the rover drills at, but its array gives little now (here: the probe's
    figure was taken in better light; on the asteroid, it is night). Parked by a drain, the rover charges where
    it stands, anchored, its hole kept. Before, it withdrew the anchors to "drive" to the site it stood on
    (asteroid seed 1: "array 0 W here, 231 W at site 2: driving there", at site 2), and then drilled a fresh
    hole at the same place."""
    with _parked_while_drilling_at_site_1({1: {"solar_W": 296.0, "cemented": 1.0}, 2: {"solar_W": 100.0}}) as parked:
        app, _world = parked
        app.executive.run(duration_s=120.0)
        assert app.mission.state == "recharge"
        assert not any(e.name == "charge_away" for e in app.events.recent)
        assert not app.mission.progress.away  # its hole is not left: no fresh hole after the charge
        assert app.mission.io.anchored  # still holding: the drill goes on in its hole after the charge


@pytest.mark.timeout(600)
def test_wheels_jammed_on_the_drive_to_the_sun_are_waited_for_and_the_rover_drives_on() -> None:
    """Both wheel sides jam for 20 s on the drive to the sunlit ridge: fault protection fails the step on the
    wheels' current, and the retry waits for the drive (among what a recharge needs) to settle, and at least
    ``SYMPTOM_PAUSE_S``: a jam the drive did not latch shows only while the wheels are driven. Before, the retry
    came at once: refused by the drive's ``wheel_stall`` latched a moment after fault protection saw the current
    (Moon seed 2, a 60 s jam at 18,000 s), or driven into the same jam: HOLD, the cycle lost."""
    with _parked_while_drilling_at_site_1({1: {"solar_W": 48.0, "cemented": 1.0}, 2: {"solar_W": 296.0}}) as parked:
        app, world = parked
        clock = app.clock
        drive = world.device("drive")
        limit = clock.monotonic() + 900
        app.executive.run(until=lambda: drive.motion == "move" or clock.monotonic() > limit)
        assert app.mission.state == "recharge" and drive.motion == "move", app.mission.state
        world.inject("drive", "wheel_stall", side="both", duration_s=20.0)
        app.executive.run(
            until=lambda: (
                app.mission.state != "recharge"
                or abs(world.rover.x_m - world.sites[2].x_m) < 1.0
                or clock.monotonic() > limit
            )
        )
        names = [e.name for e in app.events.recent if e.source in ("mission", "fdir")]
        assert app.mission.state == "recharge", [e.message for e in app.events.recent if e.severity >= 3][-3:]
        assert "retry_pause" in names and "actionpoint_fired" in names
        assert world.rover.x_m == pytest.approx(world.sites[2].x_m, abs=1.0)  # it reached the ridge
