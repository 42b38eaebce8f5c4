"""Anchoring skill: deploy and preload the four anchors, withdraw them, and recover the anchor after a fault."""

from __future__ import annotations

from collections.abc import Generator

from flight.interlocks import ALL_ANCHORS
from flight.mission.context import MissionContext, MissionFailure
from flight.mission.motion import motion, wait
from hal.icd import POWER_BUSES, Completion

#: Smallest preload commanded, N (an asteroid's anchors hold a few newtons in all).
MIN_PRELOAD_N = 0.01


def preload_N(ctx: MissionContext) -> float:
    """Preload per anchor, N: a share of the holding capacity the anchors report after deployment (their
    installation torque measures the ground's strength), at least what the drill interlock counts as
    anchored, never above 90 % of the capacity nor ``anchor_preload_N``."""
    cfg = ctx.config
    per_anchor = ctx.get("anchor.holding_N") / 4.0
    floor = 1.05 * ctx.io.settings.min_preload_N  # what the drill interlock counts as anchored
    want = max(floor, cfg.anchor_preload_share * per_anchor)
    return max(MIN_PRELOAD_N, min(want, 0.9 * per_anchor, cfg.anchor_preload_N))


def deployed_all(ctx: MissionContext) -> bool:
    """Every anchor reports itself deployed."""
    return int(ctx.get("anchor.deployed_mask", 0)) & ALL_ANCHORS == ALL_ANCHORS


def try_anchor(ctx: MissionContext) -> Generator[None, None, bool]:
    """Deploy and preload every anchor; True if the rover is anchored afterwards.

    A deploy that ends BLOCKED in strong ground may still hold (anchors seated at refusal), so the
    preload decides; it is chosen from the capacity the anchors report. A slip or failed preload leaves
    the rover unanchored (faults cleared).
    """
    cfg = ctx.config
    deployed = yield from motion(ctx, "anchor", "deploy", mask=ALL_ANCHORS, depth_m=cfg.anchor_depth_m)
    yield from wait(ctx, 0.5)
    if deployed in (Completion.OK, Completion.BLOCKED) and deployed_all(ctx):
        yield from motion(ctx, "anchor", "preload", mask=ALL_ANCHORS, force_N=preload_N(ctx))
    yield from wait(ctx, 0.5)
    if ctx.io.anchored:
        return True
    recover(ctx, "anchor")
    return False


def anchor_out(ctx: MissionContext) -> Generator[None, None, None]:
    """Withdraw every anchor, recovering the anchor's bus and faults between up to three attempts."""
    for attempt in range(3):
        if not ctx.get("anchor.deployed_mask", 0) and all(ctx.get(f"anchor.depth{i}_m") <= 0.005 for i in range(4)):
            return
        if attempt:
            recover(ctx, "anchor")
            yield from wait(ctx, 1.0)
        completion = yield from motion(ctx, "anchor", "retract", mask=ALL_ANCHORS)
        if completion == Completion.OK:
            return
        ctx.events.warning("mission", "anchor_retract", f"anchor retract ended {completion.name}")
    raise MissionFailure("anchors could not be withdrawn after 3 attempts")


def recover(ctx: MissionContext, device: str) -> None:
    """Switch ``device``'s bus back on if a fuse tripped, and clear latched faults."""
    if "power" in ctx.io.rig and not ctx.io.bus_on(device):
        ctx.events.warning("mission", "bus_restore", f"{device} bus was off; switching it back on")
        ctx.io.command("power", "bus", index=POWER_BUSES.index(device), on=1)
        ctx.io.rig.device("power").clear_fault()
    ctx.io.rig.device(device).clear_fault()
