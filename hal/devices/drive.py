"""Driver of the skid-steer wheel drive (ICD device ``drive``, address 0x06)."""

from __future__ import annotations

from dataclasses import dataclass

from hal.device import Device
from hal.icd import DRIVE
from hal.limits import Limit
from hal.motion import Motion
from hal.protocol import AckResult
from hal.telemetry import TelemetryBase


@dataclass(frozen=True)
class DriveTelemetry(TelemetryBase):
    """One drive telemetry snapshot (SI units, as in the ICD; odometry in the start frame)."""

    x_m: float
    y_m: float
    heading_rad: float
    v_m_s: float  # measured forward speed, m/s
    omega_rad_s: float  # measured turn rate, rad/s
    current_left_A: float
    current_right_A: float
    slip: float  # slip ratio estimate, 0..1
    odometer_m: float  # distance driven since boot, m

    @property
    def moving(self) -> bool:
        """True while the rover translates or turns measurably (1 mm/s, 1 mrad/s)."""
        return abs(self.v_m_s) > 1e-3 or abs(self.omega_rad_s) > 1e-3


class Drive(Device[DriveTelemetry]):
    """The wheel drive: direct wheel speeds, body twist, and closed distance/angle motions."""

    spec = DRIVE
    telemetry_class = DriveTelemetry
    LIMITS = (
        Limit(
            "max_speed_m_s",
            "m/s",
            "fastest ground speed (wheel, body or move)",
            args=(("wheels", "left_m_s"), ("wheels", "right_m_s"), ("twist", "v_m_s"), ("move", "speed_m_s")),
        ),
        Limit(
            "max_turn_rate_rad_s",
            "rad/s",
            "fastest turn rate",
            args=(("twist", "omega_rad_s"), ("turn", "rate_rad_s")),
        ),
        Limit("max_slip", "", "highest slip ratio (flight stops driving above it)", telemetry="slip"),
    )

    def wheels(self, left_m_s: float, right_m_s: float) -> AckResult:
        """Set the left and right wheel ground speeds, m/s (positive forward)."""
        return self.act("wheels", left_m_s=left_m_s, right_m_s=right_m_s)

    def twist(self, v_m_s: float, omega_rad_s: float) -> AckResult:
        """Set the body forward speed, m/s, and turn rate, rad/s (positive counter-clockwise)."""
        return self.act("twist", v_m_s=v_m_s, omega_rad_s=omega_rad_s)

    def move(self, distance_m: float, speed_m_s: float) -> Motion:
        """Drive straight for ``distance_m`` metres (negative: backwards) at ``speed_m_s`` m/s, then stop."""
        return self.start("move", distance_m=distance_m, speed_m_s=speed_m_s)

    def turn(self, angle_rad: float, rate_rad_s: float) -> Motion:
        """Turn in place by ``angle_rad`` radians (positive counter-clockwise) at ``rate_rad_s`` rad/s."""
        return self.start("turn", angle_rad=angle_rad, rate_rad_s=rate_rad_s)
