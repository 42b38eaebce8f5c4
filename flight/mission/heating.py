"""Heating skill: bake a sealed batch until its water yield falls off, and switch the heater off."""

from __future__ import annotations

import math
from collections.abc import Generator

from flight.errors import CommandRejected
from flight.mission.context import MissionContext
from hal.errors import HalError

#: Window over which the water yield rate is measured, s.
YIELD_WINDOW_S = 300.0


def heat_batch(ctx: MissionContext) -> Generator[None, None, str]:
    """Heat under temperature control until the water yield rate (over 5-minute windows) has fallen
    below ``yield_stop_kg_h`` — once the yield has risen above it or the chamber has reached its set
    point, so a cold batch still warming up toward sublimation is not stopped before it yields — or
    ``heat_max_s`` has passed; then the heater is switched off. Returns why heating stopped."""
    cfg = ctx.config
    ctx.io.command("extractor", "heater_setpoint", kelvin=cfg.heater_setpoint_K)
    start = ctx.now()
    window_t, window_w = start, ctx.get("extractor.water_kg")
    rate_kg_h = math.inf
    yielding = False
    while True:
        yield
        now = ctx.now()
        if now - window_t >= YIELD_WINDOW_S:
            water = ctx.get("extractor.water_kg")
            rate_kg_h = (water - window_w) / (now - window_t) * 3600.0
            window_t, window_w = now, water
            hot = ctx.get("extractor.chamber_temp_K") >= cfg.heater_setpoint_K - 10.0
            yielding = yielding or rate_kg_h >= cfg.yield_stop_kg_h or hot
        if now - start >= cfg.heat_min_s and yielding and rate_kg_h < cfg.yield_stop_kg_h:
            reason = f"yield rate {rate_kg_h:.4f} kg/h below {cfg.yield_stop_kg_h:g} kg/h"
            break
        if now - start >= cfg.heat_max_s:
            reason = f"heating time limit {cfg.heat_max_s:g} s reached"
            break
    ctx.io.command("extractor", "heater_setpoint", kelvin=0.0)
    ctx.io.command("extractor", "heater_power", watts=0.0)
    return reason


def heater_off(ctx: MissionContext) -> None:
    """Set point and power to zero; a failure is reported, not raised (this runs while making safe)."""
    try:
        ctx.io.command("extractor", "heater_setpoint", kelvin=0.0)
        ctx.io.command("extractor", "heater_power", watts=0.0)
    except (HalError, CommandRejected, KeyError) as exc:
        ctx.events.error("mission", "heater_off_failed", str(exc))
