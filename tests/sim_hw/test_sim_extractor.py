"""The thermal water extractor emulator through real bytes over ``sim://`` on a virtual clock: every command
per the ICD, motion completions, telemetry, the dead-man rule, injected faults, and the physics seen from
the host (heating, extraction, mass balance)."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator

import pytest
import serial
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from base.clock import VirtualClock
from hal.icd import EXTRACTOR, NACK_LAYOUT, Completion, EventId
from hal.protocol import AckResult, Frame, MsgType, NackCode, encode_frame
from sim_hw.devices.extractor import HARDWARE_LIMIT_K, HEATER_MAX_W, LID_TRAVEL_S, ExtractorFirmware
from sim_hw.physics.thermal import P_TRIPLE_PA
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld
from tests.support.sim_link import SimLink, run

SPEC = EXTRACTOR


class Host(SimLink):
    """The extractor alone in a world of its own, spoken to over the shared :class:`SimLink`."""

    def __init__(self, *, body: str = "moon", seed: int = 5, step_s: float = 0.05) -> None:
        self.clock = VirtualClock()
        world = install_world(SimWorld(self.clock, body=body, seed=seed, step_s=step_s, devices=("extractor",)))
        self.firmware: ExtractorFirmware = world.device("extractor")  # type: ignore[assignment]
        super().__init__(world, "extractor", retries=2)

    def run(self, seconds: float, *, beat_s: float = 0.2) -> None:
        """Let ``seconds`` of clock time pass, sending a heartbeat every ``beat_s`` and reading everything."""
        run([self], seconds, slice_s=beat_s)

    def silent(self, seconds: float) -> None:
        """Let time pass without sending anything (reads only)."""
        run([self], seconds, slice_s=seconds, keepalive=False)

    def close(self) -> None:
        """Close the line and forget the world."""
        super().close()
        uninstall_world()


@pytest.fixture
def host() -> Iterator[Host]:
    rig = Host()
    try:
        yield rig
    finally:
        rig.close()


@pytest.fixture
def slow_host() -> Iterator[Host]:
    """A world stepped at 1 s (the chamber sub-steps stably) for hours-long runs; long dead-man, slow telemetry."""
    rig = Host(step_s=1.0)
    rig.ack("set_deadman", timeout_ms=60000)
    try:
        yield rig
    finally:
        rig.close()


def _load_batch(rig: Host, mass_kg: float = 10.0, ice: float = 0.05, temp_K: float = 100.0) -> None:
    assert rig.firmware.accept_regolith(mass_kg, ice, temp_K) == pytest.approx(mass_kg)


def _seal(rig: Host) -> None:
    assert rig.ack("lid", sealed=1) == AckResult.STARTED
    rig.run(LID_TRAVEL_S + 1.0)
    assert rig.completions("lid")[-1] == Completion.OK


# ------------------------------------------------------------------------------------------ commands
def test_lid_is_a_motion_that_shows_in_telemetry(host: Host) -> None:
    host.ack("set_telemetry_period", period_ms=100)
    assert host.snapshot()["lid"] == 0
    assert host.ack("lid", sealed=1) == AckResult.STARTED
    host.run(1.0)
    moving = host.telemetry()[-1]
    assert moving["lid"] == 2 and SPEC.mode_name(moving["mode"]) == "sealing"
    host.run(LID_TRAVEL_S)
    assert host.completions("lid") == [Completion.OK]
    sealed = host.snapshot()
    assert sealed["lid"] == 1 and SPEC.mode_name(sealed["mode"]) == "sealed"
    assert host.ack("lid", sealed=1) == AckResult.STARTED  # already there: completes OK at once
    host.run(0.2)
    assert host.completions("lid") == [Completion.OK, Completion.OK]


def test_arguments_outside_the_icd_are_refused_with_their_index(host: Host) -> None:
    assert host.nack("lid", sealed=2) == (NackCode.OUT_OF_RANGE, 1)
    assert host.nack("heater_power", watts=801.0) == (NackCode.OUT_OF_RANGE, 1)
    assert host.nack("heater_power", watts=-1.0) == (NackCode.OUT_OF_RANGE, 1)
    assert host.nack("heater_power", watts=math.nan) == (NackCode.OUT_OF_RANGE, 1)
    assert host.nack("heater_setpoint", kelvin=901.0) == (NackCode.OUT_OF_RANGE, 1)
    assert host.nack("vent", open=7) == (NackCode.OUT_OF_RANGE, 1)
    short = host.transport.request(MsgType.COMMAND, bytes([SPEC.command("heater_power").id, 0, 0]))
    assert NACK_LAYOUT.unpack(short.payload)["code"] == NackCode.BAD_LENGTH
    unknown = host.transport.request(MsgType.COMMAND, bytes([0x7E]))
    assert NACK_LAYOUT.unpack(unknown.payload)["code"] == NackCode.UNKNOWN_COMMAND
    assert host.snapshot()["heater_power_W"] == 0.0


def test_dump_needs_the_lid_open_and_empties_the_chamber(host: Host) -> None:
    _load_batch(host, 4.0)
    _seal(host)
    assert host.nack("dump") == (NackCode.BAD_STATE, 0)
    assert host.firmware.accept_regolith(1.0, 0.05, 100.0) == 0.0  # spilled on the sealed lid
    # (the weakest-bound adsorbed water, ~20 mg, desorbs at the chamber's 250 K: docs/sim/extraction.md 1.5.1)
    assert host.snapshot()["loaded_mass_kg"] == pytest.approx(4.0, abs=1e-4)
    assert host.ack("lid", sealed=0) == AckResult.STARTED
    assert host.nack("dump") == (NackCode.BAD_STATE, 0)  # still moving
    host.run(LID_TRAVEL_S + 0.5)
    assert host.ack("dump") == AckResult.STARTED
    host.run(1.0)
    assert SPEC.mode_name(host.snapshot()["mode"]) == "dumping"
    assert host.nack("lid", sealed=1) == (NackCode.BUSY, 0)  # the lid hinge tips with the hopper
    host.run(10.0)
    assert host.completions("dump") == [Completion.OK]
    assert host.snapshot()["loaded_mass_kg"] == 0.0
    assert host.firmware.water_balance_error_kg() == pytest.approx(0.0, abs=1e-12)


def test_vent_opens_the_valve_and_drains_the_pressure() -> None:
    results = {}
    for vent in (0, 1):
        host = Host(step_s=1.0)
        try:
            host.ack("set_deadman", timeout_ms=60000)
            _load_batch(host)
            _seal(host)
            host.ack("heater_power", watts=600.0)
            host.run(3600.0, beat_s=10.0)
            host.ack("heater_power", watts=0.0)
            assert host.ack("vent", open=vent) == AckResult.DONE
            host.run(60.0, beat_s=1.0)
            state = host.snapshot()
            assert state["vent"] == vent
            assert SPEC.mode_name(state["mode"]) == ("venting" if vent else "sealed")
            results[vent] = (state["pressure_Pa"], host.firmware.chamber.vented_kg)
            host.ack("vent", open=0)
            assert host.snapshot()["vent"] == 0
        finally:
            host.close()
    (closed_Pa, closed_lost), (vented_Pa, vented_lost) = results[0], results[1]
    assert closed_Pa > 10.0 and vented_Pa < 0.9 * closed_Pa
    assert closed_lost < 1e-6 < vented_lost  # (a trace left while the lid was still open)


def test_on_the_earth_rig_the_vent_pumps_a_sealed_chamber_down_and_an_open_lid_lets_the_room_in() -> None:
    host = Host(body="earth", step_s=1.0)
    try:
        host.ack("set_deadman", timeout_ms=60000)
        host.run(2.0)
        assert host.snapshot()["pressure_Pa"] == pytest.approx(101_325.0, rel=0.01)  # lid open: room air
        _load_batch(host, temp_K=253.0)
        _seal(host)
        host.ack("vent", open=1)
        host.run(900.0, beat_s=5.0)
        assert host.snapshot()["pressure_Pa"] < 1000.0  # the rig's vacuum pump on the vent line
        host.ack("vent", open=0)
        assert host.ack("lid", sealed=0) == AckResult.STARTED
        host.run(LID_TRAVEL_S + 30.0, beat_s=1.0)
        assert host.snapshot()["pressure_Pa"] > 90_000.0
    finally:
        host.close()


def test_transfer_moves_the_cold_trap_water_into_the_tank(slow_host: Host) -> None:
    host = slow_host
    _load_batch(host)
    _seal(host)
    host.ack("heater_power", watts=400.0)
    host.run(5400.0, beat_s=10.0)
    trapped = host.snapshot()["water_kg"]
    assert trapped > 0.1
    assert host.ack("transfer_water") == AckResult.STARTED
    host.run(2.0, beat_s=1.0)
    assert SPEC.mode_name(host.snapshot()["mode"]) == "transferring"
    host.run(trapped / 0.005 + 120.0, beat_s=10.0)
    assert host.completions("transfer_water") == [Completion.OK]
    after = host.snapshot()
    assert after["tank_kg"] >= trapped and after["water_kg"] < 0.05 * trapped


def test_heater_setpoint_regulates_the_chamber(slow_host: Host) -> None:
    host = slow_host
    _load_batch(host, 5.0, 0.0, 250.0)
    _seal(host)
    host.ack("heater_setpoint", kelvin=450.0)
    host.run(4 * 3600.0, beat_s=10.0)
    held = host.snapshot()
    assert held["chamber_temp_K"] == pytest.approx(450.0, abs=3.0)
    assert 0.0 < held["heater_power_W"] < HEATER_MAX_W  # holding against the losses, not saturated
    host.ack("heater_setpoint", kelvin=0.0)
    host.run(20.0, beat_s=10.0)
    assert host.snapshot()["heater_power_W"] == 0.0


def test_telemetry_streams_at_the_commanded_rate(host: Host) -> None:
    host.ack("set_telemetry_period", period_ms=100)
    start = len(host.telemetry())
    host.run(10.0)
    frames = host.telemetry()[start:]
    assert len(frames) == pytest.approx(100, abs=1)
    assert all(set(f) == set(SPEC.telemetry_layout.names) for f in frames)
    ms = [f["uptime_ms"] for f in frames]
    assert all(b - a == pytest.approx(100, abs=1) for a, b in itertools.pairwise(ms))


# ------------------------------------------------------------------------------------- power, dead-man
def test_an_unpowered_bus_stops_the_heater_and_refuses_actuation(host: Host) -> None:
    host.ack("heater_power", watts=300.0)
    assert host.ack("lid", sealed=1) == AckResult.STARTED
    host.run(1.0)
    host.world.rover.bus_on["extractor"] = False
    host.run(0.5)
    assert host.snapshot()["heater_power_W"] == 0.0
    assert host.completions("lid") == [Completion.BLOCKED]
    assert host.firmware.power_W() == 0.0
    assert host.nack("heater_power", watts=100.0) == (NackCode.BAD_STATE, 0)
    assert host.nack("lid", sealed=1) == (NackCode.BAD_STATE, 0)
    assert host.ack("heater_power", watts=0.0) == AckResult.DONE  # switching off is always accepted
    host.world.rover.bus_on["extractor"] = True
    assert host.ack("heater_power", watts=100.0) == AckResult.DONE
    host.run(0.5)
    assert host.snapshot()["heater_power_W"] == pytest.approx(100.0)


def test_a_silent_host_trips_the_deadman_while_heating(host: Host) -> None:
    host.ack("heater_power", watts=300.0)
    host.run(2.0)
    assert host.snapshot()["heater_power_W"] == pytest.approx(300.0)
    host.silent(1.5)
    stops = [e for e in host.events() if e["event"] == EventId.DEADMAN_STOP]
    # It trips when the timeout has elapsed, never before (docs/icd.md section 9).
    assert len(stops) == 1 and stops[0]["value"] == pytest.approx(1000.0, abs=1.0) and stops[0]["value"] >= 1000.0
    assert host.fault_was_set("deadman")
    state = host.snapshot()
    assert state["heater_power_W"] == 0.0 and "deadman" in SPEC.fault_names(state["faults"])
    assert host.nack("heater_power", watts=300.0) == (NackCode.DEVICE_FAULT, 0)
    host.ack("clear_fault")
    assert host.ack("heater_power", watts=300.0) == AckResult.DONE


# ------------------------------------------------------------------------------------------ faults
def test_heater_runaway_heats_past_the_hardware_limit_whatever_is_commanded(slow_host: Host) -> None:
    host = slow_host
    _seal(host)  # (with the lid open the aperture radiates enough to hold an empty chamber below the limit)
    host.world.inject("extractor", "heater_runaway")
    host.ack("heater_power", watts=0.0)
    host.run(20.0, beat_s=10.0)
    assert host.snapshot()["heater_power_W"] == HEATER_MAX_W
    hottest = 0.0
    for _ in range(120):
        host.run(60.0, beat_s=20.0)
        hottest = host.snapshot()["chamber_temp_K"]
        if hottest > HARDWARE_LIMIT_K + 20.0:
            break
    assert hottest > HARDWARE_LIMIT_K + 20.0  # the cut-out cannot open a welded switch
    assert host.fault_was_set("overtemp")
    assert "overtemp" in SPEC.fault_names(host.snapshot()["faults"])
    host.ack("clear_fault")
    assert "overtemp" in SPEC.fault_names(host.snapshot()["faults"])  # cause persists
    host.world.rover.bus_on["extractor"] = False  # only bus power stops it
    host.run(20.0, beat_s=10.0)
    assert host.snapshot()["heater_power_W"] == 0.0


def test_the_hardware_cutout_stops_an_open_loop_overheat(slow_host: Host) -> None:
    host = slow_host
    _seal(host)
    host.ack("heater_power", watts=800.0)
    for _ in range(150):
        host.run(60.0, beat_s=20.0)
        if host.fault_was_set("overtemp"):
            break
    assert host.fault_was_set("overtemp")
    host.run(60.0, beat_s=20.0)
    state = host.snapshot()
    assert state["heater_power_W"] == 0.0 and state["chamber_temp_K"] < HARDWARE_LIMIT_K + 5.0
    assert host.nack("heater_power", watts=100.0) == (NackCode.DEVICE_FAULT, 0)


def test_heater_failure_gives_no_heat_and_latches(host: Host) -> None:
    host.world.inject("extractor", "heater_failure")
    t0 = host.snapshot()["chamber_temp_K"]
    host.ack("heater_power", watts=400.0)
    host.run(60.0)
    state = host.snapshot()
    assert state["heater_power_W"] == 0.0 and state["chamber_temp_K"] <= t0 + 0.01
    assert "heater_failure" in SPEC.fault_names(state["faults"])
    host.ack("clear_fault")
    assert "heater_failure" in SPEC.fault_names(host.snapshot()["faults"])  # still open circuit
    host.firmware.repair()
    host.ack("clear_fault")
    assert host.snapshot()["faults"] == 0


def test_seal_leak_bleeds_the_vapour_away() -> None:
    outcome = {}
    for rate in (0.0, 1.0):
        host = Host(step_s=1.0)
        try:
            host.ack("set_deadman", timeout_ms=60000)
            _load_batch(host)
            _seal(host)
            host.ack("heater_power", watts=500.0)
            host.run(1200.0, beat_s=10.0)
            if rate:
                host.world.inject("extractor", "seal_leak", rate=rate)
                host.run(5.0, beat_s=1.0)
                assert host.fault_was_set("seal_leak")
                assert "seal_leak" in SPEC.fault_names(host.snapshot()["faults"])
            host.run(1800.0, beat_s=10.0)
            state = host.snapshot()
            outcome[rate] = (state["pressure_Pa"], state["water_kg"], host.firmware.chamber.vented_kg)
            assert host.firmware.water_balance_error_kg() == pytest.approx(0.0, abs=1e-12)
        finally:
            host.close()
    (tight_Pa, tight_water, tight_lost), (leaky_Pa, leaky_water, leaky_lost) = outcome[0.0], outcome[1.0]
    assert leaky_Pa < tight_Pa and leaky_water < tight_water
    assert leaky_lost > 0.05 * 0.5 and tight_lost < 1e-6


@pytest.mark.parametrize(("field", "fault"), [("pressure_Pa", "pressure_sensor"), ("chamber_temp_K", "temp_sensor")])
def test_sensor_faults_show_in_telemetry_and_latch(host: Host, field: str, fault: str) -> None:
    host.world.inject("extractor", "nan", field=field, duration_s=5.0)
    host.run(0.5)
    state = host.snapshot()
    assert math.isnan(state[field]) and fault in SPEC.fault_names(state["faults"])
    host.run(6.0)
    assert math.isfinite(host.snapshot()[field])
    host.ack("clear_fault")
    assert host.snapshot()["faults"] == 0


def test_a_failed_temperature_sensor_stops_the_regulator(host: Host) -> None:
    host.ack("heater_setpoint", kelvin=500.0)
    host.run(1.0)
    assert host.snapshot()["heater_power_W"] > 0.0
    host.world.inject("extractor", "dropout", field="chamber_temp_K")  # reads 0 K: implausible
    host.run(1.0)
    state = host.snapshot()
    assert state["heater_power_W"] == 0.0 and "temp_sensor" in SPEC.fault_names(state["faults"])


# ------------------------------------------------------------------------------------------ physics
def test_heating_rate_grows_with_heater_power() -> None:
    rates = []
    for watts in (150.0, 300.0, 600.0):
        rig = Host()
        try:
            _load_batch(rig, 8.0, 0.0, 250.0)
            rig.ack("set_deadman", timeout_ms=60000)
            t0 = rig.snapshot()["chamber_temp_K"]
            rig.ack("heater_power", watts=watts)
            rig.run(300.0, beat_s=5.0)
            rates.append((rig.snapshot()["chamber_temp_K"] - t0) / 300.0)
        finally:
            rig.close()
    assert 0.0 < rates[0] < rates[1] < rates[2]


def test_a_full_extraction_conserves_water_and_reports_its_energy(slow_host: Host) -> None:
    host = slow_host
    _load_batch(host, 10.0, 0.05, 100.0)
    _seal(host)
    host.ack("set_telemetry_period", period_ms=60000)
    host.ack("heater_power", watts=300.0)
    loaded = host.firmware.chamber.water_loaded_kg
    yields = []
    for _ in range(4 * 60):
        host.run(60.0, beat_s=15.0)
        assert abs(host.firmware.water_balance_error_kg()) < 1e-12
        state = host.snapshot()
        yields.append(state["water_kg"])
        assert state["water_kg"] + state["tank_kg"] <= loaded + 1e-6
    final = host.snapshot()
    assert final["water_kg"] > 0.9 * loaded  # most of the ice, within four hours at 300 W
    assert final["pressure_Pa"] < P_TRIPLE_PA
    assert yields == sorted(yields)
    per_kg = final["heater_energy_J"] / final["water_kg"]
    assert per_kg == pytest.approx(host.firmware.energy_per_kg_J(), rel=1e-5)
    assert 3e6 < per_kg < 10e6


# ------------------------------------------------------------------------------------- robustness
@pytest.fixture(scope="module")
def garbage_rig() -> Iterator[tuple[Host, serial.SerialBase]]:
    rig = Host(seed=9)
    port = serial.serial_for_url("sim://extractor", timeout=0)
    try:
        yield rig, port
    finally:
        port.close()
        rig.close()


def _garbage_frame(data: bytes) -> bytes:
    """A valid-CRC frame built from random bytes: any message type (mostly COMMAND), any command id (mostly
    this device's), a random payload (often of the command's exact argument size, so that it gets parsed)."""
    kind, pick, sized = data[0], data[1], data[2]
    body = data[3:]
    msg_type = MsgType.COMMAND if kind < 160 else kind % 10
    if msg_type != MsgType.COMMAND:
        return encode_frame(Frame(SPEC.address if kind % 2 else 0xFF, msg_type, kind, body))
    commands = SPEC.all_commands
    command = commands[pick % len(commands)]
    if sized < 200:
        body = (body + bytes(16))[: command.args_layout.size]
    return encode_frame(Frame(SPEC.address, MsgType.COMMAND, pick, bytes([command.id if pick < 240 else pick]) + body))


@settings(max_examples=2000, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=3, max_size=160))
def test_garbage_never_stops_the_firmware(garbage_rig: tuple[Host, serial.SerialBase], data: bytes) -> None:
    """Random bytes, then a valid-CRC frame of random content: the device still answers a valid request."""
    rig, port = garbage_rig
    split = data[0] % len(data)
    port.write(data[:split])
    port.write(b"\x00")  # end whatever the noise left half-open
    port.write(_garbage_frame(data[split:] + data[:3]))
    port.read(port.in_waiting)
    rig.clock.advance(0.05)  # let the physics run in whatever state the garbage left
    reply = rig.transport.request(MsgType.IDENTIFY)
    assert reply.msg_type == MsgType.IDENTIFY
    assert rig.firmware.frames_rejected == 0  # no handler raised
    assert abs(rig.firmware.water_balance_error_kg()) < 1e-12


def test_same_seed_same_telemetry_bytes() -> None:
    def session() -> list[bytes]:
        rig = Host(seed=21)
        try:
            rig.ack("set_telemetry_period", period_ms=50)
            rig.world.inject("extractor", "noise", field="chamber_temp_K", sigma=0.5)
            _load_batch(rig, 6.0, 0.08, 90.0)
            rig.ack("lid", sealed=1)
            rig.run(5.0)
            rig.ack("heater_setpoint", kelvin=400.0)
            rig.run(30.0)
            rig.world.inject("extractor", "seal_leak", rate=0.1)
            rig.ack("vent", open=1)
            rig.run(5.0)
            return rig.wire_log()
        finally:
            rig.close()

    first, second = session(), session()
    assert len(first) > 700 and first == second


def test_accept_regolith_rejects_nonsense(host: Host) -> None:
    for bad in ((math.nan, 0.05, 100.0), (-1.0, 0.05, 100.0), (1.0, 2.0, 100.0), (1.0, 0.05, -3.0)):
        with pytest.raises(ValueError, match="regolith"):
            host.firmware.accept_regolith(*bad)
    rng = random.Random(3)
    for _ in range(50):
        host.firmware.accept_regolith(rng.uniform(0.0, 2.0), rng.uniform(0.0, 0.3), rng.uniform(40.0, 300.0))
    assert host.snapshot()["loaded_mass_kg"] <= host.firmware.chamber.design.capacity_kg + 1e-9
