"""Driving skill: dead-reckoned pose estimate and slip-corrected drives to a point in the odometry frame; in
microgravity, hops instead (:mod:`flight.mission.hopping`)."""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

from flight.mission.context import MissionContext, MissionFailure
from flight.mission.hole_pattern import hole_offset_m
from flight.mission.hop_readiness import HopperWatch
from flight.mission.hopping import hop, hop_speed, hop_to, hopping, position
from flight.mission.motion import motion
from hal.icd import Completion

#: The tilt correction of the yaw rate stops at 60 degrees of tilt (a reading beyond is not a rover on
#: its wheels).
MIN_COS_TILT = 0.5
#: After a drive motion the pose is tracked for at least SETTLE_MIN_S (s), then until the yaw rate is under
#: STILL_RAD_S (rad/s; ten times the gyro's calibrated noise over a sample), at most SETTLE_MAX_S (s).
SETTLE_MIN_S = 0.5
SETTLE_MAX_S = 3.0
STILL_RAD_S = 0.003
#: Odometry step allowed beyond what the speed explains, m (one telemetry sample's quantisation and jitter).
ODOMETRY_SLACK_M = 0.05
#: Share of a drive motion's odometry samples rejected above which the odometer is reported suspect.
SUSPECT_SHARE = 0.2
#: Weight of each sample in the running share of bad odometry samples; above DISTRUST_SHARE of them bad, every
#: sample is dead-reckoned from the wheel speed (a noisy reading still passes the gate now and then).
BAD_SHARE_WEIGHT = 0.1
DISTRUST_SHARE = 0.5
#: Moves aside tried before a fresh hole is drilled wherever the rover stands (a hop may land back near the bore).
STEP_ASIDE_TRIES = 3


def position_estimate(ctx: MissionContext) -> list[float]:
    """Where the rover believes it stands, [x m, y m]: the hopper's estimate where it hops, else the dead-reckoned
    pose (empty before the pose exists)."""
    return list(position(ctx)) if hopping(ctx) else list(ctx.progress.pose[:2])


