"""A cold-trap water reading that freezes mid-yield is not taken for a batch gone dry.

The heat stops when the water yield rate, measured over 5-minute windows, falls below ``yield_stop_kg_h``. A
reading stuck at one value gives a rate of exactly zero: without a check the heat would stop with most of the
water still in the regolith and book a fraction of it, silently. The real flight segment over emulators
behind ``sim://`` on a virtual clock heats an icy batch; the extractor's ``water_kg`` reading is frozen once
the batch yields, and the heat must run on to its time limit with ``yield_reading_suspect`` reported. The
same heat with a working reading stops on the yield, with no such report.
"""

from __future__ import annotations

import pytest

from base.clock import VirtualClock
from flight.dispatcher import Stage
from flight.events import Event
from flight.mission_config import SiteConfig
from sim_hw.registry import uninstall_world
from tests.flight.test_recovery_paths import CYCLE_S, flight, icy_world, run_until, submit, transitions

pytestmark = pytest.mark.timeout(600)

#: The heat's time limit here, s: long enough that a yield-based stop comes well before it.
HEAT_MAX_S = 4 * 3600.0


def _heat(stuck: bool) -> tuple[list[str], list[Event], float]:
    """One cycle on the icy site; with ``stuck``, the water reading freezes once the batch has yielded for a
    window. Returns the mission's transitions, its events, and the water booked (kg)."""
    clock = VirtualClock()
    world = icy_world(clock, x_m=8.0)
    app = flight(clock, prospect=False, sites=[SiteConfig(8.0, 0.0)], heat_max_s=HEAT_MAX_S, heat_min_s=0.0)
    events: list[Event] = []
    app.events.subscribe(events.append)
    try:
        assert submit(app, "mission.start", {"cycles": 1}).stage == Stage.COMPLETED
        run_until(app, clock, lambda: app.mission.state == "process_heat", CYCLE_S)
        assert app.mission.state == "process_heat", transitions(app)[-3:]
        # a window (300 s) into the yield: the rate is well above the stop
        run_until(app, clock, lambda: float(app.table.get("extractor.water_kg", 0.0)) > 0.002, HEAT_MAX_S)
        run_until(app, clock, lambda: False, 400.0)
        if stuck:
            world.schedule(world.t, "extractor", "stuck", field="water_kg")
        run_until(app, clock, lambda: app.mission.state in ("idle", "hold", "safe"), CYCLE_S)
        booked = app.ledger[-1]["water_kg"] if app.ledger else 0.0
        return transitions(app), events, booked
    finally:
        app.close()
        uninstall_world()


def test_a_stuck_water_reading_is_reported_and_the_heat_runs_on_to_its_limit() -> None:
    moves, events, booked = _heat(stuck=True)
    suspect = [e.message for e in events if e.source == "mission" and e.name == "yield_reading_suspect"]
    assert len(suspect) == 1, suspect
    assert "cold trap reading stuck at" in suspect[0] and "heating on for heat_max_s" in suspect[0], suspect
    heat_end = [m for m in moves if m.startswith("process_heat → ")]
    assert heat_end == [f"process_heat → process_vent: heating time limit {HEAT_MAX_S:g} s reached"], heat_end
    assert moves[-1].endswith("→ idle: stowed") or "idle" in moves[-1], moves[-3:]
    assert booked > 0.0


def test_a_working_reading_stops_the_heat_on_the_yield_without_a_report() -> None:
    moves, events, booked = _heat(stuck=False)
    assert not [e for e in events if e.name == "yield_reading_suspect"]
    heat_end = [m for m in moves if m.startswith("process_heat → ")]
    assert len(heat_end) == 1 and "yield rate" in heat_end[0], heat_end
    assert booked > 0.0
