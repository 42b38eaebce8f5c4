"""Excavation physics: the soil a bucket cuts and the force it takes.

The cutting resistance is the McKyes & Ali wide-blade wedge model (McKyes 1985, as written out for lunar
regolith by Wilkinson & DeGennaro 2007):

    F = w (gamma d^2 N_gamma + c d N_c + q d N_q + c_a d N_a),  gamma = rho g

with the N factors functions of the rake angle, the soil friction angle, the soil-tool friction angle and
the failure-plane angle, which is chosen to minimise F (the soil fails along the weakest plane). Soil
properties come from the site's layers; the friction angle follows the dry density through the Lunar
Sourcebook's recommended values, and the cohesion follows from the layer's unconfined compressive strength
through Mohr-Coulomb — both from :mod:`sim_hw.physics.icy_ground`, the model the drill and anchors use.
Sources and assumptions are listed in ``docs/sim/extraction.md``.

SI units: metres, kilograms, newtons, pascals, radians, kelvin.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from sim_hw.errors import ModelParameterError
from sim_hw.physics.icy_ground import cohesion_from_ucs, default_layer, friction_angle_rad
from sim_hw.terrain import Layer, Site

_LOGGER = logging.getLogger(__name__)

#: Dry surface regolith where no site data exists: the ground between sites (``default_layer``).
NOMINAL_DENSITY_KG_M3 = default_layer(250.0).bulk_density_kg_m3


@dataclass(frozen=True)
class CutSoil:
    """Mean properties of the soil between two depths: bulk density (kg/m^3, water included), cohesion (Pa),
    friction angle (rad), water mass fractions held as ice and bound in hydrated minerals (0..1) and
    temperature (K)."""

    density_kg_m3: float
    cohesion_Pa: float
    friction_rad: float
    ice_fraction: float
    temperature_K: float
    hydrated_fraction: float = 0.0


def nominal_soil(temperature_K: float) -> CutSoil:
    """The ground between sites (:func:`~sim_hw.physics.icy_ground.default_layer`) at ``temperature_K``."""
    layer = default_layer(temperature_K)
    phi = friction_angle_rad(layer.bulk_density_kg_m3)
    return CutSoil(
        layer.bulk_density_kg_m3, cohesion_from_ucs(layer.strength_kPa * 1000.0, phi), phi, 0.0, temperature_K
    )


def soil_between(site: Site, top_m: float, bottom_m: float, body: str = "moon") -> CutSoil:
    """Mean soil of ``site``'s column between ``top_m`` and ``bottom_m`` below the surface on ``body``:
    thickness-weighted density and strength (``strength_kPa`` is the unconfined compressive strength),
    mass-weighted water fractions (by water form) and temperature. Below the column the deepest layer
    continues."""
    if not bottom_m > top_m >= 0.0:
        raise ModelParameterError(f"soil interval must satisfy 0 <= top < bottom, got {top_m} .. {bottom_m} m")
    thick = mass = ucs = ice = bound = heat = 0.0
    for layer in site.layers:
        overlap = min(bottom_m, layer.bottom_m) - max(top_m, layer.top_m)
        if overlap <= 0.0:
            continue
        thick, mass, ucs, ice, bound, heat = _accumulate(layer, overlap, thick, mass, ucs, ice, bound, heat)
    if thick <= 0.0:
        layer = site.layers[-1]
        thick, mass, ucs, ice, bound, heat = _accumulate(layer, bottom_m - top_m, 0, 0, 0, 0, 0, 0)
    density = mass / thick
    water = (ice + bound) / mass
    phi = friction_angle_rad(density * (1.0 - water), body)
    return CutSoil(density, cohesion_from_ucs(ucs / thick, phi), phi, ice / mass, heat / mass, bound / mass)


def _accumulate(
    layer: Layer, overlap: float, thick: float, mass: float, ucs: float, ice: float, bound: float, heat: float
) -> tuple[float, float, float, float, float, float]:
    m = overlap * layer.bulk_density_kg_m3
    water = m * layer.ice_fraction
    if getattr(layer, "water_form", "ice") == "hydrated":
        bound += water
    else:
        ice += water
    return (
        thick + overlap,
        mass + m,
        ucs + overlap * layer.strength_kPa * 1000.0,
        ice,
        bound,
        heat + m * layer.temperature_K,
    )


@dataclass(frozen=True)
class Blade:
    """The cutting edge: width (m), rake angle from the horizontal (rad), soil-tool friction as a fraction
    of the soil friction angle, soil-tool adhesion (Pa)."""

    width_m: float = 0.20
    rake_rad: float = math.radians(45.0)
    tool_friction_ratio: float = 0.5
    adhesion_Pa: float = 0.0


@dataclass(frozen=True)
class CuttingFactors:
    """McKyes N factors at one failure-plane angle (rad)."""

    n_gamma: float
    n_c: float
    n_q: float
    n_a: float
    failure_rad: float


def mckyes_factors(rake_rad: float, phi_rad: float, delta_rad: float, failure_rad: float) -> CuttingFactors:
    """The N factors of the McKyes & Ali wedge for rake angle ``rake_rad`` (beta), soil friction ``phi_rad``,
    soil-tool friction ``delta_rad`` and failure-plane angle ``failure_rad`` (rho), all radians."""
    b, r = rake_rad, failure_rad
    cot_b = 1.0 / math.tan(b)
    cot_r = 1.0 / math.tan(r)
    cot_rp = 1.0 / math.tan(r + phi_rad)
    denom = math.cos(b + delta_rad) + math.sin(b + delta_rad) * cot_rp
    return CuttingFactors(
        n_gamma=(cot_b + cot_r) / (2.0 * denom),
        n_c=(1.0 + cot_r * cot_rp) / denom,
        n_q=(cot_b + cot_r) / denom,
        n_a=(1.0 - cot_b * cot_rp) / denom,
        failure_rad=r,
    )


class CutResistance:
    """Cutting force of one blade in one soil, F(d) in newtons for a cut depth d in metres.

    The failure-plane angle is found once (at ``design_depth_m``) by minimising the force over 1..89
    degrees, so :meth:`force_N` is a cheap polynomial afterwards.
    """

    def __init__(
        self, soil: CutSoil, blade: Blade, gravity_m_s2: float, design_depth_m: float, surcharge_Pa: float = 0.0
    ) -> None:
        if not (design_depth_m > 0.0 and gravity_m_s2 >= 0.0):
            raise ModelParameterError(
                f"cut resistance needs depth > 0 and gravity >= 0, got {design_depth_m} m, {gravity_m_s2} m/s^2"
            )
        self.soil = soil
        self.blade = blade
        self.unit_weight_N_m3 = soil.density_kg_m3 * gravity_m_s2
        self.surcharge_Pa = surcharge_Pa
        delta = blade.tool_friction_ratio * soil.friction_rad
        best: CuttingFactors | None = None
        best_force = math.inf
        for degrees in range(1, 90):
            rho = math.radians(degrees)
            if rho + soil.friction_rad >= math.pi:
                break
            factors = mckyes_factors(blade.rake_rad, soil.friction_rad, delta, rho)
            force = self._force(factors, design_depth_m)
            if 0.0 < force < best_force:
                best, best_force = factors, force
        if best is None:
            raise ModelParameterError(
                f"no admissible failure plane for rake {blade.rake_rad} rad, phi {soil.friction_rad}"
            )
        self.factors = best

    def _force(self, f: CuttingFactors, d: float) -> float:
        return self.blade.width_m * (
            self.unit_weight_N_m3 * d * d * f.n_gamma
            + self.soil.cohesion_Pa * d * f.n_c
            + self.surcharge_Pa * d * f.n_q
            + self.blade.adhesion_Pa * d * f.n_a
        )

    def force_N(self, depth_m: float) -> float:
        """Total soil reaction on the blade at cut depth ``depth_m`` (0 for no cut), N."""
        return self._force(self.factors, depth_m) if depth_m > 0.0 else 0.0
