"""Hopping in microgravity: a flywheel-torquer launch, the ballistic arc, bounces and settling.

The rover moves the way MINERVA-II moved on Ryugu (Yoshimitsu et al. 2003, Acta Astronautica 52, 441:
an internal torquer whose reaction against the ground launches the rover at a few cm/s) and MASCOT's
eccentric-arm mobility did (Ho et al. 2017, Space Sci. Rev. 208, 339; Ho et al. 2021, Planet. Space Sci.
200, 105200): the launch velocity is set by the torquer, then the rover flies, bounces and settles with
no control over where it ends up. On a body this small the hop is a ballistic arc under the local gravity
``g`` (flat-ground approximation, valid for launch speeds well under the escape speed)::

    time of flight  T = 2 v sin(theta) / g,      range  R = v^2 sin(2 theta) / g

A launch at or above the surface escape speed ``sqrt(2 GM / r)`` never comes back: the rover is lost.

Each impact follows Brach's impulse model of a rigid body on a rough surface: the normal speed is
reversed and multiplied by the coefficient of restitution ``e``; the tangential speed loses the Coulomb
friction impulse ``mu (1 + e) v_n`` (never more than it has). ``e`` is drawn uniformly in 0.2..0.4 per
impact: Philae's first touchdown on 67P rebounded at 0.38 m/s from about 1 m/s (Biele et al. 2015, Science
349, aaa9816); a rover on Bennu's fines is assumed no livelier. Boulders and slopes scatter the bounce
direction (a normal spread of :data:`SCATTER_RAD` about the incoming heading, assumption). Once the
rebound is below :data:`SETTLE_SPEED_M_S` the rover slides to rest at the friction deceleration ``mu g``
(the settling time). Launch errors (speed 5 %, heading 0.1 rad, elevation 0.05 rad, 1 sigma) are
assumptions of the same order as MINERVA-II's hop-direction uncertainty. SI units throughout.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

#: Coulomb friction coefficient of the rover's feet on regolith (tan 31 deg, assumption).
FRICTION = 0.6
#: Range of the coefficient of restitution per impact (see the module docstring).
RESTITUTION = (0.2, 0.4)
#: Bounce direction scatter, rad (1 sigma; assumption).
SCATTER_RAD = 0.3
#: Rebound normal speed below which the rover stops bouncing and slides to rest, m/s.
SETTLE_SPEED_M_S = 1.0e-3
#: Launch dispersion, 1 sigma: relative speed, heading (rad), elevation (rad) (assumptions).
LAUNCH_SPEED_SIGMA = 0.05
LAUNCH_HEADING_SIGMA_RAD = 0.1
LAUNCH_ELEVATION_SIGMA_RAD = 0.05


def time_of_flight_s(speed_m_s: float, elevation_rad: float, gravity_m_s2: float) -> float:
    """Time of one ballistic arc on flat ground, s."""
    return 2.0 * speed_m_s * math.sin(elevation_rad) / gravity_m_s2


def hop_range_m(speed_m_s: float, elevation_rad: float, gravity_m_s2: float) -> float:
    """Ground range of one ballistic arc on flat ground, m."""
    return speed_m_s**2 * math.sin(2.0 * elevation_rad) / gravity_m_s2


def launch_speed_for_m(distance_m: float, elevation_rad: float, gravity_m_s2: float) -> float:
    """Launch speed (m/s) whose first arc covers ``distance_m`` on flat ground."""
    return math.sqrt(max(distance_m, 0.0) * gravity_m_s2 / math.sin(2.0 * elevation_rad))


@dataclass
class Hop:
    """One hop in progress: position (m, z up from the local surface), velocity (m/s) and phase.

    ``phase`` is ``ballistic``, ``settling`` (sliding to rest), ``settled`` or ``lost`` (launched at or above
    the escape speed)."""

    x_m: float
    y_m: float
    vx: float
    vy: float
    vz: float
    z_m: float = 0.0
    phase: str = "ballistic"
    bounces: int = 0
    peak_impact_m_s: float = 0.0  # fastest normal impact so far, m/s
    start: tuple[float, float] = (0.0, 0.0)

    @property
    def ground_speed_m_s(self) -> float:
        """Speed over the surface, m/s."""
        return math.hypot(self.vx, self.vy)

    @property
    def distance_m(self) -> float:
        """Ground distance from the launch point, m."""
        return math.hypot(self.x_m - self.start[0], self.y_m - self.start[1])


def launch(
    x_m: float,
    y_m: float,
    heading_rad: float,
    speed_m_s: float,
    elevation_rad: float,
    escape_speed_m_s: float,
    rng: random.Random,
) -> Hop:
    """The hop a launch command gives, with launch dispersion; ``lost`` at or above the escape speed."""
    speed = speed_m_s * max(0.0, 1.0 + rng.gauss(0.0, LAUNCH_SPEED_SIGMA))
    heading = heading_rad + rng.gauss(0.0, LAUNCH_HEADING_SIGMA_RAD)
    elevation = min(max(elevation_rad + rng.gauss(0.0, LAUNCH_ELEVATION_SIGMA_RAD), 0.05), 1.5)
    horizontal = speed * math.cos(elevation)
    hop = Hop(
        x_m,
        y_m,
        horizontal * math.cos(heading),
        horizontal * math.sin(heading),
        speed * math.sin(elevation),
        start=(x_m, y_m),
    )
    if speed >= escape_speed_m_s:
        hop.phase = "lost"
    return hop


def step(hop: Hop, dt: float, gravity_m_s2: float, rng: random.Random) -> bool:
    """Advance ``hop`` by ``dt`` s; True when it bounced during this step."""
    if hop.phase == "lost":  # leaving the body: straight up and away, ever faster relative to the surface
        hop.z_m += hop.vz * dt
        hop.x_m += hop.vx * dt
        hop.y_m += hop.vy * dt
        return False
    if hop.phase == "settling":
        speed = hop.ground_speed_m_s
        slowed = max(0.0, speed - FRICTION * gravity_m_s2 * dt)
        if speed > 0.0:
            hop.x_m += 0.5 * (speed + slowed) * dt * hop.vx / speed
            hop.y_m += 0.5 * (speed + slowed) * dt * hop.vy / speed
            hop.vx, hop.vy = hop.vx * slowed / speed, hop.vy * slowed / speed
        if slowed <= 0.0:
            hop.vx = hop.vy = 0.0
            hop.phase = "settled"
        return False
    if hop.phase != "ballistic":
        return False
    z = hop.z_m + hop.vz * dt - 0.5 * gravity_m_s2 * dt * dt
    if z > 0.0:
        hop.z_m, hop.vz = z, hop.vz - gravity_m_s2 * dt
        hop.x_m += hop.vx * dt
        hop.y_m += hop.vy * dt
        return False
    # impact within this step: time to contact from z + vz t - g t^2 / 2 = 0
    disc = hop.vz * hop.vz + 2.0 * gravity_m_s2 * hop.z_m
    t_hit = min(dt, (hop.vz + math.sqrt(max(disc, 0.0))) / gravity_m_s2)
    hop.x_m += hop.vx * t_hit
    hop.y_m += hop.vy * t_hit
    impact(hop, -(hop.vz - gravity_m_s2 * t_hit), rng)
    return True


def impact(hop: Hop, normal_speed_m_s: float, rng: random.Random) -> None:
    """One bounce (Brach's impulse model): restitution on the normal speed, friction impulse on the
    tangential speed, the bounce direction scattered by the ground."""
    hop.bounces += 1
    hop.peak_impact_m_s = max(hop.peak_impact_m_s, normal_speed_m_s)
    hop.z_m = 0.0
    e = rng.uniform(*RESTITUTION)
    speed = hop.ground_speed_m_s
    tangential = max(0.0, speed - FRICTION * (1.0 + e) * normal_speed_m_s)
    direction = math.atan2(hop.vy, hop.vx) + rng.gauss(0.0, SCATTER_RAD)
    hop.vx, hop.vy = tangential * math.cos(direction), tangential * math.sin(direction)
    hop.vz = e * normal_speed_m_s
    if hop.vz < SETTLE_SPEED_M_S:
        hop.vz = 0.0
        hop.phase = "settling" if tangential > 0.0 else "settled"
