"""Driving skill: dead-reckoned pose estimate and slip-corrected drives to a point in the odometry frame; in
microgravity, hops instead (:mod:`flight.mission.hopping`)."""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

from flight.mission.context import MissionContext, MissionFailure
from flight.mission.hop_readiness import HopperWatch
from flight.mission.hopping import hop_to, hopping
from flight.mission.motion import motion
from hal.icd import Completion

#: Odometry step allowed beyond what the speed explains, m (one telemetry sample's quantisation and jitter).
ODOMETRY_SLACK_M = 0.05


class Navigator:
    """Drives the rover to points, aiming each leg from a pose estimate kept in the mission's progress."""

    def __init__(self, ctx: MissionContext, watch: HopperWatch | None = None) -> None:
        self._ctx = ctx
        #: The hopper's fitness, checked before each hop (the mission's own watch; a fresh one if none).
        self.watch = watch if watch is not None else HopperWatch(ctx)
        #: (clock time s, odometry (x m, y m)) of the last pose update; None before a drive's first one.
        self._last_odometry: tuple[float, tuple[float, float]] | None = None  # the last good sample
        self._heading_t: float | None = None  # when the heading was last integrated

    def drive_to(self, x: float, y: float) -> Generator[None, None, None]:
        """Drive to (``x``, ``y``) m in legs, each aimed from the pose estimate (:meth:`_track_pose`), until
        within ``arrive_tolerance_m``."""
        ctx = self._ctx
        cfg = ctx.config
        if hopping(ctx):  # microgravity: no traction for wheels
            yield from hop_to(ctx, x, y, 2 * cfg.approach_legs, self.watch)
            return
        self.pose()
        pose = self.pose()
        if math.hypot(x - pose[0], y - pose[1]) < cfg.arrive_tolerance_m:
            return
        if "imu" in ctx.io.rig:  # at rest: measure the gyro's bias, which dead reckoning integrates
            yield from motion(ctx, "imu", "calibrate", duration_s=cfg.gyro_calibration_s)
        longest = 1.5 * math.hypot(x - pose[0], y - pose[1]) + 1.0  # no leg longer: a bad estimate is bounded
        for _ in range(cfg.approach_legs):
            pose = self.pose()
            dx, dy = x - pose[0], y - pose[1]
            distance = min(math.hypot(dx, dy), longest)
            if distance < cfg.arrive_tolerance_m:
                return
            turn = math.remainder(math.atan2(dy, dx) - pose[2], math.tau)
            if abs(turn) > 0.02:
                yield from self._tracked("turn", angle_rad=turn, rate_rad_s=0.2)
                pose = self.pose()
                dx, dy = x - pose[0], y - pose[1]
                distance = min(math.hypot(dx, dy), longest)
            yield from self._tracked("move", distance_m=min(distance, 100.0), speed_m_s=cfg.drive_speed_m_s)
        pose = self.pose()
        miss = math.hypot(x - pose[0], y - pose[1])
        if miss >= cfg.arrive_tolerance_m:
            ctx.events.warning("mission", "approach", f"{miss:.2f} m short of ({x:.1f}, {y:.1f}) m after the legs")

    def pose(self) -> list[float]:
        """The rover's estimated pose [x m, y m, heading rad] in the odometry frame; it starts from odometry
        (exact at boot)."""
        pose = self._ctx.progress.pose
        if len(pose) != 3:
            pose[:] = [*self._odometry(), self._ctx.get("drive.heading_rad")]
        return pose

    def _odometry(self) -> tuple[float, float]:
        return self._ctx.get("drive.x_m"), self._ctx.get("drive.y_m")

    def _track_pose(self) -> None:
        """Advance the pose estimate by one tick: heading by the IMU's yaw rate (the gyro sees the turn the
        wheels mis-measure on slopes and soft soil), position by the odometry step times (1 - measured
        slip) along that heading (wheel odometry counts the rims' travel; the slip estimate, visual odometry
        on a real rover, says how much of it the body made good)."""
        ctx = self._ctx
        pose = self.pose()
        now_t = ctx.now()
        odo = self._odometry()
        last_t, last = self._last_odometry if self._last_odometry is not None else (now_t, odo)
        heading_t = self._heading_t if self._heading_t is not None else last_t
        self._heading_t = now_t
        pose[2] = math.remainder(pose[2] + float(ctx.get("imu.gz")) * max(0.0, now_t - heading_t), math.tau)
        step = math.hypot(odo[0] - last[0], odo[1] - last[1])
        # A step the wheels cannot have made (twice the faster of the commanded and measured speeds since the
        # last good sample) is a bad odometry sample (noise, a corrupted reading): not integrated.
        speed = max(abs(float(ctx.get("drive.v_m_s"))), ctx.config.drive_speed_m_s)
        if not math.isfinite(step) or step > 2.0 * speed * max(0.0, now_t - last_t) + ODOMETRY_SLACK_M:
            return
        self._last_odometry = (now_t, odo)
        if step <= 0.0:
            return
        slip = min(max(float(ctx.get("drive.slip")), 0.0), 1.0)
        forward = 1.0 if float(ctx.get("drive.v_m_s")) >= 0.0 else -1.0
        pose[0] += forward * step * (1.0 - slip) * math.cos(pose[2])
        pose[1] += forward * step * (1.0 - slip) * math.sin(pose[2])

    def _tracked(self, name: str, **args: Any) -> Generator[None, None, None]:
        """A drive motion with the pose estimate tracked on every tick, and for a moment after it ends."""
        self._last_odometry = None
        self._heading_t = None
        self._track_pose()
        completion = yield from motion(self._ctx, "drive", name, on_tick=self._track_pose, **args)
        settle = self._ctx.now() + 0.5
        while self._ctx.now() < settle:  # the last odometry, slip and gyro samples of the motion
            yield
            self._track_pose()
        if completion != Completion.OK:
            raise MissionFailure(f"drive.{name} ended {completion.name}")
