"""The rover's physical state that the device models share (SI units)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RoverState:
    """Physical state shared between device models (SI units). Devices write what they cause and read
    what they feel; the comments say who writes each field."""

    x_m: float = 0.0  # drive
    y_m: float = 0.0  # drive
    heading_rad: float = 0.0  # drive
    speed_m_s: float = 0.0  # drive
    yaw_rate_rad_s: float = 0.0  # drive
    mass_kg: float = 120.0  # configuration
    drill_thrust_N: float = 0.0  # drill: axial reaction pushing the rover up
    drill_torque_Nm: float = 0.0  # drill: reaction torque on the body
    drill_depth_m: float = 0.0  # drill
    vibration_m_s2: float = 0.0  # drill (percussion, rotation)
    anchor_holding_N: float = 0.0  # anchor: holding force available against uplift
    anchored: bool = False  # anchor: all anchors deployed and preloaded
    anchor_depth_m: float = 0.0  # anchor: extension of the deepest anchor (screwed in: the rover is held)
    body_lift_m: float = 0.0  # anchor: how far the rover was pushed off the ground
    body_velocity_m_s: float = 0.0  # anchor: uplift/slip velocity of the body
    bus_on: dict[str, bool] = field(default_factory=dict)  # power: bus name -> switched on (absent = on)
