"""The flight segment over the simulated rover, in-process on a virtual clock: the mission cycle, the
interlocks below it and the emergency stop. Every device command crosses the real byte path (sim://)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import VirtualClock
from flight.app import FlightApp
from flight.dispatcher import Stage
from sim_hw.registry import uninstall_world
from sim_hw.world import SimWorld
from tests.support.flight_stack import build


@pytest.fixture
def stack() -> Iterator[tuple[FlightApp, SimWorld, VirtualClock]]:
    app, world, clock = build()
    yield app, world, clock
    app.close()
    uninstall_world()


def run_cycle(app: FlightApp, clock: VirtualClock) -> dict:
    status = app.dispatcher.submit("mission.start", {"cycles": 1}, command_id="start-1", source="test")
    assert status.stage != Stage.FAILED, status
    limit = clock.monotonic() + 6 * 3600
    app.executive.run(until=lambda: app.mission.state in ("idle", "safe") or clock.monotonic() > limit)
    progress = app.mission.progress
    return {
        "state": app.mission.state,
        "cycles": progress.cycle,
        "visited": list(progress.visited),
        "regolith_kg": round(progress.regolith_kg, 9),
        "water_kg": round(progress.water_kg, 9),
        "energy_Wh": round(progress.energy_Wh, 6),
        "t": round(clock.monotonic(), 6),
    }


@pytest.mark.timeout(600)  # two cycles through the whole stack: slow when the machine is shared
def test_a_full_cycle_on_virtual_time_is_deterministic() -> None:
    summaries = []
    for _ in range(2):
        app, _world, clock = build(seed=11)
        try:
            summaries.append(run_cycle(app, clock))
        finally:
            app.close()
            uninstall_world()
    first = summaries[0]
    assert first["state"] == "idle" and first["cycles"] == 1
    assert first["visited"] == ["idle", "anchor", "extract", "process", "stow", "idle"]
    assert first["regolith_kg"] > 0.9 and first["energy_Wh"] > 0.0
    assert summaries[0] == summaries[1]


def test_drill_refused_unanchored_whoever_sends_it(stack) -> None:
    app, world, _clock = stack
    status = app.dispatcher.submit("drill.spin", {"rpm": 100.0}, source="operator")
    assert status.stage == Stage.FAILED and status.reason == "interlock:drill_unanchored"
    world.device("drill").assert_not_received("spin")


def test_heater_refused_with_the_lid_open(stack) -> None:
    app, world, _clock = stack
    app.executive.run(duration_s=0.5)
    status = app.dispatcher.submit("extractor.heater_power", {"watts": 200.0}, source="operator")
    assert status.stage == Stage.FAILED and status.reason == "interlock:heater_lid_open"
    world.device("extractor").assert_not_received("heater_power")


def test_scoop_refused_while_the_drill_is_deployed(stack) -> None:
    app, world, _clock = stack
    app.table.update({"drill.depth_m": 0.3}, app.clock.now())  # as the drill would report it
    status = app.dispatcher.submit("scoop.dig", {"depth_m": 0.05}, source="sequence")
    assert status.stage == Stage.FAILED and status.reason == "interlock:scoop_drill_deployed"
    world.device("scoop").assert_not_received("dig")


def test_estop_stops_every_actuator_and_latches(stack) -> None:
    app, world, clock = stack
    drive = app.dispatcher.submit("drive.twist", {"v_m_s": 0.1, "omega_rad_s": 0.0}, source="operator")
    assert drive.stage == Stage.COMPLETED
    app.executive.run(duration_s=1.0)
    assert app.table.get("drive.v_m_s") > 0.05
    t0 = clock.monotonic()
    assert app.dispatcher.submit("estop", {}, source="operator").stage == Stage.COMPLETED
    app.executive.run(duration_s=0.1)
    assert clock.monotonic() - t0 <= 0.1 + 1e-9
    for name in ("drill", "scoop", "extractor", "anchor", "drive"):
        assert not world.device(name).is_actuating(), name
    assert world.rover.bus_on.get("drive") is False
    again = app.dispatcher.submit("drive.twist", {"v_m_s": 0.1, "omega_rad_s": 0.0}, source="operator")
    assert again.stage == Stage.FAILED and again.reason == "interlock:estop"
    # The stop above did not go through the mission machine; the machine is told afterwards.
    assert app.mission.state == "safe"
    assert app.dispatcher.submit("extractor.heater_power", {"watts": 0.0}).stage == Stage.COMPLETED


def test_dictionary_lists_commands_channels_parameters_and_the_diagram(stack) -> None:
    app, _world, _clock = stack
    app.executive.run(duration_s=0.5)
    dictionary = app.dictionary()
    commands = {c["name"]: c for c in dictionary["commands"]}
    assert {"mission.start", "mission.hold", "estop", "drill.feed", "param.set", "seq.run"} <= set(commands)
    assert commands["drill.feed"]["hazardous"] and commands["drill.feed"]["hazard"]
    assert any(ch["name"] == "extractor.chamber_temp_K" and ch["unit"] == "K" for ch in dictionary["telemetry"])
    assert any(p["name"] == "mission.heater_setpoint_K" for p in dictionary["parameters"])
    assert "stateDiagram-v2" in dictionary["diagram"]
