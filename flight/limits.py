"""Limit bands of telemetry channels: what ground colours yellow and red and raises alarms on.

Bands come from the ``[flight.limits."<channel>"]`` tables of the configuration (a rig states its own),
and, for channels the configuration leaves out, from limits the configuration already states elsewhere:
the battery's load-shed threshold, the chamber's maximum temperature, the drill's maximum torque. They go
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


def apply_limits(table: TelemetryTable, bands: dict[str, LimitBand]) -> int:
    """Put ``bands`` into the channel dictionary of ``table`` (declaring channels not seen yet); returns how many."""
    for name, band in bands.items():
        spec = table.specs.get(name) or ChannelSpec(name)
        table.define(dataclasses.replace(spec, **dataclasses.asdict(band)))
    _LOGGER.debug("limit bands on %d channels", len(bands))
    return len(bands)
