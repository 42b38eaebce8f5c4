"""Water release from regolith: adsorbed water, pore ice through the bed, and mineral-bound water.

Three reservoirs, each released by its own temperature- and time-dependent law (equations, parameters and
sources in ``docs/sim/extraction.md`` section 1.5):

* **adsorbed water** on grain surfaces: first-order Polanyi-Wigner desorption, k = nu exp(-E / k_B T),
  over a distribution of binding energies E (Hibbitts et al. 2011; Poston et al. 2015). The energy of
  desorption is E per molecule.
* **pore ice**: sublimation at the ice's vapour pressure, limited by the Knudsen diffusion of the vapour out
  through the dry layer the receding ice leaves behind (effective diffusivity measured in packed beds of
  JSC-1A, Schieber et al. 2021). The chamber combines this conductance in series with the Hertz-Knudsen
  flux of the ice surface.
* **mineral-bound water** (asteroid phyllosilicates): first-order Arrhenius dehydroxylation
  (:func:`sim_hw.physics.thermal.dehydration_rate_s`), placed in the thermogravimetric window of CI
  chondrites (King et al. 2015).

SI units: kelvin, pascal, kilogram, second, joule; binding energies in electronvolts.
"""

from __future__ import annotations

import math
from collections.abc import Callable

#: Boltzmann constant, eV/K (CODATA 2018).
K_B_EV = 8.617333262e-5
#: Joules per electronvolt; Avogadro constant, 1/mol (CODATA 2018).
EV_J = 1.602176634e-19
N_AVOGADRO = 6.02214076e23
#: Molar mass of water, kg/mol, and its specific gas constant, J/(kg K).
M_WATER = 0.018015268
R_VAPOUR = 8.314462618 / M_WATER

# ------------------------------------------------------------------------------------ adsorbed water
#: Pre-exponential factor of first-order desorption, 1/s: the conventional molecular vibration frequency
#: (**assumption**; the order used to reduce temperature-programmed desorption, TPD, of water from lunar
#: samples and analogues).
DESORPTION_PREFACTOR_S = 1.0e13
#: Binding energies of chemisorbed water: a continuum of sites from 0.5 to 1.3 eV on JSC-1A and albite
#: (Hibbitts et al. 2011); Apollo highland soil 72501 reaches about 1.5 eV (Poston et al. 2015).
DESORPTION_E_MIN_EV = 0.5
DESORPTION_E_MAX_EV = 1.3
#: Site population falls off toward strong sites, weight exp(-(E - E_min) / E_decay) (**assumption**: the
#: TPD profile of JSC-1A runs from 180 K to about 400 K, Hibbitts et al. 2011, so strong sites are few).
DESORPTION_E_DECAY_EV = 0.15
#: Number of binding-energy classes the distribution is discretised into.
DESORPTION_BINS = 8
#: Below this temperature desorption is negligible (the weakest class, 0.55 eV, desorbs at 1e-10 /s), K.
DESORPTION_MIN_K = 120.0
#: Water the grain surfaces hold, kg per kg of regolith: one monolayer (about 10^19 molecules/m^2,
#: 3.0e-7 kg/m^2) on a specific surface of 0.5 m^2/g (Lunar Sourcebook, Carrier et al. 1991: 0.02-0.78 m^2/g)
#: (**assumption** within those figures).
ADSORBED_CAPACITY_KG_KG = 1.5e-4

# ------------------------------------------------------------------------------------ pore ice
#: Effective Knudsen diffusivity of water vapour through a packed bed of JSC-1A at 350 K, m^2/s: 9.0-10.6
#: cm^2/s at porosities 0.365-0.388 (Schieber et al. 2021, Physics of Fluids 33); scales as sqrt(T).
KNUDSEN_D_REF_M2_S = 1.0e-3
KNUDSEN_T_REF_K = 350.0
#: Thinnest dry layer the vapour crosses: one grain, m (median grain of lunar soil ~70-100 um, Carrier et al.).
MIN_DRY_LAYER_M = 1.0e-4


