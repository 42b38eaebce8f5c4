"""The channel dictionary of a real flight segment (the simulated rover, every component started): every
channel states a unit and a description, every channel with a physical range has limit bands, and ground
colours a value outside them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from flight.interlocks import TRIPS_PREFIX
from ground.console import limits
from link.schema import DIMENSIONLESS_UNITS, channel_gaps
from sim_hw.registry import uninstall_world
from tests.support.flight_stack import build

#: Units of quantities with a physical range: every channel in one of them has a limit band.
RANGED_UNITS = ("K", "Pa", "A", "V", "1")


@pytest.fixture(scope="module")
def flight() -> Iterator[Any]:
    app, _world, _clock = build()
    app.executive.run(duration_s=2.0)
    try:
        yield app
    finally:
        app.close()
        uninstall_world()


@pytest.fixture(scope="module")
def channels(flight: Any) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in flight.dictionary()["telemetry"]}


def test_every_channel_states_a_unit_and_a_description(channels: dict[str, dict[str, Any]]) -> None:
    assert len(channels) > 300
    gaps = {name: channel_gaps(entry) for name, entry in channels.items() if channel_gaps(entry)}
    assert gaps == {}


def test_dimensionless_channels_use_a_known_marker(channels: dict[str, dict[str, Any]]) -> None:
    bool_units = {entry["unit"] for entry in channels.values() if entry["type"] == "bool"}
    text_units = {entry["unit"] for entry in channels.values() if entry["type"] == "str"}
    assert bool_units == {"bool"}
    assert text_units <= set(DIMENSIONLESS_UNITS)
    assert channels["mission.cycle"]["unit"] == "count"
    assert channels["exec.control.duration_ms"]["unit"] == "ms"  # the unit its name carries


def test_every_channel_with_a_physical_range_has_a_limit_band(channels: dict[str, dict[str, Any]]) -> None:
    bounds = ("warn_low", "warn_high", "alarm_low", "alarm_high")
    unbanded = [
        name
        for name, entry in channels.items()
        if entry["type"] == "float" and entry["unit"] in RANGED_UNITS and not any(b in entry for b in bounds)
    ]
    assert unbanded == []


def test_a_state_of_charge_above_one_is_red_and_a_normal_one_is_not(channels: dict[str, dict[str, Any]]) -> None:
    soc = channels["power.soc"]
    assert (soc["alarm_low"], soc["alarm_high"]) == (0.2, 1.0)
    assert limits.level(soc, 1.46) == limits.ALARM
    assert limits.level(soc, 0.8) == limits.NOMINAL
    assert limits.level(soc, 0.3) == limits.WARNING


def test_fault_protection_thresholds_bound_their_channels(channels: dict[str, dict[str, Any]]) -> None:
    assert channels["drill.bit_temp_K"]["alarm_high"] == 400.0  # drill_bit_hot -> retract
    assert channels["imu.temp_K"]["warn_high"] == 358.0  # imu_hot -> event only: yellow
    assert channels["drive.current_left_A"]["alarm_high"] == channels["drive.current_right_A"]["alarm_high"]
    assert "alarm_high" not in channels["extractor.heater_power_W"]  # heater_on only matters with lid_open


def test_a_channel_that_appears_later_is_described_by_its_family(flight: Any) -> None:
    flight.table.update({f"{TRIPS_PREFIX}test_rule": 1}, flight.clock.now())
    entry = next(e for e in flight.table.dictionary() if e["name"] == f"{TRIPS_PREFIX}test_rule")
    assert entry["unit"] == "count"
    assert "test_rule" in entry["description"] and "{suffix}" not in entry["description"]


def test_the_link_servers_channels_are_described_too() -> None:
    from flight.link_reports import LINK_CHANNELS

    assert {spec.name: channel_gaps(spec.as_dict()) for spec in LINK_CHANNELS if channel_gaps(spec.as_dict())} == {}
