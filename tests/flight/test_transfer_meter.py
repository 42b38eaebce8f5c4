"""The water a transfer books: the tank's rise, cross-checked against the cold trap's fall, so that a stuck
tank gauge never books a cycle's water as nothing, and any disagreement is reported."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import pytest

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import VirtualClock
from flight.app import FlightApp
from flight.events import EventLog
from flight.mission.process import metered_water
from flight.mission_config import SiteConfig
from isru.config import load_config
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld


def _metered(tank_rise_kg: float, trap_fall_kg: float) -> tuple[float, list[tuple[str, str]]]:
    events = EventLog(VirtualClock())
    ctx: Any = SimpleNamespace(events=events)
    return metered_water(ctx, tank_rise_kg, trap_fall_kg), [(e.name, e.message) for e in events.recent]


def test_agreeing_meters_book_the_tank_quietly() -> None:
    assert _metered(0.110, 0.111) == (0.110, [])
    assert _metered(0.0, 0.0) == (0.0, [])  # nothing to transfer, nothing to say


def test_a_stuck_tank_gauge_books_the_trap_and_says_so() -> None:
    booked, said = _metered(0.0, 0.110)
    assert booked == 0.110
    assert said == [
        (
            "transfer_meter_suspect",
            "the tank reading did not move while the cold trap gave 0.110 kg: booked the trap's figure "
            "(check extractor.tank_kg)",
        )
    ]


@pytest.mark.parametrize(("tank", "trap"), [(0.110, 0.050), (0.050, 0.110), (0.110, 0.0)])
def test_meters_that_disagree_book_the_tank_and_report_both(tank: float, trap: float) -> None:
    booked, said = _metered(tank, trap)
    assert booked == tank
    assert [name for name, _ in said] == ["transfer_mismatch"]
    assert f"the tank rose {tank:.3f} kg but the cold trap gave {trap:.3f} kg" in said[0][1]


@pytest.mark.timeout(600)
def test_a_transfer_cut_off_by_the_line_and_retried_books_the_whole_batch_once() -> None:
    """The extractor's line drops for 10 s while the water moves to the tank: the transfer fails, its retry moves
    the rest, and the booking is the batch's whole water, from the tank and trap readings the dump noted. Before,
    the retry measured from where it was cut off and the water moved before the drop went unbooked (Moon seed 2:
    0.186 kg booked of 0.278 kg)."""
    config = load_config()
    clock = VirtualClock()
    world = install_world(SimWorld(clock, seed=7, site=1))  # icy ground (site 0 is a dry, sunlit one)
    icy = world.sites[1]
    mission = dataclasses.replace(
        config.mission,
        prospect=False,
        cycles=1,
        sites=[SiteConfig(icy.x_m, icy.y_m)],
        drill_depth_m=0.3,
        bite_m=0.15,
        hopper_target_kg=0.5,
        heat_max_s=1800.0,
        vent_s=5.0,
    )
    app = FlightApp(dataclasses.replace(config, mission=mission), clock)
    try:
        assert app.start() == []
        assert app.dispatcher.submit("mission.start", {"cycles": 1}, source="test").stage.value == "completed"
        extractor = world.device("extractor")
        limit = clock.monotonic() + 4 * 3600.0
        app.executive.run(
            until=lambda: (
                (app.mission.state == "process_transfer" and extractor.motion == "transfer_water")
                or clock.monotonic() > limit
            )
        )
        assert extractor.motion == "transfer_water", app.mission.state
        progress = app.mission.progress
        batch = app.table.snapshot()["extractor.water_kg"]  # in the cold trap as the transfer starts
        assert batch > 0.0
        app.executive.run(duration_s=1.0)  # part of the water moves
        world.inject("extractor", "disconnect")
        world.schedule(world.t + 10.0, "extractor", "reconnect")
        app.executive.run(until=lambda: app.mission.state in ("idle", "hold", "safe") or clock.monotonic() > limit)
        assert app.mission.state == "idle"
        assert any(e.name == "step_retried" for e in app.events.recent)
        (record,) = app.mission.campaign.cycles
        assert record["water_kg"] == pytest.approx(batch, rel=0.05)
        assert progress.batch_tank_kg == progress.batch_trap_kg == -1.0  # booked once: the next batch notes its own
    finally:
        app.close()
        uninstall_world()
