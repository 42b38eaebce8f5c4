"""The power emulator, exercised through real frames over ``sim://power`` on a virtual clock.

Bus switching is checked end to end: the ``bus`` command over the wire, the device on that bus refusing
actuation over its own wire, and its load disappearing from the power telemetry.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterator

import pytest
import serial
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from base.clock import VirtualClock
from hal.icd import IDENTIFY_LAYOUT, POWER, POWER_BUSES, EventId, Severity
from hal.protocol import MsgType, NackCode
from sim_hw.bodies import body_by_name
from sim_hw.devices.power import HEAVY_BUSES, LOW_BATTERY_SOC
from sim_hw.physics.electrical import BatteryPack, SolarArray, cell_ocv_V
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld
from tests.support.sim_link import SimLink, run

pytestmark = pytest.mark.timeout(60)


@dataclasses.dataclass
class Rig:
    clock: VirtualClock
    world: SimWorld
    links: dict[str, SimLink]

    @property
    def power(self) -> SimLink:
        return self.links["power"]

    def run(self, seconds: float, *, feed: bool = True, step_s: float = 0.05) -> None:
        """Let ``seconds`` of virtual time pass, polling every ``step_s``; with ``feed`` a heartbeat every
        0.2 s keeps the dead-man timers fed, as the flight executive does."""
        run(self.links.values(), seconds, slice_s=step_s, beat_s=0.2, keepalive=feed)

    def light(self, illumination: float) -> None:
        """Make every site (and the ground between them) receive ``illumination`` of full sunlight."""
        self.world.sites = [dataclasses.replace(s, illumination=illumination) for s in self.world.sites]

    def bus(self, name: str, on: bool) -> None:
        self.power.ack("bus", index=POWER_BUSES.index(name), on=int(on))

    def close(self) -> None:
        for link in self.links.values():
            link.close()
        uninstall_world()


def make_rig(devices: tuple[str, ...] = ("drive", "power"), *, body: str = "moon", seed: int = 5, **kw: object) -> Rig:
    clock = VirtualClock()
    world = install_world(SimWorld(clock, body=body, seed=seed, devices=devices, **kw))
    return Rig(clock, world, {name: SimLink(world, name, retries=2, timeout_s=0.05) for name in devices})


@pytest.fixture
def rig() -> Iterator[Rig]:
    rig = make_rig()
    try:
        yield rig
    finally:
        rig.close()


# --------------------------------------------------------------------------------------- commands
def test_identify_and_nack_rules(rig: Rig) -> None:
    reply = rig.power.transport.request(MsgType.IDENTIFY)
    assert IDENTIFY_LAYOUT.unpack(reply.payload)["device_type"] == POWER.address
    assert rig.power.nack("bus", index=len(POWER_BUSES), on=1) == (NackCode.OUT_OF_RANGE, 1)
    assert rig.power.nack("bus", index=0, on=2) == (NackCode.OUT_OF_RANGE, 2)
    short = rig.power.transport.request(MsgType.COMMAND, bytes([POWER.command("bus").id, 1]))
    assert short.msg_type == MsgType.NACK and short.payload[1] == NackCode.BAD_LENGTH
    tlm = rig.power.snapshot()
    assert tlm["bus_mask"] == (1 << len(POWER_BUSES)) - 1
    rig.bus("comms", False)
    assert rig.power.snapshot()["bus_mask"] == (1 << len(POWER_BUSES)) - 1 - (1 << POWER_BUSES.index("comms"))
    assert rig.world.rover.bus_on["comms"] is False
    rig.bus("comms", True)
    assert rig.world.rover.bus_on["comms"] is True


def test_telemetry_at_the_commanded_rate_and_consistent(rig: Rig) -> None:
    rig.power.ack("set_telemetry_period", period_ms=200)
    rig.run(10.0)
    frames = [tlm for _, tlm in rig.power.timed_telemetry()]
    assert len(frames) in (49, 50, 51)
    gaps = [b["uptime_ms"] - a["uptime_ms"] for a, b in itertools.pairwise(frames)]
    assert sum(gaps) / len(gaps) == pytest.approx(200.0, abs=0.5)
    for tlm in frames:
        buses = sum(tlm[f"{bus}_W"] for bus in POWER_BUSES)
        assert tlm["load_W"] == pytest.approx(buses, rel=1e-5)
        assert tlm["avionics_W"] > 0 and tlm["comms_W"] > 0


def test_deadman_does_not_touch_the_buses(rig: Rig) -> None:
    rig.power.ack("set_deadman", timeout_ms=100)
    rig.bus("scoop", False)
    rig.run(3.0, feed=False)
    assert not any(e["event"] == EventId.DEADMAN_STOP for e in rig.power.events())
    assert rig.power.snapshot()["faults"] == 0
    assert rig.world.rover.bus_on["scoop"] is False and rig.world.rover.bus_on["drill"] is True


# ------------------------------------------------------------------------------------ bus switching
def test_switching_the_drive_bus_removes_its_load_and_stops_it(rig: Rig) -> None:
    drive = rig.links["drive"]
    drive.ack("wheels", left_m_s=0.25, right_m_s=0.25)
    rig.run(2.0)
    moving = rig.power.snapshot()["drive_W"]
    assert moving > 5.0
    rig.bus("drive", False)
    rig.run(0.5)
    assert rig.power.snapshot()["drive_W"] == 0.0
    assert rig.world.rover.speed_m_s == 0.0
    assert drive.nack("wheels", left_m_s=0.1, right_m_s=0.1)[0] == NackCode.BAD_STATE
    rig.bus("drive", True)
    drive.ack("wheels", left_m_s=0.1, right_m_s=0.1)
    rig.run(1.0)
    assert rig.power.snapshot()["drive_W"] > 2.5


def test_switching_the_drill_bus_stops_the_drill() -> None:
    rig = make_rig(("drill", "power"))
    try:
        drill = rig.links["drill"]
        drill.ack("spin", rpm=120.0)
        rig.run(2.0)
        spinning = rig.power.snapshot()["drill_W"]
        assert spinning > 0.0
        assert drill.snapshot()["rpm"] > 0.0
        rig.bus("drill", False)
        rig.run(2.0)
        assert rig.power.snapshot()["drill_W"] == 0.0
        assert drill.snapshot()["rpm"] == 0.0
        assert drill.nack("spin", rpm=120.0)[0] == NackCode.BAD_STATE
    finally:
        rig.close()


# ----------------------------------------------------------------------------------- battery, sun
def _coulombs_Ah(frames: list[tuple[float, dict]]) -> float:
    """Charge drawn from the battery between the first and last frame (trapezoid over telemetry), Ah."""
    total = 0.0
    for (t0, a), (t1, b) in itertools.pairwise(frames):
        total += 0.5 * (a["battery_A"] + b["battery_A"]) * (t1 - t0)
    return total / 3600.0


def test_soc_falls_under_a_heater_size_load_by_the_charge_drawn(rig: Rig) -> None:
    rig.light(0.0)  # a permanently shadowed site
    rig.world.inject("power", "load", bus="extractor", watts=600.0)
    rig.power.ack("set_telemetry_period", period_ms=1000)
    rig.run(600.0, step_s=0.5)
    frames = rig.power.timed_telemetry()
    first, last = frames[0][1], frames[-1][1]
    assert last["mode"] == 2  # discharging
    assert last["extractor_W"] == pytest.approx(600.0)
    assert last["solar_W"] == 0.0
    assert last["battery_A"] == pytest.approx(last["load_W"] / last["battery_V"], rel=1e-4)
    drop = first["soc"] - last["soc"]
    assert drop == pytest.approx(_coulombs_Ah(frames) / BatteryPack().capacity_Ah, rel=0.01)
    # About 630 W for 10 minutes from a ~2 kWh pack: a drop of a few percent.
    assert 0.03 < drop < 0.08
    rig.bus("extractor", False)
    rig.run(1.0)
    assert rig.power.snapshot()["load_W"] < 40.0


def test_extractor_heater_dominates_the_budget() -> None:
    rig = make_rig(("extractor", "power"))
    try:
        rig.light(0.0)
        extractor = rig.links["extractor"]
        extractor.ack("heater_power", watts=500.0)
        rig.run(5.0)
        tlm = rig.power.snapshot()
        assert tlm["extractor_W"] > 0.5 * tlm["load_W"]
        assert tlm["mode"] == 2
        start = tlm["soc"]
        rig.run(60.0, step_s=0.5)
        assert rig.power.snapshot()["soc"] < start
    finally:
        rig.close()


def test_soc_rises_with_solar_input(rig: Rig) -> None:
    rig.light(1.0)
    rig.world.inject("power", "low_battery", soc=0.5)
    rig.power.ack("set_telemetry_period", period_ms=1000)
    rig.run(300.0, step_s=0.5)
    frames = rig.power.timed_telemetry()
    last = frames[-1][1]
    expected_solar = SolarArray().output_W(body_by_name("moon"), 1.0, 0.0)
    assert last["solar_W"] == pytest.approx(expected_solar, rel=1e-5)
    assert last["mode"] == 1  # charging
    assert last["battery_A"] < 0
    gain = last["soc"] - frames[0][1]["soc"]
    assert gain > 0
    pack = BatteryPack()
    assert gain == pytest.approx(-_coulombs_Ah(frames) * pack.coulombic_efficiency / pack.capacity_Ah, rel=0.01)
    # Charging raises the terminal voltage above the open-circuit voltage.
    assert last["battery_V"] > 8 * cell_ocv_V(last["soc"])


def test_sunlight_follows_the_site(rig: Rig) -> None:
    sites = rig.world.sites
    rig.world.sites = [dataclasses.replace(s, illumination=0.0 if s.index == 1 else 1.0) for s in sites]
    rig.run(1.0)
    lit = rig.power.snapshot()["solar_W"]
    rover = rig.world.rover
    rover.x_m, rover.y_m = rig.world.sites[1].x_m, rig.world.sites[1].y_m  # carried into the crater
    rig.run(1.0)
    assert rig.power.snapshot()["solar_W"] == 0.0
    rover.x_m += 10.0  # halfway to the next (sunlit) site: partly lit
    rig.run(1.0)
    assert 0.0 < rig.power.snapshot()["solar_W"] < lit


def test_asteroid_day_and_night() -> None:
    rig = make_rig(body="asteroid", step_s=1.0)
    try:
        rig.light(1.0)
        rig.world.inject("power", "low_battery", soc=0.4)  # room to charge: the array is not shunted
        period = body_by_name("asteroid").rotation_period_s
        rig.run(period / 4, feed=False, step_s=60.0)
        noon = rig.power.snapshot()["solar_W"]
        rig.run(period / 2, feed=False, step_s=60.0)
        night = rig.power.snapshot()
        expected = SolarArray().output_W(body_by_name("asteroid"), 1.0, period / 4)
        assert noon == pytest.approx(expected, rel=1e-5) and noon > 100.0
        assert night["solar_W"] == 0.0 and night["mode"] == 2
    finally:
        rig.close()


# ------------------------------------------------------------------------------------------- faults
def test_low_battery_fault_below_the_threshold(rig: Rig) -> None:
    rig.run(0.5)
    assert rig.power.snapshot()["faults"] == 0
    rig.world.inject("power", "low_battery", soc=LOW_BATTERY_SOC - 0.05)
    rig.run(0.5)
    tlm = rig.power.snapshot()
    assert tlm["faults"] & POWER.fault_bit("low_battery")
    assert tlm["state"] == 3  # FAULT
    event = [e for e in rig.power.events() if e["event"] == EventId.FAULT_SET][-1]
    assert event["code"] == POWER.faults.index("low_battery")
    assert event["value"] == pytest.approx(LOW_BATTERY_SOC - 0.05, abs=1e-3)
    rig.power.ack("clear_fault")  # its cause is still there
    assert rig.power.snapshot()["faults"] & POWER.fault_bit("low_battery")
    rig.world.inject("power", "low_battery", soc=0.6)
    rig.power.ack("clear_fault")
    assert rig.power.snapshot()["faults"] == 0
    assert any(e["event"] == EventId.FAULT_CLEARED for e in rig.power.events())


def test_undervoltage_cutoff_sheds_the_heavy_buses(rig: Rig) -> None:
    rig.light(0.0)
    rig.world.inject("power", "load", bus="extractor", watts=700.0)
    rig.world.inject("power", "low_battery", soc=0.03)
    rig.run(1.0)
    tlm = rig.power.snapshot()
    for bus in HEAVY_BUSES:
        assert not tlm["bus_mask"] & (1 << POWER_BUSES.index(bus)), bus
    assert tlm["bus_mask"] & (1 << POWER_BUSES.index("avionics"))
    assert tlm["extractor_W"] == 0.0
    critical = [e for e in rig.power.events() if e["severity"] == Severity.CRITICAL]
    assert critical and critical[0]["code"] == POWER.faults.index("low_battery")
    assert critical[0]["value"] < 8 * 3.3  # the loaded pack voltage that tripped the cutoff
    assert rig.power.nack("bus", index=POWER_BUSES.index("extractor"), on=1)[0] == NackCode.BAD_STATE
    rig.bus("comms", True)  # light buses stay switchable
    rig.world.inject("power", "low_battery", soc=0.5)
    rig.run(0.5)
    rig.bus("extractor", True)
    rig.run(0.5)
    assert rig.power.snapshot()["extractor_W"] == pytest.approx(700.0)


def test_bus_fuse_trips_on_a_short(rig: Rig) -> None:
    rig.world.inject("power", "overcurrent", bus="drive", amps=40.0)
    rig.run(0.5)
    tlm = rig.power.snapshot()
    assert not tlm["bus_mask"] & (1 << POWER_BUSES.index("drive"))
    assert tlm["faults"] & POWER.fault_bit("overcurrent")
    event = [e for e in rig.power.events() if e["event"] == EventId.FAULT_SET][-1]
    assert event["code"] == POWER.faults.index("overcurrent") and event["value"] > 20.0
    assert rig.links["drive"].nack("wheels", left_m_s=0.1, right_m_s=0.1)[0] == NackCode.BAD_STATE
    rig.power.ack("clear_fault")  # a one-off surge: the cause is gone
    assert rig.power.snapshot()["faults"] == 0
    rig.bus("drive", True)
    rig.links["drive"].ack("wheels", left_m_s=0.1, right_m_s=0.1)


def test_sensor_symptoms_reach_the_wire(rig: Rig) -> None:
    rig.world.inject("power", "nan", field="battery_V", duration_s=1.0)
    assert math.isnan(rig.power.snapshot()["battery_V"])
    rig.run(1.5)
    assert 20.0 < rig.power.snapshot()["battery_V"] < 34.0
    rig.world.inject("power", "fault", name="sensor")
    assert rig.power.snapshot()["faults"] & POWER.fault_bit("sensor")


def test_bad_fault_parameters_are_named(rig: Rig) -> None:
    for kind, params, word in (
        ("low_battery", {"soc": 1.5}, "soc"),
        ("overcurrent", {"bus": "heater"}, "bus"),
        ("load", {"bus": "extractor", "watts": -5.0}, "watts"),
        ("solar", {"watts": -1.0}, "watts"),
    ):
        with pytest.raises(ValueError, match=word):
            rig.world.inject("power", kind, **params)


# --------------------------------------------------------------------------------------- robustness
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    garbage=st.binary(max_size=300),
    msg_type=st.integers(0, 255),
    flags=st.integers(0, 255),
    payload=st.binary(max_size=240),
)
def test_garbage_never_crashes_the_power_unit(
    rig: Rig, garbage: bytes, msg_type: int, flags: int, payload: bytes
) -> None:
    raw = serial.serial_for_url("sim://power")
    try:
        raw.write(garbage)
    finally:
        raw.close()
    rig.power.transport.send(msg_type, payload, flags)
    reply = rig.power.transport.request(MsgType.IDENTIFY)
    assert IDENTIFY_LAYOUT.unpack(reply.payload)["device_type"] == POWER.address
    assert rig.world.device("power").frames_rejected == 0


def _script() -> list[str]:
    rig = make_rig(seed=9)
    try:
        rig.power.ack("set_telemetry_period", period_ms=100)
        rig.links["drive"].ack("move", distance_m=3.0, speed_m_s=0.2)
        rig.run(10.0)
        rig.bus("drive", False)
        rig.world.inject("power", "load", bus="drill", watts=250.0)
        rig.run(5.0)
        return [repr(t) for t in rig.power.timed_telemetry()]
    finally:
        rig.close()


def test_same_seed_same_run() -> None:
    first, second = _script(), _script()
    assert len(first) >= 149
    assert first == second
