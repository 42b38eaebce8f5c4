"""Driver of the microgravity hopping mobility (ICD device ``hopper``, address 0x08)."""

from __future__ import annotations

from dataclasses import dataclass

from hal.device import Device
from hal.icd import HOPPER
from hal.limits import Limit
from hal.motion import Motion
from hal.telemetry import TelemetryBase


@dataclass(frozen=True)
class HopperTelemetry(TelemetryBase):
    """One hopper telemetry snapshot (SI units, as in the ICD; position estimate in the start frame)."""

    flywheel_rpm: float
    x_m: float  # position estimate, m
    y_m: float
    height_m: float  # above the local surface, m (0 settled)
    speed_m_s: float  # over the surface, m/s
    hop_m: float  # ground distance of the last hop, m
    power_W: float
    hops: int
    bounces: int
    upright: int

    @property
    def settled(self) -> bool:
        """At rest on the surface, on its feet, not hopping."""
        return self.mode == "settled" and self.upright == 1 and self.height_m == 0.0


class Hopper(Device[HopperTelemetry]):
    """The hopper: flywheel-torquer hops and self-righting."""

    spec = HOPPER
    telemetry_class = HopperTelemetry
    LIMITS = (
        Limit(
            "max_hop_speed_m_s", "m/s", "fastest launch (keep it well under escape speed)", args=(("hop", "speed_m_s"),)
        ),
    )

    def hop(self, heading_rad: float, speed_m_s: float, elevation_rad: float) -> Motion:
        """Launch toward ``heading_rad`` (rad, position frame) at ``speed_m_s`` m/s and ``elevation_rad`` rad
        above the horizontal; the motion ends when the rover has settled (OK), tumbled or is lost (FAULT),
        or did not launch (BLOCKED)."""
        return self.start("hop", heading_rad=heading_rad, speed_m_s=speed_m_s, elevation_rad=elevation_rad)

    def upright(self) -> Motion:
        """Right a tumbled rover (flywheel torque pulses); ends OK upright or BLOCKED."""
        return self.start("upright")
