"""Rates that follow the work (flight.rates): a whole flight segment over the simulated rover on a virtual
clock; every rate change reaches the emulators as ``set_telemetry_period``/``set_deadman`` frames."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from base.clock import VirtualClock
from base.errors import ConfigError
from flight.app import FlightApp
from flight.config import RatesConfig
from flight.rates import ACTIVE, QUIET, WATCHED, RateGovernor
from sim_hw.registry import uninstall_world
from sim_hw.world import SimWorld
from tests.support.flight_stack import build


@pytest.fixture
def stack() -> Iterator[tuple[FlightApp, SimWorld, VirtualClock]]:
    app, world, clock = build()
    try:
        yield app, world, clock
    finally:
        app.close()
        uninstall_world()


def _periods(world: SimWorld) -> dict[str, tuple[int, int]]:
    """Streaming period and dead-man (ms) of every emulator flight drives (the lunar rover has no hopper)."""
    return {name: (fw.telemetry_period_ms, fw.deadman_ms) for name, fw in world.devices.items() if name != "hopper"}


def test_a_still_rover_goes_quiet_on_the_devices_and_in_the_loop(stack):
    app, world, _clock = stack
    rates = app.config.flight.rates
    app.executive.run(duration_s=rates.quiet_after_s + 1.5)
    assert app.rates.profile == QUIET
    quiet = (round(rates.quiet_device_period_s * 1000), round(rates.quiet_deadman_s * 1000))
    assert _periods(world) == dict.fromkeys(app.rig.devices, quiet)
    assert app.executive.group("control").period_s == pytest.approx(1 / rates.quiet_control_hz)
    assert app.executive.group("telemetry").period_s == pytest.approx(1 / rates.quiet_telemetry_hz)
    drill = app.rig.device("drill")
    assert drill.deadman_s == rates.quiet_deadman_s
    assert drill.silence_timeout_s >= 3 * rates.quiet_device_period_s
    assert app.table.get("rates.profile") == QUIET
    # the slower streams widen fault protection's staleness limits: a quiet minute raises no stale watchpoint
    app.executive.run(duration_s=60.0)
    assert app.fdir.stale_limit(app.fdir.watchpoints["roll_rate_pos"]) == 2 * rates.quiet_device_period_s
    assert not [e for e in app.events.recent if e.name == "watchpoint_stale"]


def test_work_gets_the_active_rates_before_its_command_leaves(stack):
    app, world, _clock = stack
    app.executive.run(duration_s=5.0)
    assert app.rates.profile == QUIET
    status = app.dispatcher.submit("drive.move", {"distance_m": 0.5, "speed_m_s": 0.05}, source="test")
    assert status.stage.value != "failed", status
    drive = world.device("drive")
    names = [r.name for r in drive.history]
    move = len(names) - 1 - names[::-1].index("move")
    before = drive.history[:move]
    period = next(r for r in reversed(before) if r.name == "set_telemetry_period")
    deadman = next(r for r in reversed(before) if r.name == "set_deadman")
    configured = app.config.devices["drive"]
    assert period.args == {"period_ms": round(configured.telemetry_period_s * 1000)}
    assert deadman.args == {"timeout_ms": round(configured.deadman_s * 1000)}
    assert app.rates.profile == ACTIVE
    fast = {name for name, (period_ms, _) in _periods(world).items() if period_ms == 100}
    assert fast == WATCHED | {"drive"}
    assert app.executive.group("control").period_s == pytest.approx(1 / app.config.flight.rates.control_hz)
    # the move runs on the active rates to its end, then the rover goes quiet again
    app.executive.run(duration_s=30.0, until=lambda: not app.rig.device("drive").motions)
    assert not app.rig.device("drive").motions
    app.executive.run(duration_s=app.config.flight.rates.quiet_after_s + 2.0)
    assert app.rates.profile == QUIET


def _heat(app: FlightApp, watts: float) -> None:
    """Seal the lid, wait for the extractor to report it sealed, switch the heater on."""
    app.dispatcher.submit("extractor.lid", {"sealed": 1}, source="test")
    app.executive.run(duration_s=10.0, until=lambda: app.table.get("extractor.lid") == 1)
    status = app.dispatcher.submit("extractor.heater_power", {"watts": watts}, source="test")
    assert status.stage.value == "completed", status


def test_heating_stays_quiet_and_a_normal_switch_off_is_not_a_failed_switch(stack):
    app, world, _clock = stack
    _heat(app, 300.0)
    app.executive.run(duration_s=30.0)
    assert app.rates.profile == QUIET
    assert world.device("extractor").heater_W > 0
    app.dispatcher.submit("extractor.heater_power", {"watts": 0.0}, source="test")
    app.executive.run(duration_s=5.0)
    assert world.device("extractor").heater_W == 0
    assert app.interlocks.trips.get("heater_uncommanded", 0) == 0
    assert world.rover.bus_on.get("extractor", True)


def test_a_failed_switch_is_still_caught_on_quiet_rates(stack):
    app, world, _clock = stack
    _heat(app, 200.0)
    app.executive.run(duration_s=10.0)
    assert app.rates.profile == QUIET
    world.inject("extractor", "heater_runaway")
    app.dispatcher.submit("extractor.heater_power", {"watts": 0.0}, source="test")
    app.executive.run(duration_s=5.0)
    assert app.interlocks.trips.get("heater_uncommanded", 0) == 1
    assert not world.rover.bus_on["extractor"]


def test_adaptive_rates_can_be_switched_off(stack):
    app, world, _clock = stack
    app.rates.set_enabled(False)
    app.executive.run(duration_s=10.0)
    assert app.rates.profile == ACTIVE
    assert {period for period, _ in _periods(world).values()} == {100}


def test_a_quiet_dead_man_shorter_than_four_quiet_ticks_is_refused(stack):
    app, _world, clock = stack
    rates = RatesConfig(quiet_control_hz=1.0, quiet_deadman_s=2.0)
    with pytest.raises(ConfigError, match="quiet_deadman_s: expected at least four quiet control periods"):
        RateGovernor(app.executive, app.rig, app.events, clock, rates)
