"""Driver of the rotary-percussive auger drill (ICD device ``drill``, address 0x01)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from hal.device import Device
from hal.icd import DRILL
from hal.limits import Limit
from hal.motion import Motion
from hal.protocol import AckResult
from hal.telemetry import TelemetryBase


@dataclass(frozen=True)
class DrillTelemetry(TelemetryBase):
    """One drill telemetry snapshot (SI units, as in the ICD)."""

    rpm: float  # measured auger speed, rpm
    depth_m: float  # bit depth below the surface, m
    feed_rate_m_s: float  # measured feed rate, m/s, positive down
    torque_Nm: float  # auger torque, N*m
    current_A: float  # motor current, A
    power_W: float  # electrical power, W
    bit_temp_K: float  # bit temperature, K
    wob_N: float  # weight on bit, N
    cuttings_kg: float  # cuttings brought up since the last retract, kg
    volatiles_ice_fraction: float  # ice mass fraction of the cuttings, 0..1
    percussion: bool  # hammer on

    @property
    def rotary_energy_J_m(self) -> float | None:
        """Rotary mechanical energy spent per metre drilled, J/m: torque x angular speed / feed rate.
        A rising value at constant feed means harder (e.g. icier) material. None while not feeding."""
        if self.feed_rate_m_s <= 0:
            return None
        return self.torque_Nm * self.rpm * (2 * math.pi / 60) / self.feed_rate_m_s


class Drill(Device[DrillTelemetry]):
    """The drill: auger rotation, feed axis and percussion hammer."""

    spec = DRILL
    telemetry_class = DrillTelemetry
    LIMITS = (
        Limit("max_rpm", "rpm", "fastest auger speed", args=(("spin", "rpm"),)),
        Limit("max_depth_m", "m", "deepest feed target", args=(("feed", "depth_m"),)),
        Limit("max_feed_rate_m_s", "m/s", "fastest feed", args=(("feed", "rate_m_s"),)),
        Limit("max_torque_Nm", "N*m", "highest auger torque (flight stops the drill above it)", telemetry="torque_Nm"),
    )

    def spin(self, rpm: float) -> AckResult:
        """Set the auger speed, rpm (0 stops rotation)."""
        return self.act("spin", rpm=rpm)

    def feed(self, depth_m: float, rate_m_s: float) -> Motion:
        """Advance the auger to ``depth_m`` metres below the surface at ``rate_m_s`` m/s; the motion ends
        at the depth (OK) or on a stall (BLOCKED)."""
        return self.start("feed", depth_m=depth_m, rate_m_s=rate_m_s)

    def retract(self, rate_m_s: float) -> Motion:
        """Withdraw the auger to depth 0 at ``rate_m_s`` m/s."""
        return self.start("retract", rate_m_s=rate_m_s)

    def percussion(self, on: bool) -> AckResult:
        """Switch the hammer on or off."""
        return self.act("percussion", on=int(bool(on)))
