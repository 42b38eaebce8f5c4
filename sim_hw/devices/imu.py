"""Emulator of the six-axis IMU on the rover body (ICD device ``imu``).

It reads the rover's state each telemetry period and reports what a BMI088-class MEMS IMU would: the
reaction to gravity in the body's tilted axes (the site's slope, level between sites), the body's own
acceleration (uplift from ``rover.body_velocity_m_s``, driving and turning from the drive), drilling
vibration, noise and biases; the gyro sees the drive's yaw rate. Outputs are the average of the sensor's
400 Hz samples over each telemetry period (see :mod:`sim_hw.physics.inertial`).

``calibrate`` (a motion, mode 1) averages the gyro for ``duration_s`` with the rover at rest and removes
that bias afterwards; it ends BLOCKED if the rover turns or drives meanwhile. Fault to inject:
:meth:`ImuFirmware.inject_saturation` (outputs pinned at full scale, fault ``saturated``); sensor symptoms
come from the base class.
"""

from __future__ import annotations

import logging
import math

from hal.icd import IMU, Completion
from hal.protocol import AckResult, NackCode
from sim_hw.errors import Nack
from sim_hw.fault_params import declares, number
from sim_hw.firmware import Firmware
from sim_hw.physics.inertial import (
    DEFAULT_IMU,
    body_axes,
    clip,
    gyro_bias,
    sensor_temperature_K,
    vibration_sigma,
    window_sigma,
)
from sim_hw.terrain import Site
from sim_hw.world_view import WorldView

_LOGGER = logging.getLogger(__name__)

MODE_IDLE, MODE_CALIBRATING = range(2)
#: The rover counts as moving during a calibration above these rates (rad/s, m/s, m/s).
REST_YAW_RATE = 1e-3
REST_SPEED = 1e-3
REST_LIFT_SPEED = 1e-4


