"""Hopping skill: getting about in microgravity, where wheels have no traction.

Below ``hop_below_gravity_m_s2`` (set per body in the configuration; a Bennu-class asteroid has ~6e-5
m/s^2) the navigator hops with the hopper instead of driving. Each leg aims the first ballistic arc short of
the target (``hop_aim_share``: the bounces carry the rover on), at the launch speed the flat-ground range
``R = v^2 sin(2 theta) / g`` gives, never faster than the interlock allows (``max_hop_speed_m_s``, far under
the escape speed), and never farther than ``hop_leg_max_m``. Legs repeat from the hopper's position estimate
until the rover is within ``arrive_tolerance_m``.

Before every launch the hopper must be fit (:func:`flight.mission.hop_readiness.ready_to_hop`: line up,
telemetry fresh, no fault latched, at rest upright, a position estimate to trust, the built-in test passed);
else the hop is refused and the mission holds for the ground with the reason. Whatever a hop ends in is
handled here: a launch that failed (the feet slipped) is cleared and tried again; a tumble is righted with
``hopper.upright``; a flywheel that did not spin up (seized: the rover did not launch and stays where it is)
and a rover that cannot be righted fail the step, which the recovery ladder retries once and then holds
for the ground with; a rover that has not come down after ``hop_lost_arcs`` arcs (or that the hopper reports
lost) takes the mission to SAFE with the reason. SI units.
"""

from __future__ import annotations

import math
from collections.abc import Generator

from flight.mission.context import MissionContext, MissionFailure, UnrecoverableFailure
from flight.mission.hop_readiness import SETTLE_ALLOWANCE_S, HopperWatch, ready_to_hop
from flight.mission.motion import require, wait
from hal.icd import Completion
from hal.motion import Motion

#: Launch attempts of one leg that may end without a launch before the hop is given up.
LAUNCH_ATTEMPTS = 3
#: Launch speed margin under the interlock's limit (the hopper's own dispersion is a few per cent).
SPEED_MARGIN = 0.9


def hopping(ctx: MissionContext) -> bool:
    """True when the rover moves by hopping here: a hopper fitted and gravity below the configured threshold."""
    cfg = ctx.config
    return "hopper" in ctx.io.rig and cfg.gravity_m_s2 < cfg.hop_below_gravity_m_s2


def position(ctx: MissionContext) -> tuple[float, float]:
    """The hopper's position estimate, m."""
    return float(ctx.get("hopper.x_m")), float(ctx.get("hopper.y_m"))


def hop_to(ctx: MissionContext, x: float, y: float, legs: int, watch: HopperWatch) -> Generator[None, None, int]:
    """Hop to (``x``, ``y``) m in up to ``legs`` legs, each aimed and launched only when ``watch`` finds the
    hopper fit (its position estimate among what is checked); returns the number of hops made."""
    cfg = ctx.config
    hops = 0
    for _ in range(legs):
        yield from ready_to_hop(ctx, watch, launch=False)  # is a hop needed? from an estimate to trust
        px, py = position(ctx)
        distance = math.hypot(x - px, y - py)
        if distance < cfg.arrive_tolerance_m:
            return hops
        yield from hop(ctx, math.atan2(y - py, x - px), hop_speed(ctx, distance), watch)
        hops += 1
    px, py = position(ctx)
    miss = math.hypot(x - px, y - py)
    if miss >= cfg.arrive_tolerance_m:
        ctx.events.warning("mission", "approach", f"{miss:.2f} m short of ({x:.1f}, {y:.1f}) m after {legs} hops")
    return hops


def hop_speed(ctx: MissionContext, distance_m: float) -> float:
    """Launch speed (m/s) of a hop toward a point ``distance_m`` away: a ballistic arc at ``hop_elevation_rad``
    aimed ``hop_aim_share`` of the way (the bounces carry it on), at most ``hop_leg_max_m``, under the
    interlock's speed limit."""
    cfg = ctx.config
    aim = min(distance_m * cfg.hop_aim_share, cfg.hop_leg_max_m)
    speed = math.sqrt(aim * cfg.gravity_m_s2 / math.sin(2.0 * cfg.hop_elevation_rad))
    return min(max(speed, 0.001), SPEED_MARGIN * ctx.io.settings.max_hop_speed_m_s)


