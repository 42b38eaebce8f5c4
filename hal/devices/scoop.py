"""Driver of the regolith excavator arm (ICD device ``scoop``, address 0x02)."""

from __future__ import annotations

from dataclasses import dataclass

from hal.device import Device
from hal.icd import SCOOP
from hal.limits import Limit
from hal.motion import Motion
from hal.telemetry import TelemetryBase


@dataclass(frozen=True)
class ScoopTelemetry(TelemetryBase):
    """One scoop telemetry snapshot (SI units, as in the ICD)."""

    arm_angle_rad: float  # arm angle, rad, 0 horizontal, positive up
    bucket_load_kg: float  # bucket load-cell mass, kg
    current_A: float  # motor current, A
    dig_force_N: float  # digging resistance, N
    power_W: float  # electrical power, W
    dumped_kg: float  # regolith dumped into the hopper since boot, kg


class Scoop(Device[ScoopTelemetry]):
    """The excavator: arm positioning, digging, lifting and dumping into the extractor hopper."""

    spec = SCOOP
    telemetry_class = ScoopTelemetry
    LIMITS = (
        Limit("max_dig_depth_m", "m", "deepest cut", args=(("dig", "depth_m"),)),
        Limit("max_arm_speed_rad_s", "rad/s", "fastest arm motion", args=(("move", "speed_rad_s"),)),
        Limit("max_load_kg", "kg", "heaviest bucket load (flight reacts above it)", telemetry="bucket_load_kg"),
    )

    def move(self, angle_rad: float, speed_rad_s: float) -> Motion:
        """Move the arm to ``angle_rad`` radians (0 horizontal, positive up) at ``speed_rad_s`` rad/s."""
        return self.start("move", angle_rad=angle_rad, speed_rad_s=speed_rad_s)

    def dig(self, depth_m: float) -> Motion:
        """Lower the bucket into the regolith to a cut of ``depth_m`` metres and sweep it full."""
        return self.start("dig", depth_m=depth_m)

    def lift(self) -> Motion:
        """Raise the loaded bucket to the carry angle."""
        return self.start("lift")

    def dump(self) -> Motion:
        """Tip the bucket into the extractor hopper."""
        return self.start("dump")
