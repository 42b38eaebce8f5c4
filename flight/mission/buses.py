"""Switching the power unit's buses from the mission: parking with loads off, switching on a bus a fuse tripped."""

from __future__ import annotations

from flight.errors import CommandRejected
from flight.mission.context import MissionContext
from hal.errors import HalError
from hal.icd import POWER_BUSES


def switch_buses(ctx: MissionContext, buses: tuple[str, ...], *, on: bool) -> None:
    """Switch ``buses`` on or off through the interlocks (failures reported, not raised)."""
    if "power" not in ctx.io.rig:
        return
    for bus in buses:
        try:
            ctx.io.command("power", "bus", index=POWER_BUSES.index(bus), on=int(on))
        except (HalError, CommandRejected) as exc:
            ctx.events.error("mission", "bus_switch_failed", f"{bus} {'on' if on else 'off'}: {exc}")


def fuse_tripped(ctx: MissionContext, bus: str) -> bool:
    """True when ``bus`` is off while the power unit reports ``overcurrent`` (its electronic fuse tripped), not
    switched off by the interlocks or an operator (those leave no fault)."""
    if "power" not in ctx.io.rig or bus not in POWER_BUSES or ctx.io.bus_on(bus):
        return False
    power = ctx.io.rig.device("power")
    snapshot = power.telemetry
    return power.link_up and snapshot is not None and "overcurrent" in snapshot.faults