def hop(ctx: MissionContext, heading_rad: float, speed_m_s: float, watch: HopperWatch) -> Generator[None, None, None]:
    """One hop, launched up to :data:`LAUNCH_ATTEMPTS` times, each only once the hopper is found fit, ending
    settled upright or failing the activity."""
    for attempt in range(1, LAUNCH_ATTEMPTS + 1):
        yield from ready_to_hop(ctx, watch)
        completion = yield from _flight(ctx, heading_rad, speed_m_s)
        yield from wait(ctx, 0.5)  # the snapshot after the end of the hop, with its faults
        faults = _faults(ctx)
        if completion == Completion.OK:
            ctx.events.info("mission", "hop", f"hopped {ctx.get('hopper.hop_m'):.1f} m at {speed_m_s * 100:.1f} cm/s")
            return
        if completion == Completion.FAULT and "lost" in faults:
            raise UnrecoverableFailure("rover lost: the hopper reports it off the surface (no landing)")
        if completion == Completion.FAULT and "tumbled" in faults:
            ctx.events.warning("mission", "hop_tumbled", "landed on its side; righting")
            yield from _upright(ctx)
            ctx.events.info("mission", "hop", f"hopped {ctx.get('hopper.hop_m'):.1f} m (landed on its side, righted)")
            return
        if "flywheel_stuck" in faults:
            raise MissionFailure("hopper flywheel stuck: the launch did not happen, the rover cannot move")
        ctx.events.warning(
            "mission", "hop_failed", f"launch {attempt} ended {completion.name} ({','.join(faults) or 'no fault'})"
        )
        ctx.io.rig.device("hopper").clear_fault()
        yield
    raise MissionFailure(f"hopper did not launch in {LAUNCH_ATTEMPTS} attempts")


def _flight(ctx: MissionContext, heading_rad: float, speed_m_s: float) -> Generator[None, None, Completion]:
    """Launch and wait for the hop to end, watching for a rover that does not come down."""
    cfg = ctx.config
    elevation = cfg.hop_elevation_rad
    arc_s = 2.0 * speed_m_s * math.sin(elevation) / cfg.gravity_m_s2
    result = ctx.io.command("hopper", "hop", heading_rad=heading_rad, speed_m_s=speed_m_s, elevation_rad=elevation)
    if not isinstance(result, Motion):
        return Completion.OK
    start = ctx.now()
    deadline = start + cfg.hop_lost_arcs * arc_s + SETTLE_ALLOWANCE_S
    while not result.done:
        if result.lost_reason is not None:
            raise MissionFailure(f"hopper.hop: link lost during the hop ({result.lost_reason})")
        if ctx.now() > deadline:
            raise UnrecoverableFailure(
                f"rover lost: no landing {ctx.now() - start:.0f} s after a launch whose arc lasts {arc_s:.0f} s "
                f"(height {ctx.get('hopper.height_m'):.1f} m)"
            )
        yield
    assert result.completion is not None
    return result.completion


def _upright(ctx: MissionContext) -> Generator[None, None, None]:
    """Right the rover; a rover that stays on its side fails the activity."""
    ctx.io.rig.device("hopper").clear_fault()
    try:
        yield from require(ctx, "hopper", "upright")
    except MissionFailure as exc:
        raise MissionFailure(f"rover on its side and cannot be righted: {exc}") from exc
    ctx.io.rig.device("hopper").clear_fault()


def _faults(ctx: MissionContext) -> tuple[str, ...]:
    snapshot = ctx.io.rig.device("hopper").telemetry
    return tuple(snapshot.faults) if snapshot is not None else ()
