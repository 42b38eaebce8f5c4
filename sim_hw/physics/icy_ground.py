"""Properties of (icy) regolith that the drill and anchor models need, derived from a site's layers.

A :class:`~sim_hw.terrain.Layer` gives bulk density, unconfined compressive strength (UCS, which already
includes the strength pore ice adds), water mass fraction and temperature. From these this module derives
the Mohr-Coulomb friction angle and cohesion (for anchor pull-out), the thermal conductivity, heat capacity
and thermal inertia (for bit heating), and the vapour pressure and free-sublimation flux of ice (for the
water a hot bit drives off the cuttings). Equations and sources are in ``docs/sim/mechanics.md``.

SI units throughout: metres, kilograms, pascals, kelvin, watts, seconds; angles in radians.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass

from sim_hw.terrain import Layer

_LOGGER = logging.getLogger(__name__)

#: Molar gas constant, J/(mol K) (CODATA 2018), and the molar mass of water, kg/mol.
R_GAS = 8.314462618
M_WATER = 0.018015268
#: Density of ice Ih, kg/m^3.
ICE_DENSITY_KG_M3 = 917.0
#: Grain (solid) density of lunar soil, kg/m^3: specific gravity ~3.1 (Carrier et al. 1991, Lunar Sourcebook 9.1.3).
GRAIN_DENSITY_KG_M3 = 3100.0
#: Thermal conductivity of dry regolith at ~1 m depth, W/(m K) (Hayne et al. 2017, JGR Planets 122, k_d).
K_DRY_VACUUM_W_MK = 3.4e-3
#: Thermal conductivity of dry simulant with gas-filled pores at 1 atm, W/(m K) (engineering assumption).
K_DRY_GAS_W_MK = 0.2
#: Share of the pore ice's conductivity that shows up in the mixture (grain contacts bridged by ice);
#: engineering assumption.
ICE_BRIDGE_FACTOR = 0.1
#: Above this ambient pressure the pores hold gas and sublimation is diffusion-limited, Pa (assumption).
GAS_FILLED_PRESSURE_PA = 100.0
#: Free-sublimation flux is divided by this when the pores hold gas (diffusion-limited; assumption).
DIFFUSION_LIMIT_FACTOR = 1.0e3
#: Melting point of ice, K.
T_MELT_K = 273.15

#: Bulk density (kg/m^3) -> friction angle (deg): the Lunar Sourcebook's recommended typical values for the
#: 0-15, 0-30 and 30-60 cm intervals (Carrier, Olhoeft & Mendell 1991, table 9.12), clamped outside.
_FRICTION_KNOTS = ((1500.0, 42.0), (1580.0, 46.0), (1740.0, 54.0))
#: Hayne et al. (2017) eq. A6 coefficients of the regolith specific heat polynomial, J/(kg K).
_HAYNE_CP = (-3.6125, 2.7431, 2.3616e-3, -1.2340e-5, 8.9093e-9)
_HK = M_WATER / (2.0 * math.pi * R_GAS)


def friction_angle_rad(bulk_density_kg_m3: float) -> float:
    """Internal friction angle (rad) at this bulk density: piecewise linear in :data:`_FRICTION_KNOTS`."""
    knots = _FRICTION_KNOTS
    if bulk_density_kg_m3 <= knots[0][0]:
        return math.radians(knots[0][1])
    for (r0, p0), (r1, p1) in itertools.pairwise(knots):
        if bulk_density_kg_m3 <= r1:
            return math.radians(p0 + (p1 - p0) * (bulk_density_kg_m3 - r0) / (r1 - r0))
    return math.radians(knots[-1][1])


def cohesion_from_ucs(ucs_Pa: float, friction_rad: float) -> float:
    """Mohr-Coulomb cohesion (Pa) of a material with this UCS: c = UCS / (2 tan(45 deg + phi/2))."""
    return ucs_Pa / (2.0 * math.tan(math.pi / 4.0 + friction_rad / 2.0))


def cp_regolith(T: float) -> float:
    """Specific heat of regolith, J/(kg K): Hayne et al. (2017) eq. A6 polynomial, T clamped to 10..1000 K."""
    T = 10.0 if T < 10.0 else (1000.0 if T > 1000.0 else T)
    c0, c1, c2, c3, c4 = _HAYNE_CP
    return c0 + T * (c1 + T * (c2 + T * (c3 + T * c4)))


def k_ice(T: float) -> float:
    """Thermal conductivity of crystalline ice, W/(m K): 567 / T (Klinger 1980, Science 209), T >= 20 K."""
    return 567.0 / (T if T > 20.0 else 20.0)


def pore_ice_saturation(ice_fraction: float, bulk_density_kg_m3: float) -> float:
    """Share of the pore volume filled with ice (0..1), from the water mass fraction and bulk density."""
    if ice_fraction <= 0.0:
        return 0.0
    ice_volume = ice_fraction * bulk_density_kg_m3 / ICE_DENSITY_KG_M3
    dry = bulk_density_kg_m3 * (1.0 - ice_fraction)
    porosity = 1.0 - dry / GRAIN_DENSITY_KG_M3
    if porosity <= 0.05:
        return 1.0
    return min(1.0, ice_volume / porosity)


def ice_vapour_pressure_Pa(T: float) -> float:
    """Saturation vapour pressure over ice, Pa (Murphy & Koop 2005, QJRMS 131, eq. 7); 0 below 20 K."""
    if T < 20.0:
        return 0.0
    T = T_MELT_K if T > T_MELT_K else T
    return math.exp(9.550426 - 5723.265 / T + 3.53068 * math.log(T) - 0.00728332 * T)


def latent_heat_sublimation_J_kg(T: float) -> float:
    """Latent heat of sublimation of ice, J/kg (Murphy & Koop 2005 eq. 5), T clamped to 30..273.16 K."""
    T = 30.0 if T < 30.0 else (273.16 if T > 273.16 else T)
    return (46782.5 + 35.8925 * T - 0.07414 * T * T + 541.5 * math.exp(-((T / 123.75) ** 2))) / M_WATER


def sublimation_flux_kg_m2_s(T: float, ambient_pressure_Pa: float = 0.0) -> float:
    """Free-sublimation mass flux of ice at ``T`` into vacuum, kg/(m^2 s): Hertz-Knudsen with unit
    coefficient, p_sat(T) sqrt(M / (2 pi R T)). Divided by :data:`DIFFUSION_LIMIT_FACTOR` in gas."""
    if T < 20.0:
        return 0.0
    flux = ice_vapour_pressure_Pa(T) * math.sqrt(_HK / T)
    return flux / DIFFUSION_LIMIT_FACTOR if ambient_pressure_Pa > GAS_FILLED_PRESSURE_PA else flux


@dataclass(frozen=True)
class GroundProps:
    """Derived properties of one layer (SI): UCS and cohesion (Pa), friction angle (rad), pore-ice
    saturation (0..1), thermal conductivity (W/(m K)), specific heat (J/(kg K)), thermal inertia
    (J m^-2 K^-1 s^-1/2)."""

    ucs_Pa: float
    cohesion_Pa: float
    friction_rad: float
    ice_saturation: float
    conductivity_W_mK: float
    cp_J_kgK: float
    thermal_inertia: float


def ground_props(layer: Layer, ambient_pressure_Pa: float = 0.0) -> GroundProps:
    """Everything the mechanical models need to know about ``layer`` (see :class:`GroundProps`).

    Frozen water bridges the grains and raises the conductivity: k = k_dry + porosity-share S k_ice F
    (S: pore-ice saturation, F: :data:`ICE_BRIDGE_FACTOR`). Above the melting point the water is not ice.
    """
    ucs = max(0.0, layer.strength_kPa) * 1000.0
    phi = friction_angle_rad(layer.bulk_density_kg_m3)
    frozen = layer.water_form == "ice" and layer.temperature_K < T_MELT_K
    saturation = pore_ice_saturation(layer.ice_fraction, layer.bulk_density_kg_m3) if frozen else 0.0
    k_dry = K_DRY_GAS_W_MK if ambient_pressure_Pa > GAS_FILLED_PRESSURE_PA else K_DRY_VACUUM_W_MK
    k = k_dry + saturation * k_ice(layer.temperature_K) * ICE_BRIDGE_FACTOR
    cp = cp_regolith(layer.temperature_K)
    return GroundProps(
        ucs_Pa=ucs,
        cohesion_Pa=cohesion_from_ucs(ucs, phi),
        friction_rad=phi,
        ice_saturation=saturation,
        conductivity_W_mK=k,
        cp_J_kgK=cp,
        thermal_inertia=math.sqrt(k * layer.bulk_density_kg_m3 * cp),
    )


class GroundCache:
    """Memoises :func:`ground_props` per layer object (layers are immutable), so a device step that asks
    for the same layer again costs a dictionary lookup."""

    def __init__(self, ambient_pressure_Pa: float = 0.0) -> None:
        self.ambient_pressure_Pa = ambient_pressure_Pa
        self._props: dict[int, tuple[Layer, GroundProps]] = {}

    def props(self, layer: Layer) -> GroundProps:
        """The derived properties of ``layer``."""
        hit = self._props.get(id(layer))
        if hit is not None and hit[0] is layer:
            return hit[1]
        props = ground_props(layer, self.ambient_pressure_Pa)
        if len(self._props) > 4096:  # a long run over many generated columns: start afresh
            self._props.clear()
        self._props[id(layer)] = (layer, props)
        return props


def default_layer(surface_temp_K: float) -> Layer:
    """The ground between sites (no site data): dry, loose surface regolith down to 3 m at the body's
    surface temperature, with the Lunar Sourcebook's typical 0-15 cm density and a UCS of 2.5 kPa
    (0.52 kPa cohesion at 42 deg)."""
    phi = math.radians(42.0)
    ucs_kPa = 0.52 * 2.0 * math.tan(math.pi / 4.0 + phi / 2.0)
    return Layer(0.0, 3.0, 1500.0, ucs_kPa, 0.0, surface_temp_K)
