"""Heating skill: bake a sealed batch until its water yield falls off, and switch the heater off."""

from __future__ import annotations

import math
from collections.abc import Generator

from flight.errors import CommandRejected
from flight.mission.buses import fuse_tripped
from flight.mission.context import MissionContext, MissionFailure, UnrecoverableFailure
from hal.errors import HalError

#: Window over which the water yield rate is measured, s.
YIELD_WINDOW_S = 300.0


#: The heater counts as delivering above this, W.
HEATER_ON_W = 5.0
#: A chamber reading older than this is stale, s (telemetry comes at 10 Hz).
SENSOR_STALE_S = 5.0


def heat_batch(ctx: MissionContext) -> Generator[None, None, tuple[bool, str]]:
    """Heat under temperature control until the water yield rate (over 5-minute windows) has fallen
    below ``yield_stop_kg_h`` — once the yield has risen above it or the chamber has reached its set
    point, so a cold batch still warming up toward sublimation is not stopped before it yields (with
    ``heat_to_setpoint``, only once the set point is reached: hydrated minerals give their water near it,
    after a lull that follows the adsorbed water) — or
    ``heat_max_s`` has passed; then the heater is switched off. Returns (stalled, why heating stopped). A
    water reading that stops dead mid-yield (not one count of change over a window right after one that
    yielded) is taken for stuck, reported, and the heat runs on time until it moves again.

    A lid seal that leaks (the extractor's ``seal_leak`` fault) stops the heat at once, ``stalled``: the vapour
    would escape through it. Heating that stops is detected within ``heat_stall_s``: no heater power for that long
    while the chamber is below its set point, whatever the hot batch still gives off (an open heater circuit, a shed
    bus, the extractor's dead-man), or the chamber's temperature stale or not a number for that long (a dropped or
    failed sensor). Then the heater is switched off and ``stalled`` is True, for the mission to hold for the ground
    with the reason. A heater that drew power after it was switched off (the interlocks' ``heater_uncommanded``: its
    switch failed closed, the extractor bus is cut) raises :class:`~flight.mission.context.UnrecoverableFailure` at
    once: no resume can mend it, the mission goes to SAFE naming it."""
    cfg = ctx.config
    ctx.io.command("extractor", "heater_setpoint", kelvin=cfg.heater_setpoint_K)
    start = ctx.now()
    window_t, window_w = start, ctx.get("extractor.water_kg")
    rate_kg_h = math.inf
    yielding = False
    alive_t = sensed_t = start
    stalled = False
    frozen = False  # the water reading stopped dead mid-yield: heat on time, not on a yield it cannot show
    failed_closed = ctx.io.trips.get("heater_uncommanded", 0)
    while True:
        yield
        now = ctx.now()
        if ctx.io.trips.get("heater_uncommanded", 0) > failed_closed:
            heater_off(ctx)
            raise UnrecoverableFailure(
                "heater switch failed closed: the heater drew power after it was switched off and the interlocks "
                "switched the extractor bus off; replace the heater switch"
            )
        if fuse_tripped(ctx, "extractor"):  # the step fails: its retry switches the bus on again, once (ladder)
            raise MissionFailure("the extractor bus's electronic fuse tripped while heating (power: fault overcurrent)")
        water = ctx.get("extractor.water_kg")
        # alive: the heater delivers, or the chamber is at its set point (where the regulator may idle)
        temp = ctx.get("extractor.chamber_temp_K", math.nan)
        at_setpoint = isinstance(temp, (int, float)) and temp >= cfg.heater_setpoint_K - 10.0
        if ctx.get("extractor.heater_power_W") > HEATER_ON_W or at_setpoint:
            alive_t = now
        fresh = ctx.table.age("extractor.chamber_temp_K", ctx.clock.now()) <= SENSOR_STALE_S
        if fresh and isinstance(temp, (int, float)) and math.isfinite(temp):
            sensed_t = now
        if "seal_leak" in str(ctx.get("extractor.faults", "")).split(","):
            reason = (
                "heating stopped: the chamber's lid seal leaks (extractor fault seal_leak): the water would "
                f"escape; at {ctx.get('extractor.pressure_Pa'):.0f} Pa, {water:.3f} kg in the cold trap"
            )
            stalled = True
            break
        if now - sensed_t >= cfg.heat_stall_s:
            reason = f"heating stalled: chamber temperature stale or not a number for {now - sensed_t:.0f} s"
            stalled = True
            break
        if now - alive_t >= cfg.heat_stall_s:
            reason = (
                f"heating stalled: no heater power below the set point for {now - alive_t:.0f} s "
                f"(heater {ctx.get('extractor.heater_power_W'):.0f} W, faults '{ctx.get('extractor.faults', '')}')"
            )
            stalled = True
            break
        if now - window_t >= YIELD_WINDOW_S:
            previous_kg_h, rate_kg_h = rate_kg_h, (water - window_w) / (now - window_t) * 3600.0
            frozen = _frozen_reading(ctx, water, window_w, previous_kg_h, frozen)
            window_t, window_w = now, water
            hot = ctx.get("extractor.chamber_temp_K") >= cfg.heater_setpoint_K - 10.0
            # With heat_to_setpoint, yield before the set point (adsorbed water) does not arm the low-rate stop.
            rising = rate_kg_h >= cfg.yield_stop_kg_h and not cfg.heat_to_setpoint
            yielding = yielding or rising or hot
        if now - start >= cfg.heat_min_s and yielding and not frozen and rate_kg_h < cfg.yield_stop_kg_h:
            reason = f"yield rate {rate_kg_h:.4f} kg/h below {cfg.yield_stop_kg_h:g} kg/h"
            break
        if now - start >= cfg.heat_max_s:
            reason = f"heating time limit {cfg.heat_max_s:g} s reached"
            break
    heater_off(ctx)
    return stalled, reason


def _frozen_reading(ctx: MissionContext, water: float, before: float, previous_kg_h: float, frozen: bool) -> bool:
    """Whether the cold trap's water reading is taken for frozen after a yield window: it did not change by
    a single count while the window before still yielded at or above ``yield_stop_kg_h`` (a batch's yield falls
    off over windows, it does not stop dead); a reading that moves again is trusted again. Reported once
    each way (``yield_reading_suspect``, ``yield_reading_moving``)."""
    stop_kg_h = ctx.config.yield_stop_kg_h
    if water != before:
        if frozen:
            ctx.events.info("mission", "yield_reading_moving", f"cold trap reading moving again: {water:.4f} kg")
        return False
    if not frozen and math.isfinite(previous_kg_h) and previous_kg_h >= stop_kg_h:
        ctx.events.warning(
            "mission",
            "yield_reading_suspect",
            f"cold trap reading stuck at {water:.4f} kg for {YIELD_WINDOW_S:g} s right after a yield of "
            f"{previous_kg_h:.4f} kg/h (a yield falls off, it does not stop dead): the reading is suspect; heating "
            f"on for heat_max_s ({ctx.config.heat_max_s:g} s) instead of stopping on it",
        )
        return True
    return frozen


def heater_off(ctx: MissionContext) -> None:
    """Set point and power to zero; a failure is reported, not raised (this runs while making safe)."""
    try:
        ctx.io.command("extractor", "heater_setpoint", kelvin=0.0)
        ctx.io.command("extractor", "heater_power", watts=0.0)
    except (HalError, CommandRejected, KeyError) as exc:
        ctx.events.error("mission", "heater_off_failed", str(exc))
