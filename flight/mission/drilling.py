"""Drilling skill: torque-limited feeds, bites (feed, then retract to lift the cuttings), and withdrawing."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Generator

from flight.errors import CommandRejected
from flight.mission.context import MissionContext, MissionFailure
from flight.mission.motion import motion, wait
from hal.errors import DeviceNack, HalError
from hal.icd import Completion
from hal.motion import Motion

#: Slowest feed the torque limiter or a stall retry goes down to, m/s.
MIN_FEED_M_S = 0.0001


def bite(
    ctx: MissionContext,
    goal_m: float,
    rate_m_s: float,
    *,
    hammer: bool,
    samples: list[tuple[float, float]] | None = None,
) -> Generator[None, None, tuple[Completion, float]]:
    """Drill one bite of the hole to ``goal_m`` (m) and retract, the retract carrying the cuttings up the
    auger into the hopper; the deepest point reached is recorded in the progress (``hole_m``). Returns
    how the feed ended and the feed rate (m/s) it ended at; ``samples``, if given, receives the feed's
    (depth m, volatiles sensor's water fraction) readings of fresh cuttings (:func:`feed`). A stall the
    drill reported since the last bite (the auger seized while spinning up or out) makes this a stalled
    bite (``BLOCKED``, drill withdrawn): the interlocks would refuse the spin, and the stall ladder is
    what clears and retries it."""
    if stalled(ctx):
        yield from drill_out(ctx)
        return Completion.BLOCKED, rate_m_s
    try:
        ctx.io.command("drill", "spin", rpm=ctx.config.drill_rpm)
        if hammer:
            ctx.io.command("drill", "percussion", on=1)
        completion, rate_m_s = yield from feed(ctx, goal_m, rate_m_s, samples)
    except (DeviceNack, CommandRejected):
        # refused: if the auger seized spinning up (the stall shows in the next snapshot), a stalled bite
        with contextlib.suppress(HalError, CommandRejected):
            ctx.io.command("drill", "stop")
        yield from wait(ctx, 1.0)
        if not stalled(ctx):
            raise
        yield from drill_out(ctx)
        return Completion.BLOCKED, rate_m_s
    ctx.progress.hole_m = max(ctx.progress.hole_m, ctx.get("drill.depth_m"))
    yield from drill_out(ctx)  # the retract delivers the bite's cuttings to the hopper
    yield from wait(ctx, 1.0)
    return completion, rate_m_s


def stall_passes(ctx: MissionContext, within_s: float, every_s: float) -> Generator[None, None, bool]:
    """Give a stall still latched after the drill was withdrawn (what seized the auger, a clast or heat, may
    pass) up to ``within_s`` s to clear, asking the drill to clear it every ``every_s`` s; True once it has."""
    deadline = ctx.now() + within_s
    next_clear = ctx.now() + every_s
    while stalled(ctx):
        now = ctx.now()
        if now >= deadline:
            return False
        if now >= next_clear:
            next_clear = now + every_s
            with contextlib.suppress(HalError):  # the line dropped meanwhile: the next bite fails and says so
                ctx.io.rig.device("drill").clear_fault()
        yield
    return True


def stalled(ctx: MissionContext) -> bool:
    """The drill reports a stall now (its latest snapshot; a ``clear_fault`` refreshes it at once)."""
    snapshot = ctx.io.rig.device("drill").telemetry
    return snapshot is not None and "stall" in snapshot.faults


def feed(
    ctx: MissionContext, goal_m: float, rate: float, samples: list[tuple[float, float]] | None = None
) -> Generator[None, None, tuple[Completion, float]]:
    """Feed the turning drill to ``goal_m`` (m), halving the rate (m/s) while the torque is above the limit;
    returns how the feed ended and the rate it ended at. ``samples``, if given, receives a (depth m,
    volatiles sensor's water fraction) reading on each tick that saw fresh cuttings (``drill.cuttings_kg``
    rising): the sensor reads the cuttings stream, and a bit sliding down a bore already drilled (a hole
    at the probe's position) cuts nothing new. In very strong ground a bite takes long: the
    watchdog is on progress (``motion_timeout_s`` without 5 mm of advance), not on the whole feed."""
    cfg = ctx.config
    feeding = ctx.io.command("drill", "feed", depth_m=goal_m, rate_m_s=rate)
    deadline = ctx.now() + cfg.motion_timeout_s
    mark = ctx.get("drill.depth_m")
    changed_t = ctx.now()
    cut_kg = ctx.get("drill.cuttings_kg")
    while isinstance(feeding, Motion) and not feeding.done:
        if feeding.lost_reason is not None:
            raise MissionFailure(f"drill.feed: link lost during the motion ({feeding.lost_reason})")
        depth = ctx.get("drill.depth_m")
        if samples is not None:
            cuttings = ctx.get("drill.cuttings_kg")
            if cuttings > cut_kg:
                samples.append((depth, ctx.get("drill.volatiles_ice_fraction", math.nan)))
            cut_kg = cuttings
        if depth >= mark + 0.005:
            mark, deadline = depth, ctx.now() + cfg.motion_timeout_s
        if ctx.now() > deadline:
            ctx.io.command("drill", "stop")
            raise MissionFailure(f"drill.feed made no progress for {cfg.motion_timeout_s:g} s")
        # The limiter acts once per drill sample taken after its last change: the torque of a sample from
        # before the slower feed says nothing about it (the mission ticks faster than the drill streams).
        sample_t = _sample_t(ctx)
        if sample_t > changed_t and ctx.get("drill.torque_Nm") > cfg.torque_limit_Nm and rate > 2 * MIN_FEED_M_S:
            rate = max(rate / 2, MIN_FEED_M_S)
            ctx.events.info("mission", "feed_slowed", f"torque above {cfg.torque_limit_Nm:g} N*m: feed {rate:g} m/s")
            feeding = ctx.io.command("drill", "feed", depth_m=goal_m, rate_m_s=rate)
            changed_t = ctx.now()
        yield
    if not isinstance(feeding, Motion):
        return Completion.OK, rate
    assert feeding.completion is not None
    return feeding.completion, rate


def _sample_t(ctx: MissionContext) -> float:
    """When the drill's latest snapshot arrived (host clock s; -inf before the first)."""
    snapshot = ctx.io.rig.device("drill").telemetry
    return snapshot.t if snapshot is not None else float("-inf")


def drill_out(ctx: MissionContext) -> Generator[None, None, None]:
    """Withdraw the drill and wait until the auger has stopped turning (30 s at most). A retract that does not
    end OK (a jammed auger: BLOCKED) raises :class:`MissionFailure` naming the depth it is stuck at, after
    stopping the auger: nothing after this — pulling the anchors, driving off — may run with the drill in."""
    if ctx.get("drill.depth_m") > 0.001:
        completion = yield from motion(ctx, "drill", "retract", rate_m_s=0.01)
        if completion != Completion.OK:
            ctx.io.command("drill", "spin", rpm=0.0)
            raise MissionFailure(
                f"the drill did not come out of the hole: retract ended {completion.name} at "
                f"{ctx.get('drill.depth_m'):.2f} m (a jammed auger?)"
            )
    ctx.io.command("drill", "spin", rpm=0.0)
    deadline = ctx.now() + 30.0
    while ctx.get("drill.rpm") > ctx.io.settings.drill_turning_rpm and ctx.now() < deadline:
        yield
