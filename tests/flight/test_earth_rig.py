"""The Earth test rig: the same flight code runs the full cycle on a bench in air.

The profile (configs/earth-rig.toml) sets fault-protection limits of a rig in air ([flight.fdir_thresholds])
and pumps the sealed chamber down before heating (mission.pump_down_Pa); the simulated rig's vent line
leads to a vacuum pump (sim_hw.bodies, Earth). Over the real flight stack and sim:// byte path on a virtual
clock.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import VirtualClock
from base.config_loader import ConfigError
from flight.app import FlightApp
from flight.config_fdir import load_fdir, with_thresholds
from isru.config import load_config
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld

EARTH_RIG = Path(__file__).resolve().parents[2] / "configs" / "earth-rig.toml"
RIG = Path(__file__).resolve().parents[2] / "configs" / "rig.toml"


def test_a_configuration_overrides_watchpoint_thresholds_by_name() -> None:
    table = load_fdir()
    changed = with_thresholds(table, {"chamber_overpressure": 161325.0}, "test")
    assert changed.watchpoints["chamber_overpressure"].threshold == 161325.0
    assert (
        changed.watchpoints["chamber_overpressure"].persistence == table.watchpoints["chamber_overpressure"].persistence
    )
    assert table.watchpoints["chamber_overpressure"].threshold == 60000.0  # the table itself is unchanged


@pytest.mark.parametrize(
    ("thresholds", "expected"),
    [({"chamber_overpresure": 1.0}, "chamber_overpresure"), ({"chamber_overpressure": float("nan")}, "finite")],
)
def test_a_bad_threshold_override_is_refused_naming_it(thresholds: dict[str, float], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as caught:
        with_thresholds(load_fdir(), thresholds, "rig.toml")
    assert "flight.fdir_thresholds." in str(caught.value)


def test_the_rig_profiles_load_with_limits_of_a_rig_in_air() -> None:
    for path in (EARTH_RIG, RIG):
        config = load_config(path)
        assert config.flight.fdir_thresholds["chamber_overpressure"] > 101_325.0, path
        assert config.mission.pump_down_Pa > 0.0, path
    assert load_config(EARTH_RIG).sim.body == "earth"


def _earth_app(seed: int, **mission: float | bool) -> tuple[FlightApp, SimWorld, VirtualClock]:
    config = load_config(EARTH_RIG)
    config = dataclasses.replace(
        config,
        mission=dataclasses.replace(config.mission, **mission),  # type: ignore[arg-type]
        sim=dataclasses.replace(config.sim, seed=seed),
    )
    clock = VirtualClock()
    world = install_world(SimWorld(clock, body="earth", seed=seed, site=0))
    app = FlightApp(config, clock)
    assert app.start() == []
    return app, world, clock


@pytest.mark.timeout(300)
def test_a_short_cycle_in_air_pumps_down_and_extracts_water() -> None:
    # seed 3: the rig stands over a frozen 5 % bin (site 0), so no prospecting is needed
    app, world, clock = _earth_app(
        3, prospect=False, heat_min_s=120.0, heat_max_s=600.0, hopper_target_kg=1.0, vent_s=10.0
    )
    try:
        assert world.site is not None and world.site.kind.startswith("bin_frozen")
        # the chamber sits at the room's pressure with its lid open: no fault protection response
        assert app.table.get("extractor.pressure_Pa") == pytest.approx(101_325.0, rel=0.01)
        status = app.dispatcher.submit("mission.start", {"cycles": 1}, source="test")
        assert status.stage.value != "failed", status
        limit = clock.monotonic() + 3 * 3600
        app.executive.run(until=lambda: app.mission.state in ("idle", "safe") or clock.monotonic() > limit)
        problems = [e.message for e in app.events.recent if e.severity >= 3]
        assert app.mission.state == "idle", problems
        assert "safe" not in app.mission.progress.visited
        sealed = [e.message for e in app.events.recent if e.name == "transition" and "process_seal →" in e.message]
        assert sealed and "pumped down to" in sealed[0], sealed
        assert app.mission.progress.water_kg > 0.005
        assert app.fdir.actionpoints["chamber_overpressure_safe"].fires == 0
    finally:
        app.close()
        uninstall_world()


@pytest.mark.timeout(300)
def test_a_dead_pressure_gauge_stops_the_pump_down_instead_of_heating_sealed_air() -> None:
    app, world, clock = _earth_app(
        3, prospect=False, heat_min_s=120.0, heat_max_s=600.0, hopper_target_kg=1.0, vent_s=10.0
    )
    try:
        status = app.dispatcher.submit("mission.start", {"cycles": 1}, source="test")
        assert status.stage.value != "failed", status
        limit = clock.monotonic() + 3 * 3600
        app.executive.run(until=lambda: app.mission.state == "process_seal" or clock.monotonic() > limit)
        world.inject("extractor", "dropout", field="pressure_Pa")  # the gauge reads 0 from now on
        app.executive.run(until=lambda: app.mission.state in ("idle", "safe", "hold") or clock.monotonic() > limit)
        assert app.mission.state == "hold", app.mission.state
        held = [e.message for e in app.events.recent if e.name == "transition" and "→ hold" in e.message]
        assert held and "the chamber pressure reads 0.0 Pa before pumping" in held[-1], held
        assert "process_heat" not in app.mission.progress.visited  # sealed air was never heated
        assert world.device("extractor").heater_W == 0.0  # type: ignore[attr-defined]
    finally:
        app.close()
        uninstall_world()