def desorption_sites() -> tuple[tuple[float, float], ...]:
    """The binding-energy classes: (E in eV, fraction of the adsorbed water in that class); fractions sum
    to 1."""
    width = (DESORPTION_E_MAX_EV - DESORPTION_E_MIN_EV) / DESORPTION_BINS
    energies = [DESORPTION_E_MIN_EV + (i + 0.5) * width for i in range(DESORPTION_BINS)]
    weights = [math.exp(-(e - DESORPTION_E_MIN_EV) / DESORPTION_E_DECAY_EV) for e in energies]
    total = sum(weights)
    return tuple((e, w / total) for e, w in zip(energies, weights, strict=True))


SITES = desorption_sites()


def desorption_rate_s(energy_eV: float, T: float) -> float:
    """First-order desorption rate of water bound with ``energy_eV`` at ``T`` kelvin, 1/s."""
    if T <= 0.0:
        return 0.0
    return DESORPTION_PREFACTOR_S * math.exp(-energy_eV / (K_B_EV * T))


def desorption_energy_J_kg(energy_eV: float) -> float:
    """Energy to desorb one kilogram of water bound with ``energy_eV``, J/kg."""
    return energy_eV * EV_J * N_AVOGADRO / M_WATER


_WIDTH_EV = (DESORPTION_E_MAX_EV - DESORPTION_E_MIN_EV) / DESORPTION_BINS
_ENERGY_J_KG = tuple(desorption_energy_J_kg(e) for e, _ in SITES)


def desorb(bins: list[float], T: float, h: float) -> tuple[float, float]:
    """Desorb from the binding-energy classes ``bins`` (kg, in the order of :data:`SITES`, updated in
    place) over ``h`` seconds at ``T`` kelvin. Returns (kg desorbed, J of desorption energy). The rates of
    successive classes differ by the constant factor exp(-dE / k_B T): two exponentials, not eight."""
    x = 1.0 / (K_B_EV * T)
    rate = DESORPTION_PREFACTOR_S * math.exp(-SITES[0][0] * x)
    ratio = math.exp(-_WIDTH_EV * x)
    out = energy = 0.0
    for i, held in enumerate(bins):
        kh = rate * h
        if kh < 1e-15:
            break  # this class and every stronger one hold their water
        if held > 0.0:
            gone = held * (-math.expm1(-kh) if kh > 1e-6 else kh)
            if held - gone < 1e-18:  # emptied: drop the last traces so the class is skipped from now on
                gone = held
            bins[i] = held - gone
            out += gone
            energy += _ENERGY_J_KG[i] * gone
        rate *= ratio
    return out, energy


def knudsen_diffusivity_m2_s(T: float) -> float:
    """Effective diffusivity of water vapour through the packed bed at ``T`` kelvin, m^2/s."""
    return KNUDSEN_D_REF_M2_S * math.sqrt(max(T, 1.0) / KNUDSEN_T_REF_K)


def bed_conductance_kg_s_pa(
    bed_kg: float, bulk_density_kg_m3: float, path_m: float, released_fraction: float, T: float
) -> float:
    """Vapour conductance of the dry layer over the receding ice, kg/(s Pa).

    The bed of ``bed_kg`` at ``bulk_density_kg_m3`` releases its vapour over the area volume / ``path_m``
    (the depth of an unstirred bed, the turnover depth of a stirred one). The ice recedes from that face:
    with ``released_fraction`` of the pore ice gone the dry layer is that fraction of the path (at least
    one grain). Fick's law with the vapour an ideal gas, flux = D (p_sat - p) / (R_v T s), gives the
    conductance D A / (R_v T s). Infinite (no limit) for an empty bed."""
    if bed_kg <= 0.0 or path_m <= 0.0:
        return math.inf
    area = bed_kg / (bulk_density_kg_m3 * path_m)
    dry = max(path_m * min(max(released_fraction, 0.0), 1.0), MIN_DRY_LAYER_M)
    return knudsen_diffusivity_m2_s(T) * area / (R_VAPOUR * T * dry)


