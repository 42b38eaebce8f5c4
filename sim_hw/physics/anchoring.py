"""Screw anchors: pull-out capacity, installation torque and the rover body's uplift when they give.

Capacity of one helical anchor (helix diameter ``D`` at depth ``H``) follows Meyerhof & Adams (1968) for
a c-phi soil, with the breakout factors of their table for circular plates::

    shallow (H <= H_cr):  Q = pi c D H + s_f (pi/2) gamma D H^2 K_u tan(phi) + W,  s_f = 1 + m H / D
    deep    (H >  H_cr):  Q = pi c D H + s_f (pi/2) gamma D (2H - H_cr) H_cr K_u tan(phi) + W

``W`` is the weight of the soil cylinder above the helix, ``gamma = rho g`` the unit weight (tiny in
microgravity, where only cohesion holds). Cohesion, friction angle and unit weight are averaged over the
column above the helix. The installation torque follows the capacity-to-torque correlation of Hoyt &
Clemence (1989), ``Q = K_t T``: an anchor that reaches the motor's torque limit is seated at refusal.

Where the helix refuses on ice-cemented ground before it is seated, the anchor's rotary-percussive pilot
tip hammers its way on: it advances at the rate its hammer's useful power breaks the ground at the
drilling specific energy (the same model as the drill's, :func:`sim_hw.physics.drilling.specific_energy_Pa`).

The body moves when the drill's thrust exceeds the rover's weight plus the anchors' capacity; the anchors
then come out of the ground with it. Equations, parameters and sources: ``docs/sim/mechanics.md``.
SI units throughout.
"""

from __future__ import annotations

import bisect
import logging
import math
from dataclasses import dataclass

from sim_hw.physics.drilling import specific_energy_Pa
from sim_hw.physics.icy_ground import GroundCache
from sim_hw.terrain import Layer, Site

_LOGGER = logging.getLogger(__name__)

#: Meyerhof & Adams (1968) circular-plate uplift table, as reproduced by Das (1990, "Earth Anchors"):
#: friction angle (deg) -> (critical embedment ratio H_cr/D, shape coefficient m).
_BREAKOUT_TABLE = (
    (20.0, 2.5, 0.05),
    (25.0, 3.0, 0.10),
    (30.0, 4.0, 0.15),
    (35.0, 5.0, 0.25),
    (40.0, 7.0, 0.35),
    (45.0, 9.0, 0.50),
    (48.0, 11.0, 0.60),
)
#: Nominal uplift coefficient of earth pressure on the failure surface (Meyerhof & Adams 1968: 0.7-0.95).
UPLIFT_COEFFICIENT = 0.95


_TABLE_PHI = tuple(math.radians(row[0]) for row in _BREAKOUT_TABLE)


def breakout_factors(friction_rad: float) -> tuple[float, float]:
    """(H_cr / D, m) of the Meyerhof-Adams table at this friction angle (linear between rows, clamped)."""
    table = _BREAKOUT_TABLE
    i = bisect.bisect_left(_TABLE_PHI, friction_rad)
    if i == 0:
        return table[0][1], table[0][2]
    if i >= len(table):
        return table[-1][1], table[-1][2]
    p0, p1 = _TABLE_PHI[i - 1], _TABLE_PHI[i]
    f = (friction_rad - p0) / (p1 - p0)
    _, h0, m0 = table[i - 1]
    _, h1, m1 = table[i]
    return h0 + f * (h1 - h0), m0 + f * (m1 - m0)


