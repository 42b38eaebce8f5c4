"""What a strapdown MEMS IMU on the rover body measures: specific force and angular rate, with errors.

Body axes: x forward, y left, z up. At rest on level ground the accelerometers read +g on z (specific
force is the reaction to gravity). On a slope the body's axes follow the ground: the ground's normal is
tilted by the slope towards downhill, and x is the rover's heading projected onto the ground plane. The
body's own acceleration (uplift, driving, turning) adds to the reaction; drilling vibration adds band-
limited noise. The firmware reports the boxcar average of its high-rate samples over each telemetry
period, so a short acceleration pulse keeps its integral (its velocity change) in the output.

Sensor errors follow a BMI088-class MEMS IMU: white noise density, a constant turn-on bias per axis, and a
gyro bias that drifts with temperature. Values and sources: ``docs/sim/mechanics.md``, "IMU".
SI units: m/s^2, rad/s, K, s.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

_LOGGER = logging.getLogger(__name__)

G0 = 9.80665
DEG = math.pi / 180.0


@dataclass(frozen=True)
class ImuDesign:
    """Sensor parameters (SI). BMI088 datasheet-class values; see ``docs/sim/mechanics.md``."""

    accel_noise_density: float = 175e-6 * G0  # m/s^2/sqrt(Hz)
    gyro_noise_density: float = 0.014 * DEG  # rad/s/sqrt(Hz)
    accel_bias_sigma: float = 20e-3 * G0 / 3.0  # m/s^2 (zero-g offset +/-20 mg taken as 3 sigma)
    gyro_bias_sigma: float = 1.0 * DEG / 3.0  # rad/s (zero-rate offset +/-1 deg/s taken as 3 sigma)
    gyro_bias_tempco: float = 0.015 * DEG  # rad/s per K (assumption)
    accel_range: float = 6.0 * G0  # configured full scale, m/s^2
    gyro_range: float = 500.0 * DEG  # configured full scale, rad/s
    sample_rate_Hz: float = 400.0
    vibration_bandwidth_Hz: float = 100.0
    vibration_lateral_share: float = 0.3
    temp_sigma_K: float = 0.05
    warm_K: float = 298.0
    self_heating_K: float = 4.0
    warm_up_s: float = 600.0
    power_W: float = 0.5


DEFAULT_IMU = ImuDesign()


Vector = tuple[float, float, float]


def body_axes(slope_rad: float, uphill_azimuth_rad: float, heading_rad: float) -> tuple[Vector, Vector, Vector]:
    """World-frame unit vectors (x_b, y_b, z_b) of the body on ground rising at ``slope_rad`` towards
    ``uphill_azimuth_rad`` (counter-clockwise from world +x), with the rover heading ``heading_rad``."""
    s, c = math.sin(slope_rad), math.cos(slope_rad)
    nz = (-s * math.cos(uphill_azimuth_rad), -s * math.sin(uphill_azimuth_rad), c)
    hx, hy = math.cos(heading_rad), math.sin(heading_rad)
    dot = hx * nz[0] + hy * nz[1]
    x = (hx - dot * nz[0], hy - dot * nz[1], -dot * nz[2])
    norm = math.sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2])
    xb = (x[0] / norm, x[1] / norm, x[2] / norm)
    yb = (nz[1] * xb[2] - nz[2] * xb[1], nz[2] * xb[0] - nz[0] * xb[2], nz[0] * xb[1] - nz[1] * xb[0])
    return xb, yb, nz


def gravity_reaction(
    gravity_m_s2: float, slope_rad: float, uphill_azimuth_rad: float, heading_rad: float
) -> tuple[float, float, float]:
    """Specific force (m/s^2, body axes) of a body at rest on the slope: the world's upward ``g`` seen in
    the body's axes."""
    xb, yb, zb = body_axes(slope_rad, uphill_azimuth_rad, heading_rad)
    return gravity_m_s2 * xb[2], gravity_m_s2 * yb[2], gravity_m_s2 * zb[2]


def window_sigma(noise_density: float, window_s: float, sample_rate_Hz: float) -> float:
    """Standard deviation of the average of white noise (density ``noise_density`` per sqrt(Hz)) over a
    window of ``window_s`` seconds: density / sqrt(2 T), with T no shorter than one sample."""
    t = window_s if window_s > 1.0 / sample_rate_Hz else 1.0 / sample_rate_Hz
    return noise_density / math.sqrt(2.0 * t)


def vibration_sigma(vibration_rms: float, window_s: float, design: ImuDesign = DEFAULT_IMU) -> float:
    """Standard deviation of band-limited vibration (RMS ``vibration_rms``, bandwidth B) averaged over
    ``window_s``: rms / sqrt(2 B T), never more than the RMS itself."""
    bt = 2.0 * design.vibration_bandwidth_Hz * window_s
    return vibration_rms / math.sqrt(bt) if bt > 1.0 else vibration_rms


def sensor_temperature_K(time_on_s: float, design: ImuDesign = DEFAULT_IMU) -> float:
    """Die temperature (K) ``time_on_s`` after power-up inside the rover's warm avionics box: the box
    temperature plus self-heating approaching its final value exponentially."""
    return design.warm_K + design.self_heating_K * (1.0 - math.exp(-max(0.0, time_on_s) / design.warm_up_s))


def gyro_bias(turn_on: tuple[float, float, float], temp_K: float, design: ImuDesign = DEFAULT_IMU) -> tuple[float, ...]:
    """Gyro bias per axis (rad/s) at ``temp_K``: turn-on bias plus the temperature coefficient times the
    temperature's distance from 298 K."""
    drift = design.gyro_bias_tempco * (temp_K - 298.0)
    return tuple(b + drift for b in turn_on)


def clip(value: float, full_scale: float) -> tuple[float, bool]:
    """(value limited to +/- full_scale, True if it was limited)."""
    if value > full_scale:
        return full_scale, True
    if value < -full_scale:
        return -full_scale, True
    return value, False