def series(a: float, b: float) -> float:
    """Two conductances in series (either may be infinite)."""
    if math.isinf(a):
        return b
    if math.isinf(b):
        return a
    return a * b / (a + b) if a + b > 0.0 else 0.0


# ------------------------------------------------------------------------------------ the ice front
#: Conductivity of the dry layer over the ice: dense regolith's contact conductivity and radiative term,
#: k = k_d (1 + chi (T / 350 K)^3), k_d = 3.4e-3 W/(m K), chi = 2.7 (Hayne et al. 2017, table A1).
DRY_LAYER_K_W_M_K = 3.4e-3
DRY_LAYER_CHI = 2.7
#: Latent heat of sublimation used to find the front's temperature, J/kg (Murphy & Koop 2005: 2.83-2.85
#: MJ/kg from 150 to 273 K).
FRONT_LATENT_J_KG = 2.84e6
#: The front is never colder than this while the bed releases (ice's vapour pressure is 3e-6 Pa there), K.
FRONT_MIN_K = 120.0
#: Nor warmer than the triple point: heat beyond what sublimation takes melts the ice there, K.
FRONT_MAX_K = 273.16


def front_temperature_K(
    T_bed: float, p_vapour_Pa: float, p_sat: Callable[[float], float], guess_K: float, k_factor: float = 1.0
) -> float:
    """Temperature of the receding ice front, K.

    Heat reaches the front by conduction through the dry layer and leaves it as the latent heat of the
    vapour that diffuses back out through the same layer. Both cross the same thickness s and area A, so
    s and A cancel and the front's temperature T_f solves

        k((T + T_f) / 2) (T - T_f) = L_s D(T_f) (p_sat(T_f) - p_v) / (R_v T_f),

    whatever the depth of the front: a hot bed sublimates its ice at 250-270 K (the front is held cold by
    its own sublimation), and the release rate falls as the dry layer grows (the square-root law of a
    receding sublimation front). ``k_factor`` multiplies the conductivity: stirring brings heat to the
    front faster than conduction; an infinite factor (heat deposited in the ice-bearing regolith itself,
    as by microwaves) puts the front at the bed's temperature. Newton's method from ``guess_K``; the bed's
    own temperature when the vapour is at or above saturation there (nothing diffuses out). A conducted
    front is never warmer than the triple point (:data:`FRONT_MAX_K`)."""
    if T_bed <= FRONT_MIN_K or math.isinf(k_factor) or p_sat(T_bed) <= p_vapour_Pa:
        return T_bed
    # Newton's method on ln p_sat(T_f) = ln(p_v + k (T - T_f) / c), c = L_s D / (R_v T_f): both sides are
    # smooth in T_f, where the balance itself is exponential and Newton would crawl down from a hot guess
    tf = min(max(guess_K, FRONT_MIN_K), T_bed - 0.5, 280.0)
    for _ in range(12):
        k = k_factor * DRY_LAYER_K_W_M_K * (1.0 + DRY_LAYER_CHI * (0.5 * (T_bed + tf) / 350.0) ** 3)
        c = FRONT_LATENT_J_KG * knudsen_diffusivity_m2_s(tf) / (R_VAPOUR * tf)
        q = p_vapour_Pa + k * (T_bed - tf) / c
        p = p_sat(tf)
        if p <= 0.0:
            tf = min(tf + 10.0, T_bed)
            continue
        h = math.log(p) - math.log(q)
        slope = FRONT_LATENT_J_KG / (R_VAPOUR * tf * tf) + (k / c) / q
        step = h / slope
        tf = min(max(tf - step, FRONT_MIN_K), T_bed - 1e-6)
        if abs(step) < 1e-3:
            break
    return min(tf, FRONT_MAX_K)