def uplift_capacity_N(
    depth_m: float, diameter_m: float, cohesion_Pa: float, unit_weight_N_m3: float, friction_rad: float
) -> float:
    """Meyerhof-Adams pull-out capacity (N) of a circular helix of ``diameter_m`` at ``depth_m`` in a soil of
    this cohesion (Pa), unit weight (N/m^3) and friction angle (rad)."""
    if depth_m <= 0.0:
        return 0.0
    h_ratio, m = breakout_factors(friction_rad)
    h_cr = h_ratio * diameter_m
    k_tan = UPLIFT_COEFFICIENT * math.tan(friction_rad)
    soil = unit_weight_N_m3 * math.pi * diameter_m * diameter_m * 0.25 * depth_m
    shear = math.pi * cohesion_Pa * diameter_m * depth_m
    if depth_m <= h_cr:
        s_f = 1.0 + m * depth_m / diameter_m
        friction = s_f * 0.5 * math.pi * unit_weight_N_m3 * diameter_m * depth_m * depth_m * k_tan
    else:
        s_f = 1.0 + m * h_ratio
        friction = s_f * 0.5 * math.pi * unit_weight_N_m3 * diameter_m * (2.0 * depth_m - h_cr) * h_cr * k_tan
    return shear + friction + soil


@dataclass(frozen=True)
class AnchorDesign:
    """Design parameters of one screw anchor and its drive (SI). Sources: ``docs/sim/mechanics.md``."""

    helix_diameter_m: float = 0.30
    helix_pitch_m: float = 0.075
    torque_factor_per_m: float = 33.0  # Hoyt & Clemence 1989, shafts under 89 mm
    torque_limit_Nm: float = 40.0
    no_load_rpm: float = 20.0
    retract_speed_m_s: float = 0.02
    structural_limit_N: float = 3000.0
    preload_rate_N_s: float = 200.0
    torque_constant_Nm_A: float = 5.0  # referred to the output shaft, after the gearbox
    no_load_current_A: float = 0.3
    winding_resistance_ohm: float = 0.5
    motor_efficiency: float = 0.6
    idle_W: float = 1.0
    refusal_speed_share: float = 0.02
    min_seated_m: float = 0.05
    pilot_diameter_m: float = 0.03  # percussive pilot tip, the shaft's diameter
    pilot_blow_J: float = 2.0  # pilot hammer: blow energy, rate and share reaching the ground (as the drill's)
    pilot_rate_Hz: float = 30.0
    pilot_transfer: float = 0.3
    pilot_electrical_W: float = 80.0
    pilot_min_speed_m_s: float = 1.0e-5  # slower than this (3.6 cm/h) the pilot has refused too
    pilot_torque_Nm: float = 10.0  # turning the pilot bit and the helix through the broken ground

    @property
    def full_speed_m_s(self) -> float:
        """Advance speed with no load, m/s: pitch x no-load revolutions per second."""
        return self.helix_pitch_m * self.no_load_rpm / 60.0

    @property
    def pilot_power_W(self) -> float:
        """Hammer power that reaches the ground at the pilot tip, W."""
        return self.pilot_transfer * self.pilot_blow_J * self.pilot_rate_Hz


DEFAULT_ANCHOR = AnchorDesign()


class ColumnProfile:
    """Running thickness-weighted sums of cohesion (Pa), bulk density (kg/m^3) and friction angle (rad)
    down a column, so the averages above any depth cost a bisection (the deepest layer continues below
    the column)."""

    def __init__(self, layers: tuple[Layer, ...], ground: GroundCache) -> None:
        self.layers = layers
        self.bottoms: list[float] = []
        self.sums: list[tuple[float, float, float]] = []
        self.props: list[tuple[float, float, float]] = []
        self.ucs: list[float] = []
        coh = rho = phi = 0.0
        for layer in layers:
            p = ground.props(layer)
            self.ucs.append(p.ucs_Pa)
            h = layer.bottom_m - layer.top_m
            self.props.append((p.cohesion_Pa, layer.bulk_density_kg_m3, p.friction_rad))
            self.bottoms.append(layer.bottom_m)
            self.sums.append((coh, rho, phi))  # sums above this layer's top
            coh += p.cohesion_Pa * h
            rho += layer.bulk_density_kg_m3 * h
            phi += p.friction_rad * h

    def ucs_at(self, depth_m: float) -> float:
        """UCS (Pa) of the layer at ``depth_m`` (the deepest layer continues below the column)."""
        i = bisect.bisect_right(self.bottoms, depth_m)
        return self.ucs[min(i, len(self.ucs) - 1)]

    def averages(self, depth_m: float) -> tuple[float, float, float]:
        """Mean cohesion (Pa), bulk density (kg/m^3) and friction angle (rad) from the surface to
        ``depth_m`` (> 0)."""
        i = bisect.bisect_left(self.bottoms, depth_m)
        if i >= len(self.bottoms):
            i = len(self.bottoms) - 1
        top = self.layers[i].top_m
        c0, r0, p0 = self.sums[i]
        c, r, p = self.props[i]
        h = depth_m - top
        return (c0 + c * h) / depth_m, (r0 + r * h) / depth_m, (p0 + p * h) / depth_m