class Navigator:
    """Drives the rover to points, aiming each leg from a pose estimate kept in the mission's progress."""

    def __init__(self, ctx: MissionContext, watch: HopperWatch | None = None) -> None:
        self._ctx = ctx
        #: The hopper's fitness, checked before each hop (the mission's own watch; a fresh one if none).
        self.watch = watch if watch is not None else HopperWatch(ctx)
        #: (clock time s, odometry (x m, y m)) of the last pose update; None before a drive's first one.
        self._last_odometry: tuple[float, tuple[float, float]] | None = None  # the last good sample
        self._imu_uptime: float | None = None  # the IMU's uptime (s) of the last sample integrated
        self._bias = 0.0  # the gyro's residual yaw bias for this drive, rad/s
        self._cos_tilt = 1.0  # cosine of the body's tilt at rest before the motion
        self._samples = self._rejected = 0  # odometry samples judged, and rejected, in the current motion
        self._bad_share = 0.0  # running share of bad odometry samples (BAD_SHARE_WEIGHT each)

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
        yield from self._gyro_bias()
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

    def here(self) -> tuple[float, float]:
        """The rover's position estimate, m: the hopper's where it hops, else the dead-reckoned pose."""
        if not hopping(self._ctx):
            self.pose()  # started from odometry when there is none yet
        x, y = position_estimate(self._ctx)
        return x, y

    def clear_of(self, bore: list[float], clearance_m: float, pattern: int) -> Generator[None, None, None]:
        """Stand at least ``clearance_m`` from ``bore`` (x m, y m; none when empty) before a fresh hole: where the
        arrival tolerance is wider than the hole spacing (a hop lands within metres), an arrival at the hole
        just drilled needs no move, and the drill would re-enter the worked-out bore and cut nothing. Moves
        ``clearance_m`` aside (a drive ahead, or a hop the way hole ``pattern`` of the grid lies) until clear,
        at most :data:`STEP_ASIDE_TRIES` times."""
        ctx = self._ctx
        for _ in range(STEP_ASIDE_TRIES):
            x, y = self.here()
            gap = math.hypot(x - bore[0], y - bore[1]) if len(bore) == 2 else math.inf
            if gap >= clearance_m:
                return
            ctx.events.info(
                "mission",
                "step_aside",
                f"{gap:.2f} m from the last hole's bore: moving {clearance_m:.1f} m aside for a fresh hole",
            )
            if hopping(ctx):
                east, north = hole_offset_m(1 + pattern % 4, 1.0)
                yield from hop(ctx, math.atan2(north, east), hop_speed(ctx, clearance_m), self.watch)
            else:
                yield from self._tracked("move", distance_m=clearance_m, speed_m_s=ctx.config.drive_speed_m_s)

    def _gyro_bias(self) -> Generator[None, None, None]:
        """Before a drive, at rest: the gyro's residual yaw bias, which dead reckoning integrates, from the
        hours the rover rested (:class:`~flight.mission.resting_gyro.RestingGyro`); without enough rest at
        this temperature, the IMU measures its bias (``imu.calibrate`` for ``gyro_calibration_s``) and the
        rest measurement starts again from it."""
        ctx = self._ctx
        self._bias = 0.0
        if "imu" not in ctx.io.rig:
            return
        bias = ctx.gyro.bias()
        if bias is None:
            yield from motion(ctx, "imu", "calibrate", duration_s=ctx.config.gyro_calibration_s)
            ctx.gyro.reset()
            return
        self._bias = bias
        ctx.events.info(
            "mission",
            "gyro_bias",
            f"yaw bias {bias:.2e} rad/s from {ctx.gyro.rest_s:.0f} s at rest (no calibration needed)",
        )

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
        ctx.gyro.moving()
        pose = self.pose()
        now_t = ctx.now()
        odo = self._odometry()
        last_t, last = self._last_odometry if self._last_odometry is not None else (now_t, odo)
        self._integrate_heading(pose)
        step = math.hypot(odo[0] - last[0], odo[1] - last[1])
        # A step the wheels cannot have made (twice the faster of the commanded and measured speeds since the
        # last sample) is a bad odometry sample (noise, a corrupted reading): not integrated. The tick is
        # dead-reckoned from the wheel speed instead, and the reference moves on with it, so a run of bad
        # samples neither stops the estimate nor widens the gate until noise passes it. While most recent
        # samples are bad, the few that pass the gate are not trusted either.
        speed = max(abs(float(ctx.get("drive.v_m_s"))), ctx.config.drive_speed_m_s)
        dt = max(0.0, now_t - last_t)
        bad = not math.isfinite(step) or step > 2.0 * speed * dt + ODOMETRY_SLACK_M
        self._samples += 1
        self._rejected += bad
        self._bad_share += BAD_SHARE_WEIGHT * (float(bad) - self._bad_share)
        if bad or self._bad_share > DISTRUST_SHARE:
            odo = self._wheel_step(last, dt)
            step = math.hypot(odo[0] - last[0], odo[1] - last[1])
        self._last_odometry = (now_t, odo)
        travel = self._along_track(odo[0] - last[0], odo[1] - last[1], step)
        if travel == 0.0:
            return
        slip = min(max(float(ctx.get("drive.slip")), 0.0), 1.0)
        pose[0] += travel * (1.0 - slip) * math.cos(pose[2])
        pose[1] += travel * (1.0 - slip) * math.sin(pose[2])

    def _along_track(self, dx: float, dy: float, step: float) -> float:
        """The signed travel (m) of the odometry step (``dx``, ``dy``): its component along the drive's own
        heading, so noise across the track and back and forth along it averages out instead of adding up (the
        step's length alone counts every jitter as travel: 5 cm of noise made a 8 m drive come out 3 m
        short). Without a usable heading, the step's length signed by the wheel speed."""
        heading = float(self._ctx.get("drive.heading_rad"))
        if math.isfinite(heading):
            return dx * math.cos(heading) + dy * math.sin(heading)
        return step if float(self._ctx.get("drive.v_m_s")) >= 0.0 else -step

    def _wheel_step(self, last: tuple[float, float], dt: float) -> tuple[float, float]:
        """Where the odometer should read ``dt`` s after ``last`` (m): the wheels' measured speed along the
        drive's own heading (``last`` itself when either is not a number)."""
        v = float(self._ctx.get("drive.v_m_s"))
        heading = float(self._ctx.get("drive.heading_rad"))
        if not (math.isfinite(v) and math.isfinite(heading)):
            return last
        return last[0] + v * dt * math.cos(heading), last[1] + v * dt * math.sin(heading)

    def _integrate_heading(self, pose: list[float]) -> None:
        """Advance the heading by each new IMU sample's yaw rate times its own window: the device's uptime
        since the sample integrated before it (each output is the average over that window). Integrating
        the latest rate over the mission's ticks instead got a turn wrong by up to a degree when the
        streaming period changed as the motion started (a quiet 1 s window integrated for a 0.2 s tick)."""
        sample = self._ctx.imu_sample()
        if sample is None:
            return
        last, self._imu_uptime = self._imu_uptime, sample.uptime_s
        if last is None or not sample.uptime_s > last:  # the first sample, or none new (or a reboot)
            return
        pose[2] = math.remainder(pose[2] + self._yaw_rate(sample.gz) * (sample.uptime_s - last), math.tau)

    def _yaw_rate(self, gz: float) -> float:
        """The rover's turn rate about the local vertical, rad/s: the gyro's z rate ``gz``, less the residual
        bias, over the cosine of the tilt measured at rest before the motion (:meth:`_level`). On a slope
        the body z axis leans by the tilt, so its gyro sees only cos(tilt) of a turn about the vertical:
        on a 10 degree site a half turn comes out 2.7 degrees short (the tilt-and-heading split of Ali et
        al. 2005, "Attitude and position estimation on the Mars Exploration Rovers", IEEE SMC). The tilt is
        taken at rest, not from the accelerometers while driving: their vibration inflates the measured
        gravity and would shrink every turn."""
        return (gz - self._bias) / self._cos_tilt

    def _level(self) -> None:
        """At rest before a motion: the cosine of the body's tilt from the accelerometers' gravity
        direction (1 when they give no usable direction: no IMU, not a number, or under a tenth of the
        body's gravity)."""
        ctx = self._ctx
        force = (float(ctx.get("imu.ax")), float(ctx.get("imu.ay")), float(ctx.get("imu.az")))
        norm = math.hypot(*force)
        self._cos_tilt = 1.0
        if math.isfinite(norm) and norm >= 0.1 * ctx.config.gravity_m_s2:
            self._cos_tilt = min(max(force[2] / norm, MIN_COS_TILT), 1.0)

    def _tracked(self, name: str, **args: Any) -> Generator[None, None, None]:
        """A drive motion with the pose estimate tracked on every tick, and for a moment after it ends."""
        self._last_odometry = None
        self._samples = self._rejected = 0
        sample = self._ctx.imu_sample()  # the rest before the motion ends with this sample
        self._imu_uptime = sample.uptime_s if sample is not None else None
        self._level()
        self._track_pose()
        completion = yield from motion(self._ctx, "drive", name, on_tick=self._track_pose, **args)
        # The last odometry, slip and gyro samples of the motion: at least SETTLE_MIN_S, and on until the
        # body has stopped turning (the rims stop first; the body's yaw coasts down after them), at most
        # SETTLE_MAX_S.
        start = self._ctx.now()
        while self._ctx.now() < start + SETTLE_MAX_S:
            yield
            self._track_pose()
            if self._ctx.now() >= start + SETTLE_MIN_S and abs(self._yaw_rate(self._ctx.get("imu.gz"))) < STILL_RAD_S:
                break
        if self._samples and self._rejected > SUSPECT_SHARE * self._samples:
            self._ctx.events.warning(
                "mission",
                "odometry_suspect",
                f"drive.{name}: {self._rejected} of {self._samples} odometry samples were steps the wheels cannot "
                "have made (noise or a corrupted reading): the pose was dead-reckoned from the wheel speed for those",
            )
        if completion != Completion.OK:
            raise MissionFailure(f"drive.{name} ended {completion.name}")
