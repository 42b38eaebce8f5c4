"""Drilling in icy ground at a published operating point, simulated with the drill model.

The Icebreaker drill (Zacny et al. 2013, Astrobiology 13) drilled ice-cemented ground at about 1 m/h with
under 100 N on the bit and about 100 W. These cases put the drill model (:mod:`sim_hw.physics.drilling`)
into a uniform column of icy regolith whose strength follows the terrain model's icy-strength law
(:func:`sim_hw.terrain.icy_strength_gain_kPa`) and measure what it needs there: weight on bit, electrical
power and the fastest penetration 100 N allows. SI units: N, W, m/s (m/h where named), kelvin.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim_hw.physics.drilling import (
    DEFAULT_DESIGN,
    DrillEnvironment,
    DrillMechanics,
    contact_loads,
    face_loads,
    hammer_share,
    specific_energy_Pa,
)
from sim_hw.terrain import Layer, icy_strength_gain_kPa

#: Dry strength of the column, kPa (the terrain model's lunar dry UCS at ~0.3 m) and its dry density, kg/m^3.
DRY_UCS_KPA = 15.0
DRY_DENSITY_KG_M3 = 1750.0
#: The published operating point: 1 m/h (Zacny et al. 2013) at the mission's 120 rpm.
PUBLISHED_RATE_M_S = 1.0 / 3600.0
RPM = 120.0


@dataclass(frozen=True)
class Loads:
    """Mean loads while feeding: weight on bit N, electrical power W, torque N*m."""

    wob_N: float
    power_W: float
    torque_Nm: float


def icy_column(ice: float, temperature_K: float = 60.0) -> Layer:
    """A uniform 3 m column with water mass fraction ``ice`` at ``temperature_K``."""
    strength = DRY_UCS_KPA + icy_strength_gain_kPa(ice, temperature_K)
    return Layer(0.0, 3.0, DRY_DENSITY_KG_M3 / (1.0 - ice), strength, ice, temperature_K)


def drill_at(layer: Layer, rate_m_s: float, hammer: bool, seconds: float = 60.0) -> Loads:
    """Feed at ``rate_m_s`` and 120 rpm into ``layer`` (anchored with 5 kN) and average the loads after the
    first 20 s."""
    mech = DrillMechanics(ambient_K=layer.temperature_K)
    env = DrillEnvironment(layer_at=lambda _d: layer, holding_N=5000.0, ambient_K=layer.temperature_K)
    mech.rpm_cmd = RPM
    mech.percussion = hammer
    mech.start_feed(3.0, rate_m_s)
    wob, power, torque, n = 0.0, 0.0, 0.0, 0
    for i in range(round(seconds / 0.05)):
        mech.step(0.05, env)
        if i * 0.05 >= 20.0:
            wob, power, torque, n = wob + mech.wob_N, power + mech.power_W, torque + mech.torque_Nm, n + 1
    return Loads(wob / n, power / n, torque / n)


def rate_under_wob_m_s(layer: Layer, wob_N: float, hammer: bool = True) -> float:
    """The fastest penetration (m/s) whose bit thrust, (1 - s)(F_c + F_f), stays within ``wob_N``
    (bisection on the model's load equations at 120 rpm)."""
    d = DEFAULT_DESIGN
    ucs = layer.strength_kPa * 1000.0
    eps = specific_energy_Pa(ucs, d)

    def thrust(u: float) -> float:
        share = hammer_share(eps, u, d) if hammer else 0.0
        return face_loads(eps * (1.0 - share), RPM, u, d)[1] + contact_loads(ucs * (1.0 - share), d)[1]

    lo, hi = 0.0, 0.02
    if thrust(1e-9) > wob_N:
        return 0.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if thrust(mid) <= wob_N else (lo, mid)
    return lo