def column_capacity_N(profile: ColumnProfile, depth_m: float, gravity_m_s2: float, design: AnchorDesign) -> float:
    """Pull-out capacity (N) of one anchor whose helix is ``depth_m`` below the surface of this column:
    :func:`uplift_capacity_N` with cohesion, unit weight and friction angle averaged over the soil above the
    helix, capped at the anchor's structural limit."""
    if depth_m <= 0.0:
        return 0.0
    coh, rho, phi = profile.averages(depth_m)
    q = uplift_capacity_N(depth_m, design.helix_diameter_m, coh, rho * gravity_m_s2, phi)
    return q if q < design.structural_limit_N else design.structural_limit_N


def pilot_speed_m_s(ucs_Pa: float, design: AnchorDesign = DEFAULT_ANCHOR) -> float:
    """Advance speed (m/s) of the percussive pilot tip in ground of this UCS: useful hammer power over the
    drilling specific energy times the tip area, at most the screw's no-load speed."""
    area = math.pi * design.pilot_diameter_m**2 / 4.0
    need = specific_energy_Pa(ucs_Pa) * area
    if need <= 0.0:
        return design.full_speed_m_s
    return min(design.full_speed_m_s, design.pilot_power_W / need)


def installation_torque_Nm(capacity_N: float, design: AnchorDesign = DEFAULT_ANCHOR) -> float:
    """Torque needed to keep screwing in an anchor whose capacity is ``capacity_N``: Q / K_t."""
    return capacity_N / design.torque_factor_per_m


def advance_speed_m_s(torque_Nm: float, design: AnchorDesign = DEFAULT_ANCHOR) -> float:
    """Screw-in speed at this torque (m/s): the drive's straight torque-speed line, zero at its limit."""
    share = 1.0 - torque_Nm / design.torque_limit_Nm
    return design.full_speed_m_s * share if share > 0.0 else 0.0


def anchor_drive_power_W(
    torque_Nm: float, speed_m_s: float, design: AnchorDesign = DEFAULT_ANCHOR
) -> tuple[float, float]:
    """(motor current in A, electrical power in W) of one anchor drive turning at ``speed_m_s`` against
    ``torque_Nm``."""
    omega = 2.0 * math.pi * speed_m_s / design.helix_pitch_m
    current = design.no_load_current_A + torque_Nm / design.torque_constant_Nm_A
    return current, omega * torque_Nm / design.motor_efficiency + current * current * design.winding_resistance_ohm


@dataclass
class BodyState:
    """Vertical motion of the rover body relative to the ground (positive up): lift (m), velocity (m/s)."""

    lift_m: float = 0.0
    velocity_m_s: float = 0.0


