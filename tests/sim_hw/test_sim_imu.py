"""The IMU emulator over real bytes on sim:// with a virtual clock: ICD behaviour, gravity on a tilted
site, driving and turning, the gyro-bias calibration, saturation, dead-man, determinism and garbage."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import pytest
import serial
from hypothesis import given, settings

from base.clock import VirtualClock
from hal.icd import IMU, Completion, EventId
from hal.protocol import AckResult, NackCode
from sim_hw.devices.imu import MODE_CALIBRATING, ImuFirmware
from sim_hw.physics.inertial import DEFAULT_IMU
from sim_hw.registry import install_world, uninstall_world
from sim_hw.terrain import Layer, Site
from sim_hw.world import SimWorld
from tests.support.sim_link import SimLink, junk, mean, nack_of, run, survives

COLUMN = (Layer(0.0, 3.0, 1600.0, 5.0, 0.0, 100.0),)


@pytest.fixture
def make_world() -> Iterator[Callable[..., SimWorld]]:
    """Build and install a world whose only site is at the origin, with the given slope."""

    def make(slope_deg: float = 0.0, uphill_deg: float = 0.0, seed: int = 4, body: str = "moon") -> SimWorld:
        world = SimWorld(VirtualClock(), seed=seed, devices=("imu",), body=body)
        world.sites = [Site(0, 0.0, 0.0, math.radians(slope_deg), math.radians(uphill_deg), COLUMN)]
        world.rover.x_m = world.rover.y_m = 0.0
        return install_world(world)

    yield make
    uninstall_world()


@pytest.fixture
def link(make_world: Callable[..., SimWorld]) -> Iterator[SimLink]:
    """A line to the IMU on level ground, streaming at 10 Hz."""
    link = SimLink(make_world(), "imu")
    link.ack("set_telemetry_period", period_ms=100)
    yield link
    link.close()


def firmware(link: SimLink) -> ImuFirmware:
    device = link.world.device("imu")
    assert isinstance(device, ImuFirmware)
    return device


def averages(link: SimLink, seconds: float) -> dict[str, float]:
    """Mean of every IMU channel over ``seconds`` of streamed telemetry."""
    link.clear()
    run([link], seconds, slice_s=0.5)
    samples = link.telemetry()
    return {k: mean(s[k] for s in samples) for k in ("ax", "ay", "az", "gx", "gy", "gz", "temp_K")}


# ------------------------------------------------------------------------------------------ ICD rules
@pytest.mark.parametrize("duration", [0.1, 31.0, math.nan, -1.0])
def test_out_of_range_calibration_time_is_nacked(link: SimLink, duration: float) -> None:
    assert link.nack("calibrate", duration_s=duration) == (NackCode.OUT_OF_RANGE, 1)


def test_unknown_command_bad_length_replacement_and_unpowered(link: SimLink) -> None:
    assert nack_of(link.raw(bytes([0x11])))[0] == NackCode.UNKNOWN_COMMAND
    assert nack_of(link.raw(bytes([0x10, 1, 2])))[0] == NackCode.BAD_LENGTH
    assert link.ack("calibrate", duration_s=2.0) == AckResult.STARTED
    # A new motion replaces a running one: the first completes STOPPED, the second runs to the end.
    assert link.ack("calibrate", duration_s=2.0) == AckResult.STARTED
    run([link], 3.0)
    assert link.completions("calibrate") == [Completion.STOPPED, Completion.OK]
    link.world.rover.bus_on["imu"] = False
    assert link.nack("calibrate", duration_s=2.0) == (NackCode.BAD_STATE, 0)
    assert link.snapshot()["az"] == 0.0


def test_telemetry_streams_at_the_commanded_period(link: SimLink) -> None:
    link.ack("set_telemetry_period", period_ms=20)
    link.clear()
    run([link], 3.0, slice_s=0.5)
    assert abs(len(link.telemetry()) - 150) <= 1


# ------------------------------------------------------------------------------------------- physics
def test_at_rest_on_level_ground_it_reads_the_bodys_gravity(link: SimLink) -> None:
    avg = averages(link, 10.0)
    bias = firmware(link).accel_bias
    assert avg["az"] - bias[2] == pytest.approx(1.62, abs=0.005)
    assert avg["ax"] - bias[0] == pytest.approx(0.0, abs=0.005)
    assert avg["ay"] - bias[1] == pytest.approx(0.0, abs=0.005)
    assert 290.0 < avg["temp_K"] < 310.0


@pytest.mark.parametrize(("uphill_deg", "heading_deg"), [(0.0, 0.0), (90.0, 0.0), (30.0, 210.0)])
def test_at_rest_on_a_slope_gravity_appears_along_the_tilt(
    make_world: Callable[..., SimWorld], uphill_deg: float, heading_deg: float
) -> None:
    slope = math.radians(12.0)
    world = make_world(slope_deg=12.0, uphill_deg=uphill_deg)
    world.rover.heading_rad = math.radians(heading_deg)
    link = SimLink(world, "imu")
    link.ack("set_telemetry_period", period_ms=100)
    avg = averages(link, 10.0)
    bias = firmware(link).accel_bias
    rel = math.radians(uphill_deg - heading_deg)  # uphill direction seen from the rover's nose
    g = 1.62
    assert avg["az"] - bias[2] == pytest.approx(g * math.cos(slope), abs=0.006)
    # nose pointing uphill reads +g sin(slope) on x; uphill on the left reads +g sin(slope) on y
    assert avg["ax"] - bias[0] == pytest.approx(g * math.sin(slope) * math.cos(rel), abs=0.006)
    assert avg["ay"] - bias[1] == pytest.approx(g * math.sin(slope) * math.sin(rel), abs=0.006)
    link.close()


def test_driving_and_turning_show_on_the_accelerometers_and_gyro(link: SimLink) -> None:
    rover = link.world.rover
    baseline = averages(link, 3.0)
    link.clear()
    rover.speed_m_s = 0.2  # the drive accelerates to 0.2 m/s within one telemetry period
    run([link], 0.1, slice_s=0.1)
    kick = link.telemetry()[-1]["ax"] - baseline["ax"]
    assert kick == pytest.approx(2.0, rel=0.1)  # 0.2 m/s in 0.1 s
    rover.yaw_rate_rad_s = 0.3
    turning = averages(link, 3.0)
    assert turning["gz"] - baseline["gz"] == pytest.approx(0.3, abs=0.002)
    assert turning["ay"] - baseline["ay"] == pytest.approx(0.2 * 0.3, abs=0.01)  # centripetal


def test_drilling_vibration_raises_the_accelerometer_noise(link: SimLink) -> None:
    quiet = link.telemetry
    link.clear()
    run([link], 5.0)
    spread_quiet = _spread([s["az"] for s in quiet()])
    link.world.rover.vibration_m_s2 = 0.3
    link.clear()
    run([link], 5.0)
    spread_shaking = _spread([s["az"] for s in quiet()])
    assert spread_shaking > 5.0 * spread_quiet


def _spread(values: list[float]) -> float:
    m = mean(values)
    return math.sqrt(mean((v - m) ** 2 for v in values))


# ------------------------------------------------------------------------------------------ calibration
def test_calibration_removes_most_of_the_gyro_bias(make_world: Callable[..., SimWorld]) -> None:
    link = SimLink(make_world(seed=9), "imu")
    link.ack("set_telemetry_period", period_ms=100)
    before = averages(link, 10.0)
    before_bias = math.sqrt(sum(before[k] ** 2 for k in ("gx", "gy", "gz")))
    assert before_bias > 3e-3  # a turn-on bias of a fraction of a degree per second
    link.ack("calibrate", duration_s=5.0)
    run([link], 1.0)
    assert link.telemetry()[-1]["mode"] == MODE_CALIBRATING
    run([link], 5.0)
    assert link.completions("calibrate") == [Completion.OK]
    after = averages(link, 10.0)
    after_bias = math.sqrt(sum(after[k] ** 2 for k in ("gx", "gy", "gz")))
    assert after_bias < before_bias / 10.0
    link.close()


def test_calibration_is_blocked_when_the_rover_turns(link: SimLink) -> None:
    link.ack("calibrate", duration_s=5.0)
    run([link], 1.0)
    link.world.rover.yaw_rate_rad_s = 0.1
    run([link], 1.0)
    assert link.completions("calibrate") == [Completion.BLOCKED]
    assert firmware(link).gyro_bias_estimate == (0.0, 0.0, 0.0)


def test_dead_man_abandons_a_calibration_when_the_host_falls_silent(link: SimLink) -> None:
    link.ack("set_deadman", timeout_ms=200)
    link.ack("calibrate", duration_s=10.0)
    run([link], 0.5)
    run([link], 1.0, keepalive=False)
    assert [e for e in link.events() if e["event"] == EventId.DEADMAN_STOP]
    assert link.completions("calibrate") == [Completion.DEADMAN]
    assert link.snapshot()["mode"] == 0


# ---------------------------------------------------------------------------------------------- faults
def test_injected_saturation_pins_the_outputs_and_raises_the_fault(link: SimLink) -> None:
    link.world.inject("imu", "saturation", duration_s=1.0)
    run([link], 0.5)
    last = link.telemetry()[-1]
    full_scale = DEFAULT_IMU.accel_range
    assert [abs(last[k]) for k in ("ax", "ay", "az")] == pytest.approx([full_scale] * 3, rel=1e-6)
    assert "saturated" in link.fault_names(last)
    link.ack("clear_fault")
    assert "saturated" in link.fault_names(link.snapshot())  # still pinned
    run([link], 1.0)
    link.ack("clear_fault")
    snap = link.snapshot()
    assert snap["faults"] == 0 and abs(snap["az"]) < 2.0


@pytest.mark.parametrize("kind", ["dropout", "stuck", "nan", "noise"])
def test_sensor_faults_from_the_base_show_in_telemetry(link: SimLink, kind: str) -> None:
    run([link], 1.0)
    link.world.inject("imu", kind, field="gz", duration_s=2.0, sigma=1.0)
    link.clear()
    run([link], 1.5)
    seen = [s["gz"] for s in link.telemetry()]
    if kind == "dropout":
        assert set(seen) == {0.0}
    elif kind == "stuck":
        assert len(set(seen)) == 1
    elif kind == "nan":
        assert all(math.isnan(v) for v in seen)
    else:
        assert _spread(seen) > 0.3
    run([link], 1.0)
    assert abs(link.snapshot()["gz"]) < 0.1


# ----------------------------------------------------------------------------------- determinism, garbage
def _session(seed: int) -> list[tuple[int, int, bytes]]:
    world = SimWorld(VirtualClock(), seed=seed, devices=("imu",))
    install_world(world)
    link = SimLink(world, "imu")
    link.ack("set_telemetry_period", period_ms=50)
    link.ack("calibrate", duration_s=2.0)
    run([link], 4.0, slice_s=0.5)
    world.rover.speed_m_s, world.rover.yaw_rate_rad_s = 0.1, 0.2
    run([link], 4.0, slice_s=0.5)
    link.close()
    uninstall_world()
    return [(f.msg_type, f.seq, f.payload) for f in link.frames]


def test_same_seed_gives_identical_telemetry_bytes() -> None:
    first, second, other = _session(31), _session(31), _session(32)
    assert len(first) > 150
    assert first == second
    assert first != other


def test_garbage_never_crashes_the_imu(make_world: Callable[..., SimWorld]) -> None:
    make_world()
    port = serial.serial_for_url("sim://imu", timeout=0)

    @settings(max_examples=2000, deadline=None)
    @given(data=junk("imu"))
    def check(data: bytes) -> None:
        assert survives(port, IMU.address, data)

    check()
    port.close()
