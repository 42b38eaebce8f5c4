"""The gyro's yaw bias measured at rest, and the compact hole grid: the estimator against synthetic IMU
streams with a known bias, noise and temperature coefficient (the sim IMU's BMI088-class figures), and the
grid's order and distances."""

from __future__ import annotations

import math
import random

import pytest

from flight.mission.hole_pattern import hole_offset_m
from flight.mission.resting_gyro import MIN_REST_S, SETTLE_S, RestingGyro

DEG = math.pi / 180.0
NOISE_DENSITY = 0.014 * DEG  # rad/s/sqrt(Hz)
TEMPCO = 0.015 * DEG  # rad/s per K
WINDOW_S = 0.2  # the IMU's telemetry period: each sample is the average over it


class Stream:
    """A resting (or driving) rover's IMU and drive telemetry, one window per :meth:`step`."""

    def __init__(self, bias: float, seed: int = 1) -> None:
        self.bias = bias
        self.rng = random.Random(seed)
        self.t = 0.0
        self.temp = 300.0
        self.speed = 0.0
        self.values: dict[str, float] = {}
        self.gyro = RestingGyro(self.values.__getitem__, lambda: self.t if self.t > 0 else None, lambda: self.t)

    def step(self, yaw_rate: float = 0.0) -> None:
        self.t += WINDOW_S
        sigma = NOISE_DENSITY / math.sqrt(2 * WINDOW_S)
        rate = yaw_rate + self.bias + TEMPCO * (self.temp - 300.0) + self.rng.gauss(0.0, sigma)
        self.values.update(
            {
                "imu.gz": rate,
                "imu.temp_K": self.temp + self.rng.gauss(0.0, 0.05),
                "drive.v_m_s": self.speed,
                "drive.omega_rad_s": 0.0,
            }
        )
        self.gyro.tick()

    def rest(self, seconds: float) -> None:
        for _ in range(round(seconds / WINDOW_S)):
            self.step()


def test_an_hour_at_rest_gives_the_bias_to_a_few_micro_radians_per_second() -> None:
    stream = Stream(bias=8e-5)
    stream.rest(3600.0)
    # the expected error is noise_density / sqrt(2 T) = 2.9e-6 rad/s; 5 sigma
    assert stream.gyro.bias() == pytest.approx(8e-5, abs=1.5e-5)
    assert stream.gyro.rest_s == pytest.approx(3600.0, rel=0.01)


def test_too_little_rest_or_a_temperature_outside_the_span_gives_no_estimate() -> None:
    stream = Stream(bias=8e-5)
    stream.rest(MIN_REST_S - 10.0)
    assert stream.gyro.bias() is None
    stream.rest(20.0)
    assert stream.gyro.bias() is not None
    stream.temp = 300.5  # half a degree warmer: 1.3e-4 rad/s of bias not measured
    stream.rest(60.0)
    assert stream.gyro.bias() is None


def test_a_die_temperature_that_moved_over_the_rest_gives_no_estimate() -> None:
    stream = Stream(bias=-5e-5, seed=3)
    for step in range(20):  # an IMU warming up by a degree over the rest
        stream.temp = 300.0 + step / 20.0
        stream.rest(60.0)
    assert stream.gyro.rest_s > MIN_REST_S
    assert stream.gyro.bias() is None


def test_driving_and_the_settling_after_it_are_not_rest() -> None:
    stream = Stream(bias=0.0)
    stream.rest(600.0)
    before = stream.gyro.rest_s
    stream.speed = 0.1
    for _ in range(500):  # a 100 s drive turning at 0.2 rad/s: not a bias
        stream.step(yaw_rate=0.2)
    stream.speed = 0.0
    stream.rest(SETTLE_S - 1.0)
    assert stream.gyro.rest_s == pytest.approx(before)
    stream.rest(600.0)  # the first second of it still settling
    rested = stream.gyro.rest_s
    assert rested == pytest.approx(before + 600.0 - 1.0, abs=2 * WINDOW_S)
    assert stream.gyro.bias() == pytest.approx(0.0, abs=2e-5)
    # the navigator says so while it commands a motion the telemetry does not show yet
    stream.gyro.moving()
    stream.rest(1.0)
    assert stream.gyro.rest_s == rested


def test_a_calibration_starts_the_measurement_again() -> None:
    stream = Stream(bias=8e-5)
    stream.rest(600.0)
    stream.gyro.reset()
    assert stream.gyro.rest_s == 0.0 and stream.gyro.bias() is None


def test_the_hole_grid_starts_at_the_probed_position_and_stays_compact() -> None:
    spacing = 1.2
    holes = [hole_offset_m(i, spacing) for i in range(20)]
    assert holes[0] == (0.0, 0.0)
    assert holes[1:5] == [(1.2, 0.0), (0.0, 1.2), (-1.2, 0.0), (0.0, -1.2)]
    assert len(set(holes)) == 20  # never the same hole twice
    distances = [math.hypot(*h) for h in holes]
    assert distances == sorted(distances)
    assert max(distances[:5]) == pytest.approx(spacing)
    assert max(distances[:9]) == pytest.approx(spacing * math.sqrt(2))
    with pytest.raises(ValueError, match=r"hole index 81 outside 0\.\.80"):
        hole_offset_m(81, spacing)
