"""Recovery instead of a stall: heating that stops is detected within minutes and held for the ground with the
reason; ``mission.resume`` and ``mission.recover`` are refused, naming the device, while a fault is latched.

The real flight segment over emulators behind ``sim://`` on a virtual clock, faults injected into the
simulated hardware.
"""

from __future__ import annotations

from typing import Any

import pytest

from flight.dispatcher import Stage
from sim_hw.registry import uninstall_world
from tests.flight.test_energy_planning import build

pytestmark = pytest.mark.timeout(300)

#: The floor: a fault ends recovered, or in HOLD/SAFE with a reason, within this much simulated time.
DECIDED_S = 600.0


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("heater_failure", {}),  # an open heater circuit: no power, no yield
        ("nan", {"field": "chamber_temp_K"}),  # a failed sensor
        ("dropout", {"field": "heater_power_W", "duration_s": 1e6}),  # a heater reading 0 W while the batch dries
    ],
)
def test_heating_that_stops_is_held_with_the_reason_within_minutes(kind: str, params: dict[str, Any]) -> None:
    app, world, clock = build(heat_min_s=3600.0, heat_max_s=6 * 3600.0)
    try:
        status = app.dispatcher.submit("mission.start", {"cycles": 1}, source="test")
        assert status.stage == Stage.COMPLETED, status
        limit = clock.monotonic() + 3600
        app.executive.run(until=lambda: app.mission.state == "process_heat" or clock.monotonic() > limit)
        assert app.mission.state == "process_heat"
        app.executive.run(duration_s=120.0)  # heating under way
        world.inject("extractor", kind, **params)
        injected = clock.monotonic()
        app.executive.run(
            until=lambda: app.mission.state != "process_heat" or clock.monotonic() > injected + DECIDED_S + 60
        )
        assert app.mission.state == "hold", app.mission.state
        assert clock.monotonic() - injected <= DECIDED_S
        last = [e.message for e in app.events.recent if e.name == "transition"][-1]
        assert last.startswith("process_heat → hold: heating stalled"), last
        assert world.device("extractor").heater_W == 0.0 or kind == "dropout"  # type: ignore[attr-defined]
    finally:
        app.close()
        uninstall_world()


def test_resume_and_recover_are_refused_while_a_needed_device_has_a_latched_fault() -> None:
    app, world, clock = build()
    try:
        app.dispatcher.submit("mission.start", {"cycles": 1}, source="test")
        limit = clock.monotonic() + 3600
        app.executive.run(until=lambda: app.mission.state == "process_heat" or clock.monotonic() > limit)
        world.inject("extractor", "heater_failure")
        app.executive.run(until=lambda: app.mission.state == "hold" or clock.monotonic() > limit + DECIDED_S)
        assert app.mission.state == "hold"
        resumed = app.dispatcher.submit("mission.resume", {}, source="test")
        assert resumed.stage == Stage.FAILED
        assert "extractor: fault heater_failure latched" in resumed.message, resumed
        # the circuit stays open: clearing does not clear it, and SAFE cannot be left while it is latched
        app.dispatcher.submit("extractor.clear_fault", {}, source="test")
        app.dispatcher.submit("mission.abort", {}, source="test")
        app.executive.run(until=lambda: app.mission.state == "safe" or clock.monotonic() > limit + 2 * DECIDED_S)
        assert app.mission.state == "safe"
        recovered = app.dispatcher.submit("mission.recover", {}, source="test")
        assert recovered.stage == Stage.FAILED
        assert "faults are latched" in recovered.message and "extractor" in recovered.message, recovered
    finally:
        app.close()
        uninstall_world()


def test_after_a_restart_latched_faults_are_cleared_and_a_failed_device_refuses_the_resume() -> None:
    """A restart after flight died mid-drilling: the drill's dead-man fault (latched while flight was down)
    is cleared and the drill passes its self-test; with the auger jammed in the hole, its stall cannot be
    cleared, the drill fails its self-test, and the mission holds (even with ``restart_policy = resume``)
    naming the drill, and ``mission.resume`` is refused the same way."""
    from base.clock import VirtualClock
    from flight.app import FlightApp
    from hal.icd import Severity
    from isru.config import load_config
    from sim_hw.registry import install_world
    from sim_hw.world import SimWorld

    for jammed in (False, True):
        clock = VirtualClock()
        world = install_world(SimWorld(clock, seed=7, site=1))
        drill = world.device("drill")
        drill.raise_fault("deadman", severity=Severity.WARNING)
        if jammed:
            drill.inject_jam()  # type: ignore[attr-defined]
            drill.raise_fault("stall")
        app = FlightApp(load_config(), clock)
        try:
            failed = app.start()
            names = [e.name for e in app.events.recent if e.source == "rig"]
            assert "self_test_failed" in names and "faults_cleared" in names, names
            assert failed == (["drill"] if jammed else []), failed
            app.mission.restore({"state": "extract_drill", "progress": {"cycle": 1, "site": 1}}, "resume")
            restored = [e.message for e in app.events.recent if e.name == "restored"][-1]
            if not jammed:
                # the devices restarted with flight, anchors up: the drilling resumes after anchoring again
                assert restored.startswith(
                    "restart: hardware made safe, resuming extract_drill, entering anchor_deploy first: "
                ), restored
                assert app.mission.state == "anchor_deploy"
                continue
            assert app.mission.state == "hold"
            assert "extract_drill needs devices that have failed: drill" in restored, restored
            resumed = app.dispatcher.submit("mission.resume", {}, source="test")
            assert resumed.stage == Stage.FAILED and "drill:" in resumed.message, resumed
        finally:
            app.close()
            uninstall_world()
