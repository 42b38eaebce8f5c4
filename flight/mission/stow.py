"""STOW: drill out, scoop folded, anchors withdrawn; the campaign is over and the rover can be driven."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flight.mission.anchoring import anchor_out
from flight.mission.context import Activity, MissionContext
from flight.mission.drilling import drill_out
from flight.mission.motion import require

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
        """Withdraw the drill, fold the scoop, withdraw the anchors."""
        ctx = self._ctx
        yield from drill_out(ctx)
        yield from require(ctx, "scoop", "move", angle_rad=SCOOP_STOWED_RAD, speed_rad_s=SCOOP_STOW_SPEED_RAD_S)
        yield from anchor_out(ctx)
        return "stowed", "stowed"
