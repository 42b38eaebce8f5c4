"""The gyro's yaw bias, measured while the rover rests.

The IMU's own calibration (``imu.calibrate``, at most 30 s of averaging) leaves a bias of about
``noise_density / sqrt(2 T)``: 8e-5 rad/s after 5 s for a BMI088-class gyro (0.014 deg/s/sqrt(Hz)). Over a
400 s drive that is 2 degrees of heading, and over a campaign's many drives between the icy site and the
charging ridge the heading error walks, carrying the rover metres beside the hole it means to drill. Yet
the rover rests for hours between drives (anchored, drilling, heating, charging), and a gyro at rest
reads nothing but its bias: averaged over those hours the residual bias is known to 3e-6 rad/s (the
zero-velocity update of strapdown navigation; Groves 2013, *Principles of GNSS, Inertial, and Multisensor
Integrated Navigation Systems*, 2nd ed., section 15.3). The bias moves with the die temperature (the
IMU's ``temp_K``: 2.6e-4 rad/s per K for this class of part), so the estimate is used only while the die
temperature held still over the rest measured (a warming IMU, as in the hour after power-up, is
calibrated by the IMU itself before each drive instead) and the present temperature is the one measured.

Samples are the IMU's window averages, weighted by their windows (the device's uptime between them);
any motion of the drive, and a little while after it, is not rest.
"""

from __future__ import annotations

import math
from collections.abc import Callable

#: After the drive last moved, this long (s) before the gyro counts as resting (the body settles).
SETTLE_S = 5.0
#: Rest (s of IMU windows) the estimate needs before it replaces the IMU's own calibration.
MIN_REST_S = 300.0
#: The die temperature held still over the rest measured: its spread (K, standard deviation) is under
#: this (the sensor's own noise is 0.05 K) ...
FLAT_SPREAD_K = 0.1
#: ... and the present temperature (smoothed) is within this of its mean, K (1.3e-5 rad/s of bias).
TEMPERATURE_MATCH_K = 0.05
#: Smoothing time constant of the present temperature, s.
TEMPERATURE_SMOOTHING_S = 20.0
#: An IMU window longer than this (s) is a gap in the stream, not a sample (the quiet streaming period is
#: at most 10 s).
MAX_WINDOW_S = 30.0


class RestingGyro:
    """Accumulates the yaw rate the IMU reports while the rover rests (:meth:`tick`, every mission tick)
    and gives the residual bias (:meth:`bias`). ``read(channel)`` is the latest telemetry
    value, ``uptime()`` the IMU's uptime of its latest snapshot (s; None before the first), ``now()`` the
    clock (s)."""

    def __init__(
        self, read: Callable[[str], float], uptime: Callable[[], float | None], now: Callable[[], float]
    ) -> None:
        self._read = read
        self._uptime = uptime
        self._now = now
        self._last_uptime: float | None = None
        self._moved_t = -math.inf
        self._temp_now = math.nan  # the die temperature, smoothed, K
        self.reset()

    def reset(self) -> None:
        """Forget every sample (the IMU's own bias estimate changed: a calibration)."""
        self._w = self._wt = self._wtt = self._wg = 0.0

    @property
    def rest_s(self) -> float:
        """Seconds of rest measured since the last :meth:`reset`."""
        return self._w

    def tick(self) -> None:
        """Take the IMU's newest window if it is new and the rover rests."""
        now = self._now()
        if self._read("drive.v_m_s") != 0.0 or self._read("drive.omega_rad_s") != 0.0:
            self._moved_t = now
        uptime = self._uptime()
        if uptime is None or uptime == self._last_uptime:
            return
        window = uptime - self._last_uptime if self._last_uptime is not None else math.inf
        self._last_uptime = uptime
        rate, temp = self._read("imu.gz"), self._read("imu.temp_K")
        if not 0.0 < window <= MAX_WINDOW_S or not (math.isfinite(rate) and math.isfinite(temp)):
            return
        share = min(window / TEMPERATURE_SMOOTHING_S, 1.0)
        self._temp_now = temp if math.isnan(self._temp_now) else self._temp_now + share * (temp - self._temp_now)
        if now - self._moved_t < SETTLE_S:
            return
        self._w += window
        self._wt += window * temp
        self._wtt += window * temp * temp
        self._wg += window * rate

    def moving(self) -> None:
        """Say that the rover is being moved now (a drive under way)."""
        self._moved_t = self._now()

    def bias(self) -> float | None:
        """The residual yaw bias now (rad/s), or None: under ``MIN_REST_S`` of rest measured, a die
        temperature that moved over it (spread over ``FLAT_SPREAD_K``), or a present temperature more
        than ``TEMPERATURE_MATCH_K`` from it."""
        if self._w < MIN_REST_S:
            return None
        mean_t = self._wt / self._w
        spread = math.sqrt(max(self._wtt / self._w - mean_t * mean_t, 0.0))
        if spread > FLAT_SPREAD_K or not abs(self._temp_now - mean_t) <= TEMPERATURE_MATCH_K:
            return None
        return self._wg / self._w
