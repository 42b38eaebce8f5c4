"""Properties of (icy) regolith that the drill and anchor models need, derived from a site's layers.

A :class:`~sim_hw.terrain.Layer` gives bulk density, unconfined compressive strength (UCS, which already
includes the strength pore ice adds), water mass fraction and temperature. From these this module derives
the Mohr-Coulomb friction angle and cohesion (for anchor pull-out), the thermal conductivity, heat capacity
and thermal inertia (for bit heating), and the vapour pressure and free-sublimation flux of ice (for the
water a hot bit drives off the cuttings). Equations and sources are in ``docs/sim/mechanics.md``.

One model per quantity: the properties of water and of the regolith's heat capacity come from
:mod:`sim_hw.physics.thermal` (the extractor's model), and the friction angle and the UCS-to-cohesion
conversion defined here are the ones the scoop (:mod:`sim_hw.physics.excavation`) uses too.

SI units throughout: metres, kilograms, pascals, kelvin, watts, seconds; angles in radians.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass

from sim_hw.physics.thermal import (
    cp_regolith,
    hertz_knudsen_factor,
    p_sat_ice,
)
from sim_hw.terrain import Layer

_LOGGER = logging.getLogger(__name__)

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

#: Dry bulk density (kg/m^3) -> friction angle (deg): the Lunar Sourcebook's recommended typical values for
#: the 0-15, 0-30 and 30-60 cm intervals (Carrier, Olhoeft & Mendell 1991, table 9.12), clamped outside.
_FRICTION_KNOTS = ((1500.0, 42.0), (1580.0, 46.0), (1740.0, 54.0))
#: Friction angle of asteroid regolith, deg (assumption shared with the terrain model's asteroid strength).
ASTEROID_FRICTION_DEG = 35.0


def friction_angle_rad(dry_density_kg_m3: float, body: str = "moon") -> float:
    """Internal friction angle (rad) of the grain skeleton at this dry bulk density on ``body``: piecewise
    linear in :data:`_FRICTION_KNOTS` (a constant on an asteroid). Pore ice adds cohesion, not friction,
    so icy layers use the density of their dry skeleton."""
    if body == "asteroid":
        return math.radians(ASTEROID_FRICTION_DEG)
    knots = _FRICTION_KNOTS
    if dry_density_kg_m3 <= knots[0][0]:
        return math.radians(knots[0][1])
    for (r0, p0), (r1, p1) in itertools.pairwise(knots):
        if dry_density_kg_m3 <= r1:
            return math.radians(p0 + (p1 - p0) * (dry_density_kg_m3 - r0) / (r1 - r0))
    return math.radians(knots[-1][1])


def dry_density_kg_m3(layer: Layer) -> float:
    """Density of a layer's dry skeleton, kg/m^3 (the bulk density holds the pore water's mass too)."""
    return layer.bulk_density_kg_m3 * (1.0 - layer.ice_fraction)


def cohesion_from_ucs(ucs_Pa: float, friction_rad: float) -> float:
    """Mohr-Coulomb cohesion (Pa) of a material with this UCS: c = UCS / (2 tan(45 deg + phi/2))."""
    return ucs_Pa / (2.0 * math.tan(math.pi / 4.0 + friction_rad / 2.0))


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
    """Saturation vapour pressure over pore ice, Pa: :func:`sim_hw.physics.thermal.p_sat_ice` (Murphy & Koop
    2005), held at its melting-point value above it (ice at a hot bit does not outlast melting)."""
    return p_sat_ice(T_MELT_K if T > T_MELT_K else T)


def sublimation_flux_kg_m2_s(T: float, ambient_pressure_Pa: float = 0.0) -> float:
    """Free-sublimation mass flux of ice at ``T`` into vacuum, kg/(m^2 s): Hertz-Knudsen with unit
    coefficient, p_sat(T) sqrt(M / (2 pi R T)). Divided by :data:`DIFFUSION_LIMIT_FACTOR` in gas."""
    if T < 20.0:
        return 0.0
    flux = ice_vapour_pressure_Pa(T) * hertz_knudsen_factor(T)
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


def ground_props(layer: Layer, ambient_pressure_Pa: float = 0.0, body: str = "moon") -> GroundProps:
    """Everything the mechanical models need to know about ``layer`` on ``body`` (see :class:`GroundProps`).

    Frozen water bridges the grains and raises the conductivity: k = k_dry + porosity-share S k_ice F
    (S: pore-ice saturation, F: :data:`ICE_BRIDGE_FACTOR`). Above the melting point the water is not ice.
    """
    ucs = max(0.0, layer.strength_kPa) * 1000.0
    phi = friction_angle_rad(dry_density_kg_m3(layer), body)
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

    def __init__(self, ambient_pressure_Pa: float = 0.0, body: str = "moon") -> None:
        self.ambient_pressure_Pa = ambient_pressure_Pa
        self.body = body
        self._props: dict[int, tuple[Layer, GroundProps]] = {}

    def props(self, layer: Layer) -> GroundProps:
        """The derived properties of ``layer``."""
        hit = self._props.get(id(layer))
        if hit is not None and hit[0] is layer:
            return hit[1]
        props = ground_props(layer, self.ambient_pressure_Pa, self.body)
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
