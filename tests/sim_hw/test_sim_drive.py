"""The drive emulator, exercised through real frames over ``sim://drive`` on a virtual clock.

Each test builds its own world (fixture below), talks to the emulator with :class:`hal.transport.Transport`
and checks what comes back on the wire: ACK/NACK codes, COMMAND_COMPLETE events, telemetry. Physical truth
is read from ``world.rover`` (what an external observer — e.g. a motion-capture system on the rig — sees).
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

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import VirtualClock
from hal.icd import (
    DRIVE,
    IDENTIFY_LAYOUT,
    NACK_LAYOUT,
    Completion,
    EventId,
)
from hal.protocol import AckResult, MsgType, NackCode
from sim_hw.physics.mobility import Soil, soil_for, turning_moment_Nm, wheel_contact
from sim_hw.registry import install_world, uninstall_world
from sim_hw.terrain import Site
from sim_hw.world import SimWorld
from tests.support.sim_link import SimLink, run

pytestmark = pytest.mark.timeout(60)


@dataclasses.dataclass
class Rig:
    clock: VirtualClock
    world: SimWorld
    drive: SimLink

    def place(self, *, slope_deg: float = 0.0, azimuth_rad: float = 0.0, soil_factor: float = 1.0) -> Site:
        """Put the rover at the origin on one site of the given slope and soil (heading 0 = +x)."""
        base = self.world.sites[0]
        site = dataclasses.replace(
            base,
            x_m=0.0,
            y_m=0.0,
            slope_rad=math.radians(slope_deg),
            slope_azimuth_rad=azimuth_rad,
            soil_factor=soil_factor,
        )
        self.world.sites = [site]
        self.world.rover.x_m = self.world.rover.y_m = 0.0
        return site

    def run(self, seconds: float, *, feed: bool = True) -> None:
        """Let ``seconds`` of virtual time pass, polling every 0.05 s; with ``feed`` a heartbeat every 0.2 s
        keeps the dead-man timer fed, as the flight executive does."""
        run([self.drive], seconds, slice_s=0.05, beat_s=0.2, keepalive=feed)

    def truth(self) -> tuple[float, float, float]:
        rover = self.world.rover
        return rover.x_m, rover.y_m, rover.heading_rad


def make_rig(body: str = "moon", seed: int = 4, devices: tuple[str, ...] = ("drive",)) -> Rig:
    clock = VirtualClock()
    world = install_world(SimWorld(clock, body=body, seed=seed, devices=devices))
    return Rig(clock, world, SimLink(world, "drive", retries=2, timeout_s=0.05))


@pytest.fixture
def rig() -> Iterator[Rig]:
    rig = make_rig()
    rig.place()
    rig.world.rover.x_m = rig.world.rover.y_m = 0.0
    # Odometry starts at the pose the rover had at boot: re-home it to the origin with the rover.
    drive = rig.world.device("drive")
    drive.odo_x_m = drive.odo_y_m = drive.odo_heading_rad = 0.0
    try:
        yield rig
    finally:
        rig.drive.close()
        uninstall_world()


# --------------------------------------------------------------------------------------- commands
def test_identify_and_nack_rules(rig: Rig) -> None:
    reply = rig.drive.transport.request(MsgType.IDENTIFY)
    assert IDENTIFY_LAYOUT.unpack(reply.payload)["device_type"] == DRIVE.address
    assert rig.drive.nack("wheels", left_m_s=0.5, right_m_s=0.0) == (NackCode.OUT_OF_RANGE, 1)
    assert rig.drive.nack("twist", v_m_s=0.1, omega_rad_s=math.nan) == (NackCode.OUT_OF_RANGE, 2)
    assert rig.drive.nack("move", distance_m=1.0, speed_m_s=0.0) == (NackCode.OUT_OF_RANGE, 2)
    assert rig.drive.nack("turn", angle_rad=4.0, rate_rad_s=0.5) == (NackCode.OUT_OF_RANGE, 1)
    short = rig.drive.transport.request(MsgType.COMMAND, bytes([DRIVE.command("wheels").id, 0, 0]))
    assert short.msg_type == MsgType.NACK and NACK_LAYOUT.unpack(short.payload)["code"] == NackCode.BAD_LENGTH
    unknown = rig.drive.transport.request(MsgType.COMMAND, bytes([0x7F]))
    assert NACK_LAYOUT.unpack(unknown.payload)["code"] == NackCode.UNKNOWN_COMMAND
    assert rig.drive.ack("wheels", left_m_s=0.1, right_m_s=0.1) == AckResult.DONE
    assert rig.drive.ack("move", distance_m=0.5, speed_m_s=0.1) == AckResult.STARTED
    assert rig.drive.ack("turn", angle_rad=0.3, rate_rad_s=0.2) == AckResult.STARTED
    # The turn replaced the move: the move completed STOPPED before the turn's ACK.
    assert rig.drive.all_completions() == [(DRIVE.command("move").id, Completion.STOPPED)]
    assert rig.drive.ack("stop") == AckResult.DONE
    assert rig.drive.all_completions()[-1] == (DRIVE.command("turn").id, Completion.STOPPED)


def test_zero_distance_move_completes_ok_at_once(rig: Rig) -> None:
    assert rig.drive.ack("move", distance_m=0.0, speed_m_s=0.1) == AckResult.STARTED
    rig.run(0.2)
    assert rig.drive.all_completions() == [(DRIVE.command("move").id, Completion.OK)]


# ----------------------------------------------------------------------------------------- motions
def test_move_completes_with_odometry_on_target_and_truth_short_by_slip(rig: Rig) -> None:
    rig.drive.ack("set_telemetry_period", period_ms=100)
    rig.drive.ack("move", distance_m=2.0, speed_m_s=0.2)
    rig.run(16.0)
    assert rig.drive.all_completions() == [(DRIVE.command("move").id, Completion.OK)]
    tlm = rig.drive.snapshot()
    assert tlm["x_m"] == pytest.approx(2.0, abs=1e-3)
    assert tlm["y_m"] == pytest.approx(0.0, abs=1e-6)
    assert tlm["odometer_m"] == pytest.approx(2.0, abs=1e-3)
    assert tlm["mode"] == 0 and tlm["v_m_s"] == 0.0
    x, y, heading = rig.truth()
    # Flat ground: the rover falls short of the odometry by the slip the telemetry reported while driving.
    cruise = [t["slip"] for _, t in rig.drive.timed_telemetry() if t["v_m_s"] > 0.19]
    assert cruise, "no telemetry at cruise speed"
    slip = sum(cruise) / len(cruise)
    assert 0.0 < slip < 0.3
    assert x == pytest.approx(2.0 * (1.0 - slip), rel=0.02)
    assert abs(y) < 1e-9 and abs(heading) < 1e-9


def test_move_backwards(rig: Rig) -> None:
    rig.drive.ack("move", distance_m=-0.5, speed_m_s=0.1)
    rig.run(8.0)
    assert rig.drive.all_completions() == [(DRIVE.command("move").id, Completion.OK)]
    assert rig.drive.snapshot()["x_m"] == pytest.approx(-0.5, abs=1e-3)
    assert -0.5 < rig.truth()[0] < -0.4


def test_turn_on_reference_ground_matches_truth(rig: Rig) -> None:
    rig.drive.ack("turn", angle_rad=math.pi / 2, rate_rad_s=0.3)
    rig.run(12.0)
    assert rig.drive.all_completions() == [(DRIVE.command("turn").id, Completion.OK)]
    tlm = rig.drive.snapshot()
    assert tlm["heading_rad"] == pytest.approx(math.pi / 2, abs=1e-3)
    # Odometry's effective track was calibrated on this (flat, reference) ground: the truth agrees.
    assert rig.truth()[2] == pytest.approx(math.pi / 2, rel=0.02)
    assert tlm["x_m"] == pytest.approx(0.0, abs=1e-9)


def test_turn_on_soft_soil_falls_short(rig: Rig) -> None:
    rig.place(soil_factor=0.75)
    rig.drive.ack("turn", angle_rad=-math.pi / 2, rate_rad_s=0.3)
    rig.run(12.0)
    assert rig.drive.all_completions() == [(DRIVE.command("turn").id, Completion.OK)]
    assert rig.drive.snapshot()["heading_rad"] == pytest.approx(-math.pi / 2, abs=1e-3)
    # The odometry calibration (reference soil) no longer holds: the rover turns less, by the ratio of the
    # skid-steer turning slips on the two soils.
    weight = rig.world.rover.mass_kg * rig.world.body.gravity_m_s2
    geometry = rig.world.device("drive").geometry

    def turning_slip(soil: Soil) -> float:
        contact = wheel_contact(soil, geometry, weight / 4)
        return contact.slip(
            contact.rolling_resistance_N + turning_moment_Nm(soil, weight, geometry) / geometry.track_m / 2
        )

    reference = soil_for("moon")
    expected = -math.pi / 2 * (1 - turning_slip(reference.scaled(0.75))) / (1 - turning_slip(reference))
    truth = rig.truth()[2]
    assert -0.9 * math.pi / 2 < truth < -0.5 * math.pi / 2
    assert truth == pytest.approx(expected, rel=0.05)


def _straight_run(slope_deg: float, *, uphill: bool = True, soil_factor: float = 1.0) -> tuple[float, float, float]:
    """Drive 4 s at 0.2 m/s; returns (true distance, odometry distance, mean telemetry slip)."""
    rig = make_rig()
    try:
        rig.place(slope_deg=slope_deg, azimuth_rad=0.0 if uphill else math.pi, soil_factor=soil_factor)
        rig.world.rover.x_m = rig.world.rover.y_m = 0.0
        rig.drive.ack("set_telemetry_period", period_ms=100)
        start = rig.drive.snapshot()
        rig.drive.ack("wheels", left_m_s=0.2, right_m_s=0.2)
        rig.run(4.0)
        rig.drive.ack("wheels", left_m_s=0.0, right_m_s=0.0)
        rig.run(1.0)
        end = rig.drive.snapshot()
        slips = [t["slip"] for _, t in rig.drive.timed_telemetry() if t["v_m_s"] > 0.19]
        return rig.truth()[0], end["x_m"] - start["x_m"], sum(slips) / len(slips)
    finally:
        rig.drive.close()
        uninstall_world()


def test_slip_grows_with_slope() -> None:
    flat = _straight_run(0.0)
    mid = _straight_run(8.0)
    steep = _straight_run(16.0)
    for true_m, odo_m, _ in (flat, mid, steep):
        assert 0.0 < true_m < odo_m
    assert flat[2] < mid[2] < steep[2]
    assert flat[0] > mid[0] > steep[0]
    # The odometry distance is the same: only the truth suffers.
    assert flat[1] == pytest.approx(steep[1], rel=1e-6)
    # Downhill the rover skids ahead of its wheels.
    down = _straight_run(16.0, uphill=False)
    assert down[0] > down[1]


def test_slip_grows_on_soft_soil() -> None:
    firm = _straight_run(5.0, soil_factor=1.3)
    soft = _straight_run(5.0, soil_factor=0.5)
    assert soft[2] > firm[2]
    assert soft[0] < firm[0]


def test_slip_matches_terramechanics_on_flat_ground(rig: Rig) -> None:
    """The reported slip is the Janosi-Hanamoto root for the Bekker rolling resistance of this soil."""
    weight = rig.world.rover.mass_kg * rig.world.body.gravity_m_s2
    contact = wheel_contact(soil_for("moon"), rig.world.device("drive").geometry, weight / 4)
    rig.drive.ack("wheels", left_m_s=0.2, right_m_s=0.2)
    rig.run(2.0)
    assert rig.drive.snapshot()["slip"] == pytest.approx(contact.slip(contact.rolling_resistance_N), rel=1e-3)


def test_wheel_currents_follow_load() -> None:
    def current(slope_deg: float) -> float:
        rig = make_rig()
        try:
            rig.place(slope_deg=slope_deg)
            rig.drive.ack("wheels", left_m_s=0.2, right_m_s=0.2)
            rig.run(2.0)
            tlm = rig.drive.snapshot()
            assert tlm["current_left_A"] == pytest.approx(tlm["current_right_A"])
            return tlm["current_left_A"]
        finally:
            rig.drive.close()
            uninstall_world()

    flat, steep = current(0.0), current(15.0)
    assert 0.0 < flat < steep < 12.0


# ------------------------------------------------------------------------------ telemetry, dead-man
def test_telemetry_at_the_commanded_rate(rig: Rig) -> None:
    rig.drive.ack("set_telemetry_period", period_ms=100)
    t0 = rig.clock.monotonic()
    rig.run(5.0)
    times = [t for t, _ in rig.drive.timed_telemetry()]
    assert len(times) in (49, 50, 51)
    uptimes = [tlm["uptime_ms"] for _, tlm in rig.drive.timed_telemetry()]
    gaps = [b - a for a, b in itertools.pairwise(uptimes)]
    assert set(gaps) <= {99, 100, 101}  # whole milliseconds of a float clock
    assert sum(gaps) / len(gaps) == pytest.approx(100.0, abs=0.5)
    assert times[0] >= t0


def test_deadman_stops_the_wheels(rig: Rig) -> None:
    rig.drive.ack("set_deadman", timeout_ms=500)
    rig.drive.ack("wheels", left_m_s=0.2, right_m_s=0.2)
    rig.run(1.0)
    assert rig.world.rover.speed_m_s > 0.15
    rig.run(1.5, feed=False)  # the host falls silent
    assert any(e["event"] == EventId.DEADMAN_STOP for e in rig.drive.events())
    assert rig.world.rover.speed_m_s == 0.0
    tlm = rig.drive.snapshot()
    assert tlm["v_m_s"] == 0.0 and tlm["mode"] == 0
    assert tlm["faults"] & DRIVE.fault_bit("deadman")
    x = rig.truth()[0]
    assert rig.drive.nack("wheels", left_m_s=0.1, right_m_s=0.1)[0] == NackCode.DEVICE_FAULT
    rig.drive.ack("clear_fault")
    rig.drive.ack("wheels", left_m_s=0.1, right_m_s=0.1)
    rig.run(1.0)
    assert rig.truth()[0] > x


def test_deadman_ends_a_move(rig: Rig) -> None:
    rig.drive.ack("set_deadman", timeout_ms=300)
    rig.drive.ack("move", distance_m=5.0, speed_m_s=0.2)
    rig.run(1.0)
    rig.run(1.0, feed=False)
    assert rig.drive.all_completions() == [(DRIVE.command("move").id, Completion.DEADMAN)]
    assert rig.drive.snapshot()["x_m"] < 1.0


# ---------------------------------------------------------------------------------------- faults
def test_anchored_rover_cannot_move(rig: Rig) -> None:
    rig.world.rover.anchored = True
    rig.drive.ack("move", distance_m=1.0, speed_m_s=0.2)
    rig.run(2.0)
    assert rig.truth() == (0.0, 0.0, 0.0)
    tlm = rig.drive.snapshot()
    assert tlm["slip"] == 1.0 and tlm["x_m"] > 0.1  # the wheels spin, the rover does not move
    rig.run(3.0)
    assert rig.drive.all_completions() == [(DRIVE.command("move").id, Completion.BLOCKED)]
    tlm = rig.drive.snapshot()
    assert tlm["faults"] & DRIVE.fault_bit("wheel_stall")
    assert tlm["v_m_s"] == 0.0
    assert rig.truth() == (0.0, 0.0, 0.0)


def test_drill_in_the_ground_pins_the_rover(rig: Rig) -> None:
    rig.world.rover.drill_depth_m = 0.3
    rig.drive.ack("wheels", left_m_s=0.2, right_m_s=0.2)
    rig.run(2.0)
    assert rig.truth()[0] == 0.0
    assert rig.drive.snapshot()["slip"] == 1.0


def test_injected_wheel_stall(rig: Rig) -> None:
    rig.world.inject("drive", "wheel_stall", side="left")
    rig.drive.ack("move", distance_m=1.0, speed_m_s=0.2)
    rig.run(0.3)
    tlm = rig.drive.snapshot()
    assert tlm["current_left_A"] == pytest.approx(rig.world.device("drive").motor.current_limit_A)
    rig.run(1.0)
    assert rig.drive.all_completions() == [(DRIVE.command("move").id, Completion.BLOCKED)]
    assert rig.drive.snapshot()["faults"] & DRIVE.fault_bit("wheel_stall")
    assert rig.drive.nack("wheels", left_m_s=0.1, right_m_s=0.1)[0] == NackCode.DEVICE_FAULT
    rig.drive.ack("clear_fault")  # the wheel is still jammed: the fault stays
    assert rig.drive.snapshot()["faults"] & DRIVE.fault_bit("wheel_stall")
    rig.world.inject("drive", "wheel_free")
    rig.drive.ack("clear_fault")
    assert rig.drive.snapshot()["faults"] == 0
    assert any(e["event"] == EventId.FAULT_CLEARED for e in rig.drive.events())


def test_injected_overcurrent(rig: Rig) -> None:
    rig.world.inject("drive", "overcurrent", amps=25.0)
    rig.run(0.5)
    assert rig.drive.snapshot()["faults"] == 0  # a short only shows while the motors are enabled
    rig.drive.ack("move", distance_m=1.0, speed_m_s=0.2)
    rig.run(0.5)
    assert rig.drive.all_completions() == [(DRIVE.command("move").id, Completion.FAULT)]
    fault_events = [e for e in rig.drive.events() if e["event"] == EventId.FAULT_SET]
    assert fault_events[-1]["code"] == DRIVE.faults.index("overcurrent")
    assert fault_events[-1]["value"] > 15.0


def test_bad_fault_parameters_are_named(rig: Rig) -> None:
    with pytest.raises(ValueError, match="side"):
        rig.world.inject("drive", "wheel_stall", side="middle")
    with pytest.raises(ValueError, match="amps"):
        rig.world.inject("drive", "overcurrent", amps=-1.0)


def test_asteroid_wheels_find_no_traction() -> None:
    rig = make_rig(body="asteroid")
    try:
        rig.place()
        start = rig.truth()
        rig.drive.ack("move", distance_m=1.0, speed_m_s=0.1)
        rig.run(5.0)
        assert rig.drive.all_completions() == [(DRIVE.command("move").id, Completion.BLOCKED)]
        moved = math.hypot(rig.truth()[0] - start[0], rig.truth()[1] - start[1])
        assert moved < 1e-3
    finally:
        rig.drive.close()
        uninstall_world()


# ------------------------------------------------------------------------------- robustness
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    garbage=st.binary(max_size=300),
    msg_type=st.integers(0, 255),
    flags=st.integers(0, 255),
    payload=st.binary(max_size=240),
)
def test_garbage_never_crashes_the_drive(rig: Rig, garbage: bytes, msg_type: int, flags: int, payload: bytes) -> None:
    raw = serial.serial_for_url("sim://drive")
    try:
        raw.write(garbage)
    finally:
        raw.close()
    rig.drive.transport.send(msg_type, payload, flags)  # a valid CRC around arbitrary content
    reply = rig.drive.transport.request(MsgType.IDENTIFY)
    assert IDENTIFY_LAYOUT.unpack(reply.payload)["device_type"] == DRIVE.address
    assert rig.world.device("drive").frames_rejected == 0


def _script() -> list[bytes]:
    rig = make_rig(seed=11)
    try:
        rig.drive.ack("set_telemetry_period", period_ms=50)
        rig.drive.ack("move", distance_m=1.5, speed_m_s=0.25)
        rig.run(8.0)
        rig.drive.ack("turn", angle_rad=-1.0, rate_rad_s=0.4)
        rig.run(5.0)
        rig.drive.ack("twist", v_m_s=0.1, omega_rad_s=0.2)
        rig.run(3.0)
        return [repr(t).encode() for t in rig.drive.timed_telemetry()] + [repr(rig.truth()).encode()]
    finally:
        rig.drive.close()
        uninstall_world()


def test_same_seed_same_run() -> None:
    first, second = _script(), _script()
    assert len(first) > 300
    assert first == second
