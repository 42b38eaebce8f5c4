"""Limit bands of telemetry channels: what ground colours yellow and red and raises alarms on.

Bands come from, in increasing precedence: the channel's own entry (a field the ICD bounds, such as the state
of charge 0..1, a parameter's range); a red floor at zero for quantities that cannot be negative; fault
protection's single-watchpoint limits; limits the configuration states elsewhere (the battery's load-shed
threshold, the chamber's maximum temperature, the drill's maximum torque); and the
``[flight.limits."<channel>"]`` tables of the configuration (a rig states its own). They go
into the channel dictionary flight sends to ground; flight's own protection is the interlocks and fault
protection, not these bands.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from base.config_loader import setting
from flight.telemetry import ChannelSpec, TelemetryTable

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class LimitBand:
    """A channel's normal band (outside it: yellow) and its red band edges, in the channel's unit."""

    warn_low: float | None = setting(None, doc="below this the value is yellow")
    warn_high: float | None = setting(None, doc="above this the value is yellow")
    alarm_low: float | None = setting(None, doc="below this the value is red (an alarm)")
    alarm_high: float | None = setting(None, doc="above this the value is red (an alarm)")


def derived_limits(config: Any) -> dict[str, LimitBand]:
    """Bands that follow from limits the configuration states elsewhere (interlocks, device limits)."""
    interlocks = config.flight.interlocks
    bands = {
        "power.soc": LimitBand(warn_low=min(1.0, 2 * interlocks.low_battery_soc), alarm_low=interlocks.low_battery_soc),
        "extractor.chamber_temp_K": LimitBand(
            warn_high=interlocks.max_chamber_temp_K - interlocks.heater_margin_K,
            alarm_high=interlocks.max_chamber_temp_K,
        ),
    }
    drill = config.devices.get("drill")
    if drill is not None and "max_torque_Nm" in drill.limits:
        torque = drill.limits["max_torque_Nm"]
        bands["drill.torque_Nm"] = LimitBand(warn_high=0.8 * torque, alarm_high=torque)
    return bands


def fdir_limits(fdir: Any) -> dict[str, LimitBand]:
    """Bands from fault protection (a :class:`flight.config_fdir.FdirConfig`): a watchpoint that fires an
    actionpoint by itself (the actionpoint's expression is the watchpoint, or watchpoints joined by ``or``)
    bounds its channel at its threshold — red when the response acts, yellow when it only reports an event.
    Watchpoints that only matter together with others (``heater_on and lid_open``) are not limits."""
    bands: dict[str, LimitBand] = {}
    for action in fdir.actionpoints.values():
        words = action.expression.replace("(", " ").replace(")", " ").split()
        names = [w for w in words if w != "or"]
        if not names or any(n not in fdir.watchpoints for n in names):
            continue
        level = "warn" if action.response == "event" else "alarm"
        for name in names:
            watch = fdir.watchpoints[name]
            side = {">": "high", ">=": "high", "<": "low", "<=": "low"}.get(watch.op)
            if side is None:
                continue
            key = f"{level}_{side}"
            band = bands.get(watch.channel, LimitBand())
            bands[watch.channel] = dataclasses.replace(band, **{key: float(watch.threshold)})
    return bands


#: Units of quantities that cannot be negative: a reading below zero is a broken sensor (red).
NON_NEGATIVE_UNITS = ("K", "Pa", "kg", "W", "Wh")


def physical_limits(table: TelemetryTable) -> dict[str, LimitBand]:
    """A red floor at zero for every number channel whose unit cannot go negative (:data:`NON_NEGATIVE_UNITS`)
    and that states no floor of its own."""
    return {
        name: LimitBand(alarm_low=0.0)
        for name, spec in table.specs.items()
        if spec.unit in NON_NEGATIVE_UNITS and spec.type in ("float", "int") and spec.alarm_low is None
    }


def apply_limits(table: TelemetryTable, *layers: dict[str, LimitBand]) -> int:
    """Put the bands of ``layers`` into the channel dictionary of ``table`` (declaring channels not seen yet);
    a later layer overrides only the bounds it sets. Returns how many channels have a band."""
    touched: set[str] = set()
    for bands in layers:
        for name, band in bands.items():
            spec = table.specs.get(name) or ChannelSpec(name)
            bounds = {k: v for k, v in dataclasses.asdict(band).items() if v is not None}
            table.define(dataclasses.replace(spec, **bounds))
            touched.add(name)
    _LOGGER.debug("limit bands on %d channels", len(touched))
    return len(touched)
