"""Stopping the rover: the orderly retract of ABORTING, the stops of SAFE and HOLD."""

from __future__ import annotations

from flight.errors import CommandRejected
from flight.mission.context import Activity, MissionContext
from flight.mission.drilling import drill_out
from flight.mission.heating import heater_off
from hal.errors import HalError

#: Every actuator that moves (the heater is switched off separately).
MOVERS = ("drill", "scoop", "drive", "hopper", "anchor")


def orderly_retract(ctx: MissionContext, reason: str) -> Activity:
    """ABORTING: heater off, motion stopped, drill withdrawn; then ``aborted``."""
    heater_off(ctx)
    for device in ("drive", "hopper", "scoop", "anchor"):
        quiet_stop(ctx, device)
    yield from drill_out(ctx)
    return "aborted", f"orderly retract done ({reason})"


def make_safe(ctx: MissionContext, reason: str) -> None:
    """SAFE: heater off and every actuator stopped, reported as a critical event."""
    heater_off(ctx)
    freeze(ctx)
    ctx.events.critical("mission", "safe", f"SAFE: {reason}")


def freeze(ctx: MissionContext) -> None:
    """HOLD: every actuator stopped where it is (the heater keeps its set point)."""
    for device in MOVERS:
        quiet_stop(ctx, device)


def quiet_stop(ctx: MissionContext, device: str) -> None:
    """Stop ``device`` if it is fitted; a failure is reported, not raised."""
    if device not in ctx.io.rig:
        return
    try:
        ctx.io.command(device, "stop")
    except (HalError, CommandRejected) as exc:
        ctx.events.error("mission", "stop_failed", f"{device}: {exc}")
