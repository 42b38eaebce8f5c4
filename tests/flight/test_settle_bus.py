"""The retry's settling switches a bus on again only after a fuse trip, never over an operator's switch; and
``mission.held`` names what a hold interrupted only while the mission holds.

A drill bus off under the turning auger fails the step either way. When the power unit reports the trip
(``overcurrent`` latched: its electronic fuse) the retry switches the bus on and drilling goes on
(tests/flight/test_fault_each_state.py, ``extract-drill-bus-fuse``). When an operator switched the bus off,
the power unit reports no fault: the retry must leave the bus off and the mission hold naming it.
"""

from __future__ import annotations

import pytest

from flight.dispatcher import Stage
from hal.icd import POWER_BUSES
from sim_hw.registry import uninstall_world
from tests.flight.test_fault_each_state import Case, build

pytestmark = pytest.mark.timeout(600)


def test_a_bus_the_operator_switched_off_stays_off_and_the_mission_holds_naming_it() -> None:
    app, world, clock = build(Case("extract_drill", [], "hold", ()))
    try:
        assert app.dispatcher.submit("mission.start", {"cycles": 1}, source="test").stage == Stage.COMPLETED
        reach = clock.monotonic() + 600.0
        app.executive.run(
            until=lambda: (
                (app.mission.state == "extract_drill" and world.device("drill").is_actuating())
                or clock.monotonic() > reach
            )
        )
        assert app.mission.state == "extract_drill"
        off = app.dispatcher.submit("power.bus", {"index": POWER_BUSES.index("drill"), "on": 0}, source="test")
        assert off.stage == Stage.COMPLETED, off
        settle = clock.monotonic() + 300.0
        app.executive.run(until=lambda: app.mission.state != "extract_drill" or clock.monotonic() > settle)
        assert app.mission.state == "hold", app.mission.state
        moves = [e.message for e in app.events.recent if e.source == "mission" and e.name == "transition"]
        assert "drill: bus off after 90 s: hold for the ground" in moves[-1], moves[-1]
        assert not [e for e in app.events.recent if e.name == "bus_restore"]
        assert not world.rover.bus_on["drill"]
    finally:
        app.close()
        uninstall_world()


def test_mission_held_names_the_interrupted_step_only_while_the_mission_holds() -> None:
    app, _world, _clock = build(Case("anchor_deploy", [], "", ()))
    try:
        assert app.dispatcher.submit("mission.start", {"cycles": 1}, source="test").stage == Stage.COMPLETED
        app.executive.run(duration_s=1.0)
        leaf = app.mission.state
        assert app.dispatcher.submit("mission.hold", {}, source="test").stage == Stage.COMPLETED
        app.executive.run(duration_s=1.0)
        assert app.mission.state == "hold" and app.mission.telemetry()["mission.held"] == leaf
        assert app.dispatcher.submit("mission.resume", {}, source="test").stage == Stage.COMPLETED
        app.executive.run(duration_s=1.0)
        assert app.mission.state != "hold"
        assert app.mission.telemetry()["mission.held"] == ""
        assert app.mission.snapshot()["progress"]["held"] == ""
    finally:
        app.close()
        uninstall_world()
