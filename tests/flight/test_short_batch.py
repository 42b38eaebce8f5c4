"""A hole that ends early with a short batch in the hopper is topped up from another hole before heating.

The real flight segment over emulators behind ``sim://`` on a virtual clock, with the short mission of
``test_fault_each_state`` asking for a 3 kg batch. Once the first bite's cuttings are in the hopper the
drill stalls for good in this hole (the stall arrives between bites, while the auger spins); the stall
ladder ends the hole; the mission then drills another hole (the stall is gone by then) instead of heating
a few grams, and heats the fuller batch.
"""

from __future__ import annotations

from flight.dispatcher import Stage
from flight.events import Event
from flight.mission.extract import SHORT_BATCH_SHARE
from sim_hw.registry import uninstall_world
from tests.flight.test_fault_each_state import CASES, build

LIMIT_S = 3600.0


def test_a_short_batch_is_topped_up_from_another_hole_before_heating() -> None:
    app, world, clock = build(CASES["extract-drill-stall"], hopper_target_kg=3.0, drill_depth_m=1.0)
    events: list[Event] = []
    app.events.subscribe(events.append)
    target = app.config.mission.hopper_target_kg
    try:
        status = app.dispatcher.submit("mission.start", {"cycles": 1}, source="test")
        assert status.stage == Stage.COMPLETED, status
        limit = clock.monotonic() + LIMIT_S
        extractor = world.device("extractor")
        app.executive.run(until=lambda: extractor.chamber.loaded_kg > 0.0 or clock.monotonic() > limit)
        first = extractor.chamber.loaded_kg
        assert 0.0 < first < SHORT_BATCH_SHARE * target, first
        world.inject("drill", "stall")  # the ground turns too hard for the auger from here on, in this hole
        app.executive.run(until=lambda: app.mission.state == "prospect_travel" or clock.monotonic() > limit)
        short = [e for e in events if e.name == "batch_short"]
        assert app.mission.state == "prospect_travel" and len(short) == 1, [e.message for e in events][-8:]
        assert "another hole fills it before heating" in short[0].message
        world.inject("drill", "stall", active=False)
        app.executive.run(until=lambda: app.mission.state == "process_seal" or clock.monotonic() > limit)
        assert app.mission.state == "process_seal"
        assert extractor.chamber.loaded_kg >= SHORT_BATCH_SHARE * target > first
        assert app.mission.progress.hole_offset == 1
    finally:
        app.close()
        uninstall_world()
