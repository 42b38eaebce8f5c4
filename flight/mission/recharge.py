"""RECHARGE: park safely and wait for the battery, then resume the exact step that was parked.

Parking makes the hardware safe the way ABORTING does (heater off, drill withdrawn, wheels and scoop
stopped) but keeps the anchors and the batch, and switches the actuator buses off (their standby draw —
the cryocooler alone is 30 W — can exceed what a shaded array gives); waking switches them on again. Then
the rover waits: *recharging* while the array delivers more than the rover draws, *hibernating* while it
does not (night, terrain shadow) — waking when the array delivers again or the charge is back. It resumes
when the state of charge reaches ``resume_soc`` (or the battery is full: a full battery shunts the array),
and when the step it parked needs less than what is there. If ``recharge_max_s`` passes first, it holds
for the ground with the reason (no silent stall); an abort from RECHARGE switches the buses on first, so the
orderly retract can run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator

from flight.mission.anchoring import anchor_out
from flight.mission.buses import switch_buses
from flight.mission.context import Activity, MissionContext
from flight.mission.drilling import drill_out
from flight.mission.energy import EnergyPlanner
from flight.mission.heating import heater_off
from flight.mission.motion import wait
from flight.mission.navigation import Navigator
from flight.mission.safing import quiet_stop
from flight.mission.siting import charging_site

#: The battery counts as full at this state of charge.
FULL_SOC = 0.995
#: After switching the buses back on, the devices get this long to report before the step resumes, s.
WAKE_S = 5.0
#: Buses switched off while parked (their devices idle but draw standby power; the extractor's cryocooler
#: alone is 30 W, more than a lunar polar site's array may give): avionics, comms, imu and power stay on.
PARKED_OFF = ("drill", "scoop", "extractor", "anchor", "drive")
#: Leaves that work at the hole: after charging away they are resumed by driving back (``prospect_travel``,
#: then anchoring); the others (processing the batch, stowing) resume where the rover charged.
AT_THE_HOLE = ("anchor", "extract")
#: What driving draws, W (the planner's estimate for a drive), to judge whether a drive to the sun is
#: affordable.
DRIVE_W = 150.0


def recharge(ctx: MissionContext, planner: EnergyPlanner, parked: Callable[[], str], mode: list[str]) -> Activity:
    """Park safely, then wait for charge; returns ``charged`` (resume ``parked()``) or ``hold`` with the reason.

    ``mode[0]`` is kept at ``parking``, ``recharging`` or ``hibernating`` for telemetry and the campaign log.
    """
    cfg = ctx.config
    mode[0] = "parking"
    heater_off(ctx)
    for device in ("drive", "scoop"):
        quiet_stop(ctx, device)
    yield from drill_out(ctx)
    leaf = parked()
    yield from _to_the_sun(ctx, planner, leaf)
    switch_buses(ctx, PARKED_OFF, on=False)
    start = ctx.now()
    while True:
        yield
        solar_W, load_W = planner.solar.now_W(), float(ctx.get("power.load_W"))
        mode[0] = "recharging" if solar_W > load_W else "hibernating"
        soc = float(ctx.get("power.soc"))
        charged = soc >= min(cfg.resume_soc, FULL_SOC)
        if charged and planner.available_Wh() >= planner.need_Wh(leaf):
            return (yield from _resume(ctx, leaf, f"battery at {soc:.0%} after {ctx.now() - start:.0f} s"))
        if charged and soc >= FULL_SOC:
            short = planner.shortfall(leaf) or f"{leaf} still short"
            if planner.start_full(leaf):
                ctx.events.warning(
                    "mission",
                    "start_full",
                    f"battery full but {short}: resuming {leaf} on the full battery (waiting gives no more); "
                    "it parks to recharge again when only the reserve is left and goes on after",
                )
                return (yield from _resume(ctx, leaf, f"battery full at {soc:.0%}, {leaf} short of a full charge"))
            return "hold", f"battery full but {short}: hold for the ground"
        if ctx.now() - start >= cfg.recharge_max_s:
            return "hold", (
                f"recharge: battery at {soc:.0%} after {cfg.recharge_max_s:g} s (array {solar_W:.0f} W, "
                f"load {load_W:.0f} W), {leaf} waits: hold for the ground"
            )


def _resume(ctx: MissionContext, leaf: str, took: str) -> Activity:
    """Switch the parked buses on, give the devices :data:`WAKE_S` to report, and resume ``leaf``: by driving
    back first when it works at the hole the rover left to charge (``took`` says how the charge ended)."""
    switch_buses(ctx, PARKED_OFF, on=True)
    yield from wait(ctx, WAKE_S)
    if ctx.progress.away and leaf.startswith(AT_THE_HOLE):
        return "return_to_site", f"{took}: back to site {ctx.progress.site} to resume {leaf}"
    return "charged", f"{took}: resuming {leaf}"


def _to_the_sun(ctx: MissionContext, planner: EnergyPlanner, leaf: str) -> Generator[None, None, None]:
    """Charge where the sun is: when a probed site's array gave far more than the array gives here
    (:func:`~flight.mission.siting.charging_site`) and the drive there is affordable, withdraw the anchors
    and drive there (``progress.away``); the steps at the hole go back by ``prospect_travel`` once charged."""
    progress = ctx.progress
    if leaf.startswith("prospect") or not ctx.config.sites or not ctx.config.charge_away:
        return
    site = charging_site(progress.probes, planner.solar.daylight_W())  # by day here against by day there
    if site is None or site >= len(ctx.config.sites):
        return
    target = ctx.config.sites[site]
    navigator = Navigator(ctx)
    x, y = navigator.here()
    distance = math.hypot(target.x_m - x, target.y_m - y)
    if distance < ctx.config.arrive_tolerance_m:
        return  # already there: its array gives what it gives now (at night on a rotating body, nothing)
    drive_s = distance / ctx.config.drive_speed_m_s
    drive_Wh = DRIVE_W * (drive_s + 60.0) / 3600.0
    if planner.available_Wh() < drive_Wh:
        return
    ctx.events.info(
        "mission",
        "charge_away",
        f"array {planner.solar.daylight_W():.0f} W here, {progress.probes[site].get('solar_W', 0.0):.0f} W at site "
        f"{site}: driving there to recharge ({drive_Wh:.0f} Wh)",
        site=site,
    )
    yield from anchor_out(ctx)
    progress.away = True
    yield from navigator.drive_to(target.x_m, target.y_m)