class ImuFirmware(Firmware):
    """The IMU: specific force and angular rate of the body, with a gyro-bias calibration."""

    spec = IMU

    def __init__(self, world: WorldView, *, serial_number: int, seed: int = 0) -> None:
        super().__init__(world, serial_number=serial_number, seed=seed)
        d = self.design = DEFAULT_IMU
        gauss = self.rng.gauss
        self.accel_bias = tuple(gauss(0.0, d.accel_bias_sigma) for _ in range(3))
        sigma = d.gyro_bias_sigma
        self.gyro_turn_on_bias = (gauss(0.0, sigma), gauss(0.0, sigma), gauss(0.0, sigma))
        self.gyro_bias_estimate: tuple[float, float, float] = (0.0, 0.0, 0.0)
        rover = world.rover
        self._window_t = world.t
        self._window_lift_v = rover.body_velocity_m_s
        self._window_speed = rover.speed_m_s
        self._vibration_integral = 0.0
        self._cal_end = -math.inf
        self._cal_duration = 0.0
        self._cal_sum = [0.0, 0.0, 0.0]
        self._saturate_until = -math.inf
        self._axes_key: tuple[object, ...] | None = None
        self._axes = body_axes(0.0, 0.0, 0.0)
        self._site_key: tuple[float, float] | None = None
        self._site: Site | None = None

    # ------------------------------------------------------------------------------------ geometry
    def _body_axes(self) -> tuple[tuple[float, float, float], ...]:
        rover = self.world.rover
        position = (rover.x_m, rover.y_m)
        if position != self._site_key:
            self._site_key = position
            self._site = self.world.site
        site = self._site
        key = (id(site), rover.heading_rad)
        if key != self._axes_key:
            self._axes_key = key
            if site is None:
                self._axes = body_axes(0.0, 0.0, rover.heading_rad)
            else:
                self._axes = body_axes(site.slope_rad, site.slope_azimuth_rad, rover.heading_rad)
        return self._axes

    def _temperature_K(self) -> float:
        return sensor_temperature_K(self.world.t - self._boot_t, self.design)

    # ----------------------------------------------------------------------------------- commands
    def cmd_calibrate(self, duration_s: float) -> AckResult:
        """Average the gyro for ``duration_s`` at rest and store the result as its bias."""
        if not self.bus_powered:
            raise Nack(NackCode.BAD_STATE)
        # A running calibration is replaced (it completes STOPPED), as every motion is.
        self._cal_end = self.world.t + duration_s
        self._cal_duration = duration_s
        self._cal_sum = [0.0, 0.0, 0.0]
        return self.begin_motion("calibrate", MODE_CALIBRATING)

    # -------------------------------------------------------------------------------------- physics
    def step(self, dt: float) -> None:
        """Accumulate vibration for the output average and run a calibration in progress."""
        rover = self.world.rover
        self._vibration_integral += rover.vibration_m_s2 * dt
        if self.motion != "calibrate":
            return
        if not self.bus_powered:
            self._end_calibration(Completion.FAULT)
            return
        if (
            abs(rover.yaw_rate_rad_s) > REST_YAW_RATE
            or abs(rover.speed_m_s) > REST_SPEED
            or abs(rover.body_velocity_m_s) > REST_LIFT_SPEED
        ):
            self._end_calibration(Completion.BLOCKED)
            return
        xb, yb, zb = self._body_axes()
        bias = gyro_bias(self.gyro_turn_on_bias, self._temperature_K(), self.design)
        w = rover.yaw_rate_rad_s
        span = min(dt, self._cal_duration)
        s = self._cal_sum
        s[0] += (w * xb[2] + bias[0]) * span
        s[1] += (w * yb[2] + bias[1]) * span
        s[2] += (w * zb[2] + bias[2]) * span
        if self.world.t >= self._cal_end - 1e-9:
            n = window_sigma(self.design.gyro_noise_density, self._cal_duration, self.design.sample_rate_Hz)
            gauss = self.rng.gauss
            duration = self._cal_duration
            x = s[0] / duration + gauss(0.0, n)  # one draw per axis, x then y then z
            y = s[1] / duration + gauss(0.0, n)
            z = s[2] / duration + gauss(0.0, n)
            self.gyro_bias_estimate = (x, y, z)
            _LOGGER.debug("imu: gyro bias estimate %s rad/s", self.gyro_bias_estimate)
            self._end_calibration(Completion.OK)

    def _end_calibration(self, completion: Completion) -> None:
        self._cal_end = -math.inf
        self.end_motion(completion)
        self.set_mode(MODE_IDLE)

    def stop_actuators(self) -> None:
        """An IMU has no actuators; a stop abandons a calibration (the previous estimate stays)."""
        self._cal_end = -math.inf

    def is_actuating(self) -> bool:
        """True while calibrating."""
        return self.motion == "calibrate"

    def power_W(self) -> float:
        """Electrical power drawn now, W."""
        return self.design.power_W if self.bus_powered else 0.0

    def telemetry_values(self) -> dict[str, float]:
        """The average specific force (m/s^2) and rate (rad/s) since the last reading, and the die
        temperature (K). Reading starts the next averaging window."""
        d = self.design
        world = self.world
        rover = world.rover
        t = world.t
        window = t - self._window_t
        window = window if window > 1.0 / d.sample_rate_Hz else 1.0 / d.sample_rate_Hz
        lift_accel = (rover.body_velocity_m_s - self._window_lift_v) / window
        forward_accel = (rover.speed_m_s - self._window_speed) / window
        vibration = self._vibration_integral / window
        self._window_t = t
        self._window_lift_v = rover.body_velocity_m_s
        self._window_speed = rover.speed_m_s
        self._vibration_integral = 0.0
        if not self.bus_powered:
            return {"ax": 0.0, "ay": 0.0, "az": 0.0, "gx": 0.0, "gy": 0.0, "gz": 0.0, "temp_K": 0.0}
        xb, yb, zb = self._body_axes()
        g = world.body.gravity_m_s2 + lift_accel  # reaction to gravity plus the body's vertical acceleration
        lateral_accel = rover.speed_m_s * rover.yaw_rate_rad_s
        gauss = self.rng.gauss
        noise = window_sigma(d.accel_noise_density, window, d.sample_rate_Hz)
        shake = vibration_sigma(vibration, window, d)
        side = shake * d.vibration_lateral_share
        ab = self.accel_bias
        ax = g * xb[2] + forward_accel + ab[0] + gauss(0.0, noise) + (gauss(0.0, side) if side else 0.0)
        ay = g * yb[2] + lateral_accel + ab[1] + gauss(0.0, noise) + (gauss(0.0, side) if side else 0.0)
        az = g * zb[2] + ab[2] + gauss(0.0, noise) + (gauss(0.0, shake) if shake else 0.0)
        temp = self._temperature_K()
        bias = gyro_bias(self.gyro_turn_on_bias, temp, d)
        est = self.gyro_bias_estimate
        w = rover.yaw_rate_rad_s
        rate_noise = window_sigma(d.gyro_noise_density, window, d.sample_rate_Hz)
        gx = w * xb[2] + bias[0] - est[0] + gauss(0.0, rate_noise)
        gy = w * yb[2] + bias[1] - est[1] + gauss(0.0, rate_noise)
        gz = w * zb[2] + bias[2] - est[2] + gauss(0.0, rate_noise)
        saturated = t < self._saturate_until
        if saturated:
            ax, ay, az = (math.copysign(d.accel_range, v) for v in (ax, ay, az))
        else:
            ax, s1 = clip(ax, d.accel_range)
            ay, s2 = clip(ay, d.accel_range)
            az, s3 = clip(az, d.accel_range)
            gx, s4 = clip(gx, d.gyro_range)
            gy, s5 = clip(gy, d.gyro_range)
            gz, s6 = clip(gz, d.gyro_range)
            saturated = s1 or s2 or s3 or s4 or s5 or s6
        if saturated:
            self.raise_fault("saturated", max(abs(ax), abs(ay), abs(az)))
        return {"ax": ax, "ay": ay, "az": az, "gx": gx, "gy": gy, "gz": gz, "temp_K": temp + gauss(0.0, d.temp_sigma_K)}

    def cmd_clear_fault(self) -> None:
        """Clear latched faults; ``saturated`` stays while an injected saturation lasts."""
        if self.world.t < self._saturate_until:
            self.faults &= self._forced_faults | self.spec.fault_bit("saturated")
            return
        super().cmd_clear_fault()

    # ----------------------------------------------------------------------------------- test hooks
    @declares(duration_s=number(0.0, unit="s", above=True, forever=True))
    def inject_saturation(self, duration_s: float = math.inf) -> None:
        """Pin the accelerometer outputs at full scale (as after a shock beyond range) for ``duration_s``;
        each reading in that time raises the ``saturated`` fault."""
        self._saturate_until = self.world.t + duration_s


FIRMWARE = ImuFirmware
