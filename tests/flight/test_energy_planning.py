"""Energy as a planning input: the mission parks and recharges before the battery would reach load shedding,
hibernates while there is no light, and resumes the exact step it parked.

The real flight segment over emulators behind ``sim://`` on a virtual clock. The battery and the light are set
on the simulated power unit (a drained battery, a lamp or a shadow on the array); the checks read the
simulated hardware's physical state and flight's events.
"""

from __future__ import annotations

import dataclasses

import pytest

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import VirtualClock
from flight.app import FlightApp
from flight.dispatcher import Stage
from flight.mission.energy import ESTIMATES
from isru.config import load_config
from sim_hw.devices.drill import DrillFirmware
from sim_hw.devices.power import PowerFirmware
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld

pytestmark = pytest.mark.timeout(300)


def build(**mission: float) -> tuple[FlightApp, SimWorld, VirtualClock]:
    config = load_config()
    settings = {
        "prospect": False,
        "cycles": 1,
        "drill_depth_m": 0.3,
        "bite_m": 0.15,
        "hopper_target_kg": 0.5,
        "heat_min_s": 60.0,
        "heat_max_s": 300.0,
        "vent_s": 5.0,
        "resume_soc": 0.45,  # a short recharge, so the test runs in little wall time
        **mission,
    }
    config = dataclasses.replace(config, mission=dataclasses.replace(config.mission, **settings))  # type: ignore[arg-type]
    clock = VirtualClock()
    world = install_world(SimWorld(clock, seed=7, site=1))
    app = FlightApp(config, clock)
    assert app.start() == []
    return app, world, clock


def _start(app: FlightApp) -> None:
    status = app.dispatcher.submit("mission.start", {"cycles": 1}, source="test")
    assert status.stage == Stage.COMPLETED, status


def _started_until(app: FlightApp, clock: VirtualClock, state: str) -> None:
    """Start the one-cycle mission and run it until it enters ``state`` (within an hour of simulated time)."""
    _start(app)
    limit = clock.monotonic() + 3600
    app.executive.run(until=lambda: app.mission.state == state or clock.monotonic() > limit)
    assert app.mission.state == state, _transitions(app)[-3:]


def _transitions(app: FlightApp) -> list[str]:
    return [e.message for e in app.events.recent if e.source == "mission" and e.name == "transition"]


@pytest.mark.slow
def test_an_activity_that_would_drain_the_battery_is_parked_until_recharged_then_resumed_exactly() -> None:
    app, world, clock = build()
    power: PowerFirmware = world.device("power")  # type: ignore[assignment]
    drill: DrillFirmware = world.device("drill")  # type: ignore[assignment]
    try:
        _start(app)
        limit = clock.monotonic() + 3600
        app.executive.run(
            until=lambda: (
                (app.mission.state == "extract_drill" and drill.mechanics.depth_m > 0.05) or clock.monotonic() > limit
            )
        )
        assert app.mission.state == "extract_drill"
        # an unplanned drain while drilling: just above the reserve over the shedding floor (20 %)
        power.inject_low_battery(0.23)
        power.inject_solar(1500.0)  # a lamp on the array: recharging takes tens of minutes, not days
        app.executive.run(until=lambda: app.mission.state != "extract_drill" or clock.monotonic() > limit)
        assert app.mission.state == "recharge", _transitions(app)[-3:]
        assert app.mission.progress.parked == "extract_drill"
        app.executive.run(until=lambda: app.mission.state != "recharge" or clock.monotonic() > limit + 7200)
        # parked safely: the drill was withdrawn before waiting, and nothing was shed
        assert app.mission.state == "extract_drill", _transitions(app)[-3:]
        assert power.soc >= 0.45
        limit = clock.monotonic() + 3 * 3600
        app.executive.run(until=lambda: app.mission.state in ("idle", "safe") or clock.monotonic() > limit)
        assert app.mission.state == "idle", [e.message for e in app.events.recent if e.severity >= 3]
        names = {f"{e.source}.{e.name}" for e in app.events.recent}
        assert "interlocks.bus_off" not in names and "mission.safe" not in names
        moves = _transitions(app)
        parked = [m for m in moves if m.startswith("extract_drill → recharge: energy:")]
        assert parked, moves
        assert any(m.startswith("recharge → extract_drill: battery at") for m in moves), moves
        assert app.mission.progress.cycle == 1 and app.mission.progress.water_kg > 0.0
        # the campaign log books where the time and the energy went
        (record,) = app.mission.campaign.cycles
        assert record["recoveries"].get("park", 0) >= 1
        assert record["time_s"]["recharging"] > 60.0 and record["time_s"]["working"] > 60.0
        assert record["energy_harvested_Wh"] > 100.0 and record["energy_used_Wh"] > 0.0
        assert 0.2 < record["min_soc"] <= 0.24
        assert record["water_kg"] == pytest.approx(app.mission.progress.water_kg)
    finally:
        app.close()
        uninstall_world()


