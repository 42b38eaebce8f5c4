"""STOW: drill out, scoop folded, anchors withdrawn; the campaign is over (or ``mission.recover`` found hardware
left out in SAFE) and the rover can be driven. :func:`stow_for_travel` is the same for a drive's first move."""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping

from flight.mission.anchoring import anchor_out
from flight.mission.context import Activity, MissionContext, MissionFailure
from flight.mission.drilling import drill_out
from flight.mission.motion import require
from flight.mission.recovery import ANCHOR_OUT_M, still_deployed

#: Scoop arm angle when folded for travel, rad, and how fast it gets there, rad/s.
SCOOP_STOWED_RAD = 1.5
SCOOP_STOW_SPEED_RAD_S = 0.3


class Stow:
    """The stow phase's activity (leaf ``stow``)."""

    def __init__(self, ctx: MissionContext) -> None:
        self._ctx = ctx

    def activities(self) -> Mapping[str, Callable[[], Activity]]:
        """Leaf name → activity."""
        return {"stow": self.stow}

    def stow(self) -> Activity:
        """Withdraw the drill, fold the scoop, withdraw the anchors; fails naming what is still out if fresh
        telemetry does not show it all stowed (IDLE must mean the next drive can move)."""
        ctx = self._ctx
        yield from drill_out(ctx)
        yield from require(ctx, "scoop", "move", angle_rad=SCOOP_STOWED_RAD, speed_rad_s=SCOOP_STOW_SPEED_RAD_S)
        yield from anchor_out(ctx)
        left = still_deployed(ctx)
        if left:
            raise MissionFailure(f"stow finished with hardware still out: {'; '.join(left)}")
        return "stowed", "stowed"


def stow_for_travel(ctx: MissionContext) -> Generator[None, None, None]:
    """Before a drive or hop: withdraw the drill and the anchors if either is still in the ground (after a
    recovery or a resume that left them out), so the interlocks let the rover move."""
    drill_in = ctx.io.drill_deployed
    anchors_in = bool(ctx.get("anchor.deployed_mask", 0)) or any(
        ctx.get(f"anchor.depth{i}_m") > ANCHOR_OUT_M for i in range(4)
    )
    if not (drill_in or anchors_in):
        return
    ctx.events.warning(
        "mission",
        "stow_before_travel",
        f"before moving: {'the drill' if drill_in else ''}{' and ' if drill_in and anchors_in else ''}"
        f"{'the anchors' if anchors_in else ''} still in the ground; withdrawing first",
    )
    yield from drill_out(ctx)
    yield from anchor_out(ctx)