def body_step(body: BodyState, dt: float, thrust_N: float, weight_N: float, holding_N: float, mass_kg: float) -> bool:
    """Advance the body by ``dt`` under the drill's upward ``thrust_N``; returns True while it slips upward.

    The anchors' capacity resists upward motion like Coulomb friction (up to ``holding_N``); nothing but
    the drill string resists a fall, and the ground stops it.
    """
    net = thrust_N - weight_N
    v = body.velocity_m_s
    lift = body.lift_m
    if v > 0.0 or net > holding_N:
        a = (net - holding_N) / mass_kg
        v_new = v + a * dt
        if v > 0.0 and v_new < 0.0:
            v_new = 0.0  # the anchors stick again at the top of the motion
    elif lift > 0.0 and net < 0.0:
        v_new = v + net / mass_kg * dt
    else:
        v_new = 0.0 if lift <= 0.0 or net >= 0.0 else v
    lift += 0.5 * (v + v_new) * dt
    if lift <= 0.0:
        lift = 0.0
        if v_new < 0.0:
            v_new = 0.0
    body.lift_m = lift
    body.velocity_m_s = v_new
    return v_new > 0.0


class AnchorSet:
    """Four (or ``count``) screw anchors: their extension, commanded depth and preload, and the body.

    ``extension_m`` is how far each anchor is screwed out of the rover (what its encoder counts);
    ``embedment(i)`` is how deep its helix is in the ground once the body's lift is taken off.
    """

    def __init__(
        self,
        count: int = 4,
        design: AnchorDesign = DEFAULT_ANCHOR,
        *,
        ambient_pressure_Pa: float = 0.0,
        spread: tuple[float, ...] = (),
        body: str = "moon",
    ) -> None:
        self.design = design
        self.count = count
        self.ground = GroundCache(ambient_pressure_Pa, body)
        self.spread = spread or (1.0,) * count  # per-anchor variability of the local ground strength
        self.extension_m = [0.0] * count
        self.target_m = [0.0] * count
        self.preload_N = [0.0] * count
        self.preload_cmd_N = [0.0] * count
        self.seated = [False] * count  # reached the target depth or seated at refusal
        self.refused = [False] * count
        self.piloting = [False] * count  # the helix refused short of seating; the percussive pilot advances
        self.capacity_N = [0.0] * count
        self.torque_Nm = [0.0] * count
        self.body = BodyState()
        self._profile: ColumnProfile | None = None
        self._embedded = [-1.0] * count

    def embedment(self, i: int) -> float:
        """Depth of anchor ``i``'s helix below the surface, m."""
        e = self.extension_m[i] - self.body.lift_m
        return e if e > 0.0 else 0.0

    def update_capacity(self, site_layers: tuple[Layer, ...], gravity_m_s2: float) -> float:
        """Recompute the capacity of every anchor whose embedment or ground changed; returns the total (N)."""
        profile = self._profile
        if profile is None or profile.layers is not site_layers:
            profile = self._profile = ColumnProfile(site_layers, self.ground)
            self._embedded = [-1.0] * self.count
        lift = self.body.lift_m
        embedded = self._embedded
        total = 0.0
        for i in range(self.count):
            e = self.extension_m[i] - lift
            e = e if e > 0.0 else 0.0
            if e != embedded[i]:
                embedded[i] = e
                self.capacity_N[i] = column_capacity_N(profile, e, gravity_m_s2, self.design) * self.spread[i]
            total += self.capacity_N[i]
        return total

    def tip_ucs_Pa(self, i: int) -> float:
        """UCS (Pa) of the ground at anchor ``i``'s tip (0 before a column is known)."""
        profile = self._profile
        return profile.ucs_at(self.embedment(i)) if profile is not None else 0.0

    def deployed(self, i: int) -> bool:
        """True when anchor ``i`` is screwed in to its commanded depth or seated at refusal."""
        return self.seated[i] and self.extension_m[i] > 0.0


def site_layers(site: Site | None, fallback: tuple[Layer, ...]) -> tuple[Layer, ...]:
    """The column under the rover: the site's layers, or ``fallback`` between sites."""
    return site.layers if site is not None else fallback
