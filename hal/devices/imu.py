"""Driver of the six-axis inertial measurement unit (ICD device ``imu``, address 0x04)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from hal.device import Device
from hal.icd import IMU
from hal.limits import Limit
from hal.motion import Motion
from hal.telemetry import TelemetryBase


@dataclass(frozen=True)
class ImuTelemetry(TelemetryBase):
    """One IMU telemetry snapshot: specific force (m/s^2) and angular rate (rad/s) in the body frame
    (x forward, y left, z up) and the sensor temperature (K)."""

    ax: float
    ay: float
    az: float
    gx: float
    gy: float
    gz: float
    temp_K: float

    @property
    def accel_norm_m_s2(self) -> float:
        """Magnitude of the specific force, m/s^2 (the local gravity when at rest)."""
        return math.sqrt(self.ax * self.ax + self.ay * self.ay + self.az * self.az)

    @property
    def tilt_rad(self) -> float:
        """Angle between the body z axis and the local vertical, rad, from the accelerometer (valid at
        rest, when the specific force is the reaction to gravity). NaN when no force is measured."""
        if self.accel_norm_m_s2 == 0:
            return math.nan
        return math.atan2(math.hypot(self.ax, self.ay), self.az)

    @property
    def roll_rad(self) -> float:
        """Roll about x, rad, from the accelerometer (positive: left side up)."""
        return math.atan2(self.ay, self.az)

    @property
    def pitch_rad(self) -> float:
        """Pitch about y, rad, from the accelerometer (positive: nose down, as the y axis points left)."""
        return math.atan2(-self.ax, math.hypot(self.ay, self.az))


class Imu(Device[ImuTelemetry]):
    """The IMU: streams body accelerations and rates; calibrates its gyro bias at rest."""

    spec = IMU
    telemetry_class = ImuTelemetry
    LIMITS = (
        Limit("max_tilt_rad", "rad", "steepest safe tilt (flight stops motion above it)", telemetry="tilt_rad"),
        Limit("max_calibration_s", "s", "longest gyro calibration", args=(("calibrate", "duration_s"),)),
    )

    def calibrate(self, duration_s: float) -> Motion:
        """Average the gyro for ``duration_s`` seconds at rest and store it as the bias."""
        return self.start("calibrate", duration_s=duration_s)