@pytest.mark.slow
def test_without_light_the_rover_hibernates_and_wakes_when_the_array_delivers_again() -> None:
    # a heating step that needs more than the battery holds above the floor, plus the reserve
    app, world, clock = build(energy_reserve_Wh=80.0)
    power: PowerFirmware = world.device("power")  # type: ignore[assignment]
    try:
        _start(app)
        limit = clock.monotonic() + 3600
        app.executive.run(until=lambda: app.mission.state == "process_seal" or clock.monotonic() > limit)
        assert app.mission.state == "process_seal"
        heat_W, heat_s = ESTIMATES["process_heat"]
        need_soc = 0.2 + (heat_W * heat_s / 3600.0 + 80.0) / app.mission.config.battery_capacity_Wh
        power.inject_low_battery(need_soc - 0.1)
        power.inject_solar(0.0)  # shadow
        app.executive.run(until=lambda: app.mission.state == "recharge" or clock.monotonic() > limit)
        assert app.mission.progress.parked == "process_heat", _transitions(app)[-3:]
        app.executive.run(duration_s=600.0)
        assert app.mission.state == "recharge"
        assert app.table.get("mission.energy_mode") == "hibernating"
        assert not world.device("extractor").is_actuating()  # heater off, vent closed while parked
        power.inject_solar(1500.0)  # the site comes out of shadow
        app.executive.run(until=lambda: app.mission.state != "recharge" or clock.monotonic() > limit + 4 * 3600)
        assert app.mission.state == "process_heat", _transitions(app)[-3:]
    finally:
        app.close()
        uninstall_world()


def test_a_rover_that_cannot_recharge_holds_for_the_ground_with_the_reason() -> None:
    app, world, clock = build(recharge_max_s=900.0)
    power: PowerFirmware = world.device("power")  # type: ignore[assignment]
    try:
        _start(app)
        limit = clock.monotonic() + 3600
        app.executive.run(until=lambda: app.mission.state == "extract_drill" or clock.monotonic() > limit)
        power.inject_low_battery(0.22)
        power.inject_solar(0.0)
        app.executive.run(until=lambda: app.mission.state in ("hold", "safe") or clock.monotonic() > limit + 1800)
        assert app.mission.state == "hold"
        assert app.mission.progress.held == "recharge"
        last = _transitions(app)[-1]
        assert last.startswith("recharge → hold: recharge: battery at") and "hold for the ground" in last, last
    finally:
        app.close()
        uninstall_world()


def test_once_the_chamber_is_vented_the_water_reaches_the_tank_before_any_park() -> None:
    """Venting opens the chamber: from then until the water is in the tank, a park (hours of charging with
    the cryocooler shed) lets the cold trap's ice sublimate out of the open chamber. So the energy for vent,
    dump and transfer is checked before the vent, and the dump and transfer are not parked for energy
    (asteroid seed 13, cycle 6: the transfer parked after the dump for 51,000 s and booked 0.027 kg)."""
    app, world, clock = build(energy_reserve_Wh=80.0)
    power: PowerFirmware = world.device("power")  # type: ignore[assignment]
    capacity = app.mission.config.battery_capacity_Wh
    try:
        _started_until(app, clock, "process_dump")
        floor = app.config.flight.interlocks.low_battery_soc
        power.inject_low_battery(floor + 60.0 / capacity)  # under the 80 Wh reserve, above the shedding floor
        power.inject_solar(0.0)
        app.executive.run(until=lambda: app.mission.state in ("stow", "idle", "recharge", "hold", "safe"))
        moves = _transitions(app)
        assert moves[-2].startswith("process_dump → process_transfer"), moves[-3:]
        assert moves[-1] == "process_transfer → stow: cycle 1 of 1 complete", moves[-3:]
        assert app.mission.progress.water_kg > 0.0
    finally:
        app.close()
        uninstall_world()


def test_a_vent_that_could_not_finish_the_chain_parks_with_the_chamber_sealed() -> None:
    """Before the vent, the energy for vent, dump and transfer together (with the reserve) must be there, or
    the mission parks with the chamber still sealed."""
    app, world, clock = build(energy_reserve_Wh=80.0)
    power: PowerFirmware = world.device("power")  # type: ignore[assignment]
    capacity = app.mission.config.battery_capacity_Wh
    try:
        _started_until(app, clock, "process_heat")
        planner = app.mission.energy
        chain = planner.need_Wh("process_vent")
        assert chain > planner.need_Wh("process_transfer") > 80.0  # the chain's need is the three leaves'
        floor = app.config.flight.interlocks.low_battery_soc
        app.executive.run(until=lambda: app.mission.state != "process_heat")
        power.inject_low_battery(floor + (80.0 + 0.5 * (chain - 80.0)) / capacity)
        power.inject_solar(0.0)
        app.executive.run(until=lambda: app.mission.state in ("recharge", "process_dump", "hold", "safe"))
        assert app.mission.state == "recharge" and app.mission.progress.parked == "process_vent"
        assert world.device("extractor").telemetry_values()["lid"] == 1  # sealed while it waits
    finally:
        app.close()
        uninstall_world()


def test_a_step_that_needs_more_than_a_full_battery_starts_on_a_full_one_instead_of_holding() -> None:
    # The planner is told the battery holds 500 Wh: a heat estimated at 860 W for an hour never fits above the
    # shedding floor, however long the rover charges. Waiting at full charge gives no more, so the heat starts
    # on the full battery (the planner still parks it if only the reserve is left) and the cycle ends.
    app, world, clock = build(battery_capacity_Wh=500.0, resume_soc=0.9)
    power: PowerFirmware = world.device("power")  # type: ignore[assignment]
    try:
        _started_until(app, clock, "process_seal")
        power.soc = 0.999  # a full battery as the heat is due
        limit = clock.monotonic() + 4 * 3600
        app.executive.run(until=lambda: app.mission.state in ("idle", "hold", "safe") or clock.monotonic() > limit)
        moves = _transitions(app)
        assert app.mission.state == "idle", moves[-4:]
        assert any(m.startswith("process_heat → recharge: energy: process_heat needs") for m in moves), moves
        resumed = [e.message for e in app.events.recent if e.source == "mission" and e.name == "start_full"]
        assert len(resumed) == 1 and "resuming process_heat on the full battery" in resumed[0], resumed
        assert len(app.ledger) == 1
    finally:
        app.close()
        uninstall_world()
