"""ANCHOR: deploy the anchors, preload them, and verify the rover is held still and level enough to drill."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from flight.interlocks import ALL_ANCHORS
from flight.mission.anchoring import anchor_out, deployed_all, preload_N, recover
from flight.mission.context import Activity, MissionContext, MissionFailure
from flight.mission.motion import motion, wait
from hal.icd import Completion


class Anchor:
    """The anchoring phase's activities (leaves ``anchor_deploy``, ``_preload``, ``_verify``)."""

    def __init__(self, ctx: MissionContext) -> None:
        self._ctx = ctx
        #: The gyro's reading (rad/s per axis) as the anchors went in: its bias at this temperature (and the
        #: body's spin, on a spinning asteroid), which the verification takes off; None after a restart.
        self._rest_gyro: tuple[float, float, float] | None = None

    def activities(self) -> Mapping[str, Callable[[], Activity]]:
        """Leaf name → activity."""
        return {"anchor_deploy": self.deploy, "anchor_preload": self.preload, "anchor_verify": self.verify}

    def deploy(self) -> Activity:
        """Drive the anchors in; refusal (BLOCKED) in strong ground may still hold."""
        ctx = self._ctx
        if ctx.progress.site < 0:
            ctx.progress.site = 0
        self._rest_gyro = _gyro(ctx)
        completion = yield from motion(ctx, "anchor", "deploy", mask=ALL_ANCHORS, depth_m=ctx.config.anchor_depth_m)
        if completion not in (Completion.OK, Completion.BLOCKED):
            raise MissionFailure(f"anchor.deploy ended {completion.name}")
        yield from wait(ctx, 0.5)
        return "deployed", f"anchors in ({completion.name.lower()}), holding {ctx.get('anchor.holding_N'):.0f} N"

    def preload(self) -> Activity:
        """Preload every seated anchor (:func:`~flight.mission.anchoring.preload_N`)."""
        ctx = self._ctx
        if not deployed_all(ctx):
            return "preloaded", "preload skipped: not every anchor is seated"
        force = preload_N(ctx)
        completion = yield from motion(ctx, "anchor", "preload", mask=ALL_ANCHORS, force_N=force)
        return "preloaded", f"preload to {force:.0f} N per anchor ended {completion.name.lower()}"

    def verify(self) -> Activity:
        """Check the anchors hold, the tilt and the body rate; retry, relocate to the next site, or fail."""
        ctx = self._ctx
        cfg = ctx.config
        progress = ctx.progress
        yield from wait(ctx, 2.0)
        ax, ay, az = (ctx.get(f"imu.{a}") for a in ("ax", "ay", "az"))
        # the body rate since the anchors went in: a MEMS gyro's bias (up to 1 deg/s at turn-on, 0.015 deg/s
        # per K away from 25 C) alone reaches the 0.02 rad/s limit, and failed every site of asteroid seed 8
        rest = self._rest_gyro or (0.0, 0.0, 0.0)
        rate = math.dist(_gyro(ctx), rest)
        g = math.sqrt(ax * ax + ay * ay + az * az)
        sensed = g > 0.05 and cfg.gravity_m_s2 > 0.05  # in microgravity the accelerometers read only noise
        tilt = math.degrees(math.atan2(math.hypot(ax, ay), az)) if sensed else 0.0
        problems = []
        if not ctx.io.anchored:
            problems.append("anchors not holding")
        if tilt > cfg.max_tilt_deg:
            problems.append(f"tilt {tilt:.1f} deg > {cfg.max_tilt_deg:g}")
        if rate > cfg.max_rate_rad_s:
            problems.append(f"body rate {rate:.3f} rad/s > {cfg.max_rate_rad_s:g}")
        if not problems:
            progress.anchor_attempts = 0
            return "verified", f"anchored: tilt {tilt:.1f} deg, rate {rate:.4f} rad/s"
        progress.anchor_attempts += 1
        yield from anchor_out(ctx)
        recover(ctx, "anchor")  # a slip fault latched by this attempt must not fail the next one
        if progress.anchor_attempts < cfg.anchor_attempts:
            return "retry", f"anchoring attempt {progress.anchor_attempts} failed: {', '.join(problems)}"
        progress.anchor_attempts = 0
        progress.tried_sites.append(progress.site)
        remaining = [
            i for i in sorted(progress.scores, key=lambda i: -progress.scores[i]) if i not in progress.tried_sites
        ]
        if not remaining:
            raise MissionFailure(f"no site could be anchored ({', '.join(problems)})")
        progress.site = remaining[0]
        return "relocate", f"cannot anchor ({', '.join(problems)}); relocating to site {remaining[0]}"


def _gyro(ctx: MissionContext) -> tuple[float, float, float]:
    """The IMU's latest body rates (gx, gy, gz), rad/s."""
    return (float(ctx.get("imu.gx")), float(ctx.get("imu.gy")), float(ctx.get("imu.gz")))
