"""Sites and their regolith columns.

A site is a place the rover can drill: a position on the surface, its slope, how much sunlight reaches
it, how soft its surface soil is, and a column of layers, each with its bulk density, strength, water
mass fraction and temperature. Sites differ from one another deterministically for a seed — some are
rich, some poor, some hard, some dark — so prospecting matters.

The profiles are body-aware (the Moon's polar regolith, a Bennu-class asteroid, an Earth test rig) and
come from published measurements where they exist; ``docs/sim.md`` section "Sites" gives each equation,
range and source, and marks the engineering assumptions.

Units: metres, kg/m^3, kPa, K; ``ice_fraction`` is a mass fraction (kg of water per kg of material).
"""

from __future__ import annotations

import bisect
import itertools
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sim_hw import regolith_thermal as rt
from sim_hw.bodies import Body
from sim_hw.errors import ModelParameterError, UnknownBodyError

_LOGGER = logging.getLogger(__name__)

#: Depth of every generated column, m.
COLUMN_DEPTH_M = 3.0
#: Layer boundaries of generated columns, m (the ice table is inserted as one more boundary).
LAYER_BOUNDS_M = (0.0, 0.05, 0.10, 0.20, 0.30, 0.50, 0.75, 1.00, 1.50, 2.00, COLUMN_DEPTH_M)
#: Water forms a layer may hold.
WATER_FORMS = ("ice", "hydrated")
#: Distance within which the rover counts as standing on a site, metres.
SITE_RADIUS_M = 3.0


@dataclass(frozen=True)
class Layer:
    """One regolith layer, from ``top_m`` to ``bottom_m`` below the surface.

    ``bulk_density_kg_m3`` includes the water; ``strength_kPa`` is the unconfined compressive strength of
    the layer material; ``ice_fraction`` is the water mass fraction (0..1); ``temperature_K`` the layer's
    mean temperature; ``water_form`` says how the water is held: ``"ice"`` (cold-trapped, released on
    sublimation) or ``"hydrated"`` (bound in phyllosilicates, released by dehydration at higher
    temperature).
    """

    top_m: float
    bottom_m: float
    bulk_density_kg_m3: float
    strength_kPa: float
    ice_fraction: float
    temperature_K: float
    water_form: str = "ice"


@dataclass(frozen=True)
class Site:
    """A drilling site: ``index``, position (m), surface slope (rad) and its regolith column.

    ``slope_azimuth_rad`` is the direction (world frame, counter-clockwise from +x) in which the ground
    rises. ``kind`` names the site's archetype; ``illumination`` is the fraction of full sunlight reaching
    the rover's array there (0 in a permanently shadowed region); ``soil_factor`` scales the surface soil's
    bearing and shear strength relative to the body's reference soil (< 1 softer, more wheel slip);
    ``ice_table_m`` is the depth where water-bearing material starts (``inf`` if the column has none).
    """

    index: int
    x_m: float
    y_m: float
    slope_rad: float
    slope_azimuth_rad: float
    layers: tuple[Layer, ...]
    kind: str = "custom"
    illumination: float = 1.0
    soil_factor: float = 1.0
    ice_table_m: float = math.inf

    def __post_init__(self) -> None:
        if not self.layers:
            raise ModelParameterError(f"site {self.index}: a column needs at least one layer")
        if self.layers[0].top_m != 0.0:
            raise ModelParameterError(
                f"site {self.index}: the first layer must start at 0 m, got {self.layers[0].top_m}"
            )
        for upper, lower in itertools.pairwise(self.layers):
            if lower.top_m != upper.bottom_m:
                raise ModelParameterError(
                    f"site {self.index}: layers must be contiguous; one ends at {upper.bottom_m} m, "
                    f"the next starts at {lower.top_m} m"
                )
        for layer in self.layers:
            if not layer.bottom_m > layer.top_m:
                raise ModelParameterError(
                    f"site {self.index}: layer {layer.top_m}..{layer.bottom_m} m has no thickness"
                )
            if not 0.0 <= layer.ice_fraction <= 1.0:
                raise ModelParameterError(f"site {self.index}: ice_fraction {layer.ice_fraction} outside 0..1")
            if layer.water_form not in WATER_FORMS:
                raise ModelParameterError(
                    f"site {self.index}: water_form {layer.water_form!r}; expected one of {WATER_FORMS}"
                )
        if not 0.0 <= self.illumination <= 1.0:
            raise ModelParameterError(f"site {self.index}: illumination {self.illumination} outside 0..1")
        if not self.soil_factor > 0.0:
            raise ModelParameterError(f"site {self.index}: soil_factor must be > 0, got {self.soil_factor}")

    @cached_property
    def _bottoms(self) -> tuple[float, ...]:
        return tuple(layer.bottom_m for layer in self.layers)

    @property
    def depth_m(self) -> float:
        """Depth of the column's last layer bottom, m."""
        return self.layers[-1].bottom_m

    def layer_at(self, depth_m: float) -> Layer:
        """The layer at ``depth_m`` (the first layer above the surface, the deepest one below the column)."""
        i = bisect.bisect_right(self._bottoms, depth_m)
        return self.layers[min(i, len(self.layers) - 1)]

    def mean_ice_fraction(self, top_m: float, bottom_m: float) -> float:
        """Mass-weighted water mass fraction of the material between two depths (0 for an empty range)."""
        total = water = 0.0
        for layer in self.layers:
            overlap = min(bottom_m, layer.bottom_m) - max(top_m, layer.top_m)
            if overlap > 0:
                mass = overlap * layer.bulk_density_kg_m3
                total += mass
                water += mass * layer.ice_fraction
        return water / total if total > 0 else 0.0

    def column_mass_kg(self, top_m: float, bottom_m: float, area_m2: float) -> float:
        """Mass of material between two depths under ``area_m2`` of surface, kg."""
        mass = 0.0
        for layer in self.layers:
            overlap = min(bottom_m, layer.bottom_m) - max(top_m, layer.top_m)
            if overlap > 0:
                mass += overlap * layer.bulk_density_kg_m3 * area_m2
        return mass


def illumination_at(sites: Sequence[Site], x_m: float, y_m: float, radius_m: float) -> float:
    """Fraction of full sunlight at (``x_m``, ``y_m``): a site's own ``illumination`` within ``radius_m`` of
    it, elsewhere the inverse-square-distance weighted mean over the sites (1.0 with no sites)."""
    weights = lit = 0.0
    for site in sites:
        d2 = (site.x_m - x_m) ** 2 + (site.y_m - y_m) ** 2
        if d2 <= radius_m * radius_m:
            return site.illumination
        weights += 1.0 / d2
        lit += site.illumination / d2
    return lit / weights if weights > 0.0 else 1.0


# ----------------------------------------------------------------------------------------- generation
@dataclass(frozen=True)
class _Archetype:
    """Ranges (lo, hi) from which one kind of site is drawn."""

    kind: str
    illumination: tuple[float, float]
    temperature_K: tuple[float, float]
    ice_fraction: tuple[float, float]
    ice_table_m: tuple[float, float]
    soil_factor: tuple[float, float]
    slope_deg: tuple[float, float]
    hardness: tuple[float, float]  # multiplier on the strength of the water-bearing layers
    min_strength_kPa: tuple[float, float] = (0.0, 0.0)  # floor on the strength of the water-bearing layers


@dataclass(frozen=True)
class _Regolith:
    """A body's regolith model: dry density and dry strength profiles, thermal gradient, site kinds."""

    dry_density_kg_m3: Callable[[float], float]
    dry_strength_kPa: Callable[[float], float]
    thermal_gradient_K_m: float
    water_form: str
    ice_cements: bool
    landing_kinds: tuple[str, ...]
    archetypes: tuple[_Archetype, ...]
    #: Water grows with depth below the ice table (a natural deposit, section 3.1), or not (a bin mixed by hand).
    water_grows_with_depth: bool = True


def _moon_dry_density(z_m: float) -> float:
    """Carrier et al. (1991, Lunar Sourcebook eq. 9.6): rho = 1.92 (z + 12.2) / (z + 18) g/cm^3, z in cm."""
    z_cm = 100.0 * z_m
    return 1920.0 * (z_cm + 12.2) / (z_cm + 18.0)


#: Lunar Sourcebook (Carrier et al. 1991, table 9.12) recommended cohesion (kPa) and friction angle (deg),
#: placed at the middle of the depth intervals 0-15, 0-30 and 30-60 cm.
_MOON_STRENGTH_KNOTS = ((0.075, 0.52, 42.0), (0.15, 0.92, 45.5), (0.45, 3.1, 53.5))


def _mohr_coulomb_ucs_kPa(cohesion_kPa: float, friction_deg: float) -> float:
    """Unconfined compressive strength of a Mohr-Coulomb material: 2 c tan(45 deg + phi/2), kPa."""
    return 2.0 * cohesion_kPa * math.tan(math.radians(45.0 + friction_deg / 2.0))


def _moon_dry_strength(z_m: float) -> float:
    zs, cs, phis = zip(*_MOON_STRENGTH_KNOTS, strict=True)
    return _mohr_coulomb_ucs_kPa(float(np.interp(z_m, zs, cs)), float(np.interp(z_m, zs, phis)))


def _asteroid_dry_density(z_m: float) -> float:
    """Bennu's displaced near-subsurface material was 500-700 kg/m^3 (Lauretta et al. 2022, Science), about
    half the asteroid's 1190 kg/m^3 bulk (Barnouin et al. 2019); the e-folding depth of 1 m over which it
    approaches the bulk is an assumption."""
    return 600.0 + (1190.0 - 600.0) * (1.0 - math.exp(-z_m / 1.0))


def _asteroid_dry_strength(z_m: float) -> float:
    """Near-zero cohesion (Walsh et al. 2022, Science Advances); 2 Pa and 35 deg are assumptions."""
    return _mohr_coulomb_ucs_kPa(0.002, 35.0)


def _earth_dry_density(z_m: float) -> float:
    """Simulant poured loose (~1550 kg/m^3) and compacted by its own weight toward ~1800 kg/m^3 (assumption)."""
    return 1550.0 + 250.0 * (1.0 - math.exp(-z_m / 0.3))


def _earth_dry_strength(z_m: float) -> float:
    """Dry simulant: c = 1 kPa, phi = 45 deg (assumption within JSC-1A ranges, Alshibli et al. 2009)."""
    return _mohr_coulomb_ucs_kPa(1.0, 45.0)


#: Icy regolith strength model (engineering assumption anchored on published behaviour): penetration
#: resistance of icy JSC-1A at ~110 K jumps at a critical ice content of 1-3 wt% (pore-filling ice), and
#: near saturation icy simulant is as strong as high-strength concrete (Johnson et al. 2023, Icarus).
ICE_STRENGTH_AT_10PCT_kPa = 20_000.0
ICE_CRITICAL_FRACTION = 0.02


def icy_strength_gain_kPa(ice_fraction: float, temperature_K: float) -> float:
    """Strength that pore ice adds to dry regolith, kPa (see :data:`ICE_STRENGTH_AT_10PCT_kPa`).

    ``S(w, T) = S10 (w/0.10)^2 / (1 + exp(-(w - 0.02)/0.005)) (1 + 0.5 (1 - T/273))``: quadratic growth in
    the water mass fraction ``w``, a logistic step at the critical fraction, stronger ice when colder.
    """
    if ice_fraction <= 0.0:
        return 0.0
    step = 1.0 / (1.0 + math.exp(-(ice_fraction - ICE_CRITICAL_FRACTION) / 0.005))
    cold = 1.0 + 0.5 * max(0.0, 1.0 - temperature_K / 273.0)
    return ICE_STRENGTH_AT_10PCT_kPa * (ice_fraction / 0.10) ** 2 * step * cold


_MOON = _Regolith(
    dry_density_kg_m3=_moon_dry_density,
    dry_strength_kPa=_moon_dry_strength,
    # Heat flow 16-21 mW/m^2 (Apollo 15/17, Langseth et al. 1976) through regolith of ~0.01 W/(m K)
    # (order of Hayne et al. 2017's deep conductivity): about 1.8 K per metre.
    thermal_gradient_K_m=1.8,
    water_form="ice",
    ice_cements=True,
    landing_kinds=("sunlit_dry", "ice_stability_region"),
    archetypes=(
        # Permanently shadowed crater floor: 38-70 K (Paige et al. 2010), LCROSS-range ice 5.6 +/- 2.9 wt%
        # (Colaprete et al. 2010) under a thin desiccated lag; porous, soft surface.
        _Archetype(
            "psr_rich", (0.0, 0.0), (38.0, 70.0), (0.04, 0.085), (0.03, 0.15), (0.65, 0.9), (0.0, 6.0), (1.0, 1.3)
        ),
        # Shadowed but ice-poor: patchy, thin deposits.
        _Archetype(
            "psr_poor", (0.0, 0.0), (60.0, 100.0), (0.002, 0.015), (0.1, 0.4), (0.7, 0.95), (0.0, 8.0), (1.0, 1.2)
        ),
        # Ice-cemented, near-saturated layer close to the surface: rich but very hard to drill.
        _Archetype(
            "hard_icy", (0.0, 0.2), (40.0, 80.0), (0.06, 0.10), (0.02, 0.08), (0.8, 1.2), (0.0, 10.0), (1.5, 2.5)
        ),
        # Sunlit ridge: too warm for near-surface ice; easy driving, full sun.
        _Archetype(
            "sunlit_dry",
            (0.8, 1.0),
            (70.0, 110.0),
            (0.0, 0.0),
            (math.inf, math.inf),
            (0.9, 1.3),
            (2.0, 15.0),
            (1.0, 1.0),
        ),
        # Seasonally shadowed ice stability region (subsurface cold trap, Paige et al. 2010): some sun,
        # ice below a dry layer of 0.3-0.8 m.
        _Archetype(
            "ice_stability_region",
            (0.05, 0.2),
            (40.0, 60.0),
            (0.01, 0.04),
            (0.3, 0.8),
            (0.8, 1.1),
            (3.0, 15.0),
            (1.0, 1.5),
        ),
    ),
)

_ASTEROID = _Regolith(
    dry_density_kg_m3=_asteroid_dry_density,
    dry_strength_kPa=_asteroid_dry_strength,
    thermal_gradient_K_m=0.0,
    water_form="hydrated",
    ice_cements=False,
    landing_kinds=(),
    archetypes=(
        # Fine-particulate pond of aqueously altered material (hydrated phyllosilicates, CI-like: Lauretta et
        # al. 2024); water mass fractions are assumptions for CI/CM-like material.
        _Archetype(
            "fines_pond", (0.8, 1.0), (250.0, 270.0), (0.06, 0.10), (0.0, 0.0), (0.6, 0.9), (0.0, 12.0), (1.0, 1.0)
        ),
        # Boulder buried at a shallow depth: Bennu's weak boulders, order of 1 MPa (Rozitis et al. 2020).
        _Archetype(
            "boulder",
            (0.7, 1.0),
            (250.0, 270.0),
            (0.03, 0.06),
            (0.05, 0.3),
            (0.9, 1.3),
            (5.0, 20.0),
            (1.0, 1.0),
            (500.0, 1500.0),
        ),
        # Space-weathered, partly dehydrated surface material.
        _Archetype(
            "depleted", (0.8, 1.0), (255.0, 275.0), (0.005, 0.02), (0.0, 0.0), (0.7, 1.0), (0.0, 15.0), (1.0, 1.0)
        ),
        # Shadowed side of a large boulder: less sun, ordinary material.
        _Archetype(
            "shadowed", (0.2, 0.5), (230.0, 250.0), (0.03, 0.07), (0.0, 0.1), (0.7, 1.0), (0.0, 10.0), (1.0, 1.0)
        ),
    ),
)

_EARTH = _Regolith(
    dry_density_kg_m3=_earth_dry_density,
    dry_strength_kPa=_earth_dry_strength,
    thermal_gradient_K_m=0.0,
    water_form="ice",
    ice_cements=True,
    landing_kinds=(),
    water_grows_with_depth=False,  # mixed to its water content before freezing: the same at every depth
    archetypes=(
        # Bins of simulant mixed with water and frozen (freezer at ~253 K, assumption); dry bin at room T.
        _Archetype(
            "bin_dry", (1.0, 1.0), (293.0, 293.0), (0.0, 0.0), (math.inf, math.inf), (0.9, 1.1), (0.0, 3.0), (1.0, 1.0)
        ),
        _Archetype(
            "bin_frozen_5pct",
            (1.0, 1.0),
            (250.0, 256.0),
            (0.045, 0.055),
            (0.02, 0.05),
            (0.9, 1.1),
            (0.0, 3.0),
            (1.0, 1.0),
        ),
        _Archetype(
            "bin_frozen_10pct",
            (1.0, 1.0),
            (250.0, 256.0),
            (0.095, 0.105),
            (0.02, 0.05),
            (0.9, 1.1),
            (0.0, 3.0),
            (1.0, 1.2),
        ),
        _Archetype(
            "bin_frozen_2pct",
            (1.0, 1.0),
            (250.0, 256.0),
            (0.015, 0.025),
            (0.02, 0.05),
            (0.9, 1.1),
            (0.0, 3.0),
            (1.0, 1.0),
        ),
    ),
)

_REGOLITH: dict[str, _Regolith] = {"moon": _MOON, "asteroid": _ASTEROID, "earth": _EARTH}
_BODY_SALT = {"moon": 1, "asteroid": 2, "earth": 3}


def regolith_kinds(body: Body) -> tuple[str, ...]:
    """The site kinds ``generate_sites`` draws from on ``body``."""
    return tuple(a.kind for a in _regolith(body).archetypes)


def _regolith(body: Body) -> _Regolith:
    try:
        return _REGOLITH[body.name]
    except KeyError:
        raise UnknownBodyError(
            f"no regolith model for body {body.name!r}; expected one of {sorted(_REGOLITH)}"
        ) from None


def _kind_order(rng: np.random.Generator, model: _Regolith, count: int) -> list[_Archetype]:
    """Archetypes for ``count`` sites: every kind once per round, in a seeded order; site 0 (where the
    rover lands) is one of the body's landing kinds if it has any."""
    by_kind = {a.kind: a for a in model.archetypes}
    order: list[_Archetype] = []
    remaining = list(model.archetypes)
    if model.landing_kinds and count > 0:
        first = by_kind[model.landing_kinds[int(rng.integers(len(model.landing_kinds)))]]
        order.append(first)
        remaining = [a for a in remaining if a is not first]
    while len(order) < count:
        for i in rng.permutation(len(remaining)):
            order.append(remaining[int(i)])
        remaining = list(model.archetypes)
    return order[:count]


def _draw(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    lo, hi = bounds
    return lo if lo == hi else float(rng.uniform(lo, hi))


def _snap(depth_m: float) -> float:
    """An ice-table depth rounded to 5 mm, or onto a standard layer boundary within 1 cm of it."""
    depth_m = round(depth_m / 0.005) * 0.005
    nearest = min(LAYER_BOUNDS_M, key=lambda b: abs(b - depth_m))
    return nearest if abs(nearest - depth_m) < 0.01 else round(depth_m, 3)


@dataclass(frozen=True)
class _ColumnDraws:
    """The random part of one site's column, drawn before its geometry (the draw order fixes every seed's
    sites): water fraction, the kind's ice table (m, before the stability check), hardness, strength
    floor (kPa), density scale, and per layer of the drawn column (top, bottom, water jitter or None above
    the table, strength jitter)."""

    water: float
    table_m: float
    hardness: float
    floor_kPa: float
    density_scale: float
    jitters: tuple[tuple[float, float, float | None, float], ...]

    def jitter_at(self, depth_m: float) -> tuple[float, float]:
        """Water and strength jitter of the drawn layer holding ``depth_m``."""
        for top, bottom, w_jitter, s_jitter in self.jitters:
            if top <= depth_m < bottom:
                return (1.0 if w_jitter is None else w_jitter), s_jitter
        return 1.0, 1.0


def _draw_column(rng: np.random.Generator, kind: _Archetype) -> _ColumnDraws:
    water = _draw(rng, kind.ice_fraction)
    table = _snap(_draw(rng, kind.ice_table_m)) if water > 0 else math.inf
    hardness = _draw(rng, kind.hardness)
    floor_kPa = _draw(rng, kind.min_strength_kPa)
    density_scale = float(rng.normal(1.0, 0.03))
    bounds = sorted(set(LAYER_BOUNDS_M) | ({table} if 0.0 < table < COLUMN_DEPTH_M else set()))
    jitters = []
    for top, bottom in itertools.pairwise(bounds):
        w_jitter = float(rng.uniform(0.9, 1.1)) if top >= table else None
        jitters.append((top, bottom, w_jitter, float(rng.uniform(0.85, 1.15))))
    return _ColumnDraws(water, table, hardness, floor_kPa, density_scale, tuple(jitters))


def _column(model: _Regolith, draws: _ColumnDraws, thermal: _Thermal) -> tuple[tuple[Layer, ...], float]:
    """Layers of one site and its ice table (m); ``thermal`` gives the layer temperatures, and ice is kept
    only at and below its stability depth and only in layers whose warmest temperature of the day stays
    below :data:`ICE_STABILITY_K` at their top, middle and bottom (heat flow warms the deep column: a thin
    stable zone can end within it). The ice table is the top of the first layer holding ice."""
    table = draws.table_m
    stable_below_m = thermal.stable_below_m
    if table < stable_below_m:
        table = _snap(stable_below_m) if stable_below_m < COLUMN_DEPTH_M else math.inf
    bounds = sorted(set(LAYER_BOUNDS_M) | ({table} if 0.0 < table < COLUMN_DEPTH_M else set()))
    layers = []
    first_ice = math.inf
    for top, bottom in itertools.pairwise(bounds):
        mid = 0.5 * (top + bottom)
        temperature = thermal.temperature_at(mid)
        w_jitter, s_jitter = draws.jitter_at(mid)
        # Water content grows with depth below the table (LCROSS plume models: Luchsinger et al. 2021).
        w = 0.0
        if top >= table and thermal.stable(top, mid, bottom):
            first_ice = min(first_ice, top)
            trend = 0.75 + 0.5 * min(1.0, (mid - table) / 1.0) if model.water_grows_with_depth else 1.0
            w = min(draws.water * trend * w_jitter, 0.3)
        dry = model.dry_density_kg_m3(mid) * draws.density_scale
        strength = model.dry_strength_kPa(mid) * s_jitter
        if w > 0:
            if model.ice_cements:
                strength += icy_strength_gain_kPa(w, temperature)
            strength = max(strength * draws.hardness, draws.floor_kPa)
        layers.append(
            Layer(
                top_m=top,
                bottom_m=bottom,
                bulk_density_kg_m3=dry / (1.0 - w),  # pore water adds mass, not volume
                strength_kPa=strength,
                ice_fraction=w,
                temperature_K=temperature,
                water_form=model.water_form,
            )
        )
    return tuple(layers), first_ice


#: Ice is kept only where the warmest temperature of the day stays below this, K: above ~110 K ice
#: sublimates faster than ~1 mm per Gyr (Paige et al. 2010, Science 330; Schorghofer & Taylor 2007).
ICE_STABILITY_K = 110.0


@dataclass(frozen=True)
class _Thermal:
    """A site's temperatures: ``temperature_at(depth)`` at the mission's local time (K), the shallowest
    depth where ice is stable (m), and ``warmest_at(depth)``, the warmest of the day (K; None where ice
    stability does not apply: the asteroid's hydrated minerals, the rig's freezer)."""

    temperature_at: Callable[[float], float]
    stable_below_m: float
    warmest_at: Callable[[float], float] | None = None

    def stable(self, *depths_m: float) -> bool:
        """Whether ice survives at every one of ``depths_m``."""
        warmest = self.warmest_at
        return warmest is None or all(warmest(z) < ICE_STABILITY_K for z in depths_m)


def _thermal(
    body: Body, model: _Regolith, floor_T: float, slope: float, azimuth: float, illumination: float
) -> _Thermal:
    """The site's temperature at depth (K, at the mission's local time) and the shallowest depth (m) where
    ice is stable. On the Moon both come from the regolith thermal model
    (:mod:`sim_hw.regolith_thermal`, Hayne et al. 2017): the direct sun at the body's latitude and
    declination on this slope, scaled by the site's sunlight, plus the secondary flux from surrounding
    terrain that would hold a shadowed floor at ``floor_T``. Elsewhere: ``floor_T`` plus the body's gradient."""
    if body.latitude_rad is None:
        return _Thermal(lambda z: floor_T + model.thermal_gradient_K_m * z, 0.0)
    p = rt.MOON
    secondary = max(p.emissivity * rt.SIGMA_SB * floor_T**4 - p.Q, 0.0)
    drivers = rt.Drivers(
        latitude_rad=body.latitude_rad,
        declination_rad=body.declination_rad,
        slope_rad=round(slope, 3),
        facing_rad=round(azimuth + math.pi, 2),  # the ground rises toward ``azimuth``: it faces away
        shadow_factor=round(illumination, 2),
        secondary_W_m2=round(secondary, 4),
    )
    solution = rt.solve(drivers, steps_per_day=96 if illumination > 0.0 else 4, days=3 if illumination else 2)
    stable = next((z for z in _STABILITY_PROBES_M if solution.max_K(z) < ICE_STABILITY_K), math.inf)
    hour = body.local_hour
    return _Thermal(lambda z: solution.at(z, hour), stable, solution.max_K)


def _cold_enough(
    body: Body,
    model: _Regolith,
    kind: _Archetype,
    site: tuple[float, float, float, float],
    draws: _ColumnDraws,
) -> tuple[float, tuple[Layer, ...], float]:
    """The site's sunlight and :func:`_thermal` for it. An ice-bearing kind is a place where ice is stable
    within its ice-table range (Paige et al. 2010 and Siegler et al. 2016 map stability depths of 0-1 m
    over the polar cold traps); where the drawn slope faces the Sun so steeply that the drawn sunlight
    would warm the whole column past 110 K, the site is one that terrain shades more: its sunlight is
    lowered (in steps of a fifth, to full shadow at most) until ice is stable above the range's deepest
    table and the column keeps ice in at least one layer. ``site`` is (floor temperature K, slope rad, slope
    azimuth rad, sunlight 0..1); returns the sunlight, the column's layers and its ice table (m)."""
    floor_T, slope, azimuth, illumination = site
    thermal = _thermal(body, model, floor_T, slope, azimuth, illumination)
    layers, table = _column(model, draws, thermal)
    if kind.ice_fraction[1] <= 0.0:
        return illumination, layers, table
    lit = illumination
    for scale in (0.8, 0.6, 0.4, 0.2, 0.0):
        if thermal.stable_below_m <= kind.ice_table_m[1] and math.isfinite(table):
            break
        lit = round(illumination * scale, 4)
        thermal = _thermal(body, model, floor_T, slope, azimuth, lit)
        layers, table = _column(model, draws, thermal)
    return lit, layers, table


_STABILITY_PROBES_M = tuple(round(0.005 * i, 3) for i in range(0, 20)) + tuple(
    round(0.1 + 0.05 * i, 3) for i in range(0, 59)
)


def generate_sites(body: Body, seed: int, count: int = 5, spacing_m: float = 20.0) -> list[Site]:
    """``count`` sites along the rover's traverse (site ``i`` near x = ``i * spacing_m``), each with its own
    regolith column; the same ``body``, ``seed`` and ``count`` always give the same sites."""
    if count < 0:
        raise ModelParameterError(f"site count must be >= 0, got {count}")
    if not spacing_m > 0:
        raise ModelParameterError(f"site spacing_m must be > 0, got {spacing_m}")
    model = _regolith(body)
    rng = np.random.default_rng([seed & 0xFFFF_FFFF_FFFF_FFFF, _BODY_SALT[body.name]])
    sites = []
    for index, kind in enumerate(_kind_order(rng, model, count)):
        # the column is drawn before the geometry, in this order, so a seed's positions and slopes do not
        # depend on the thermal model
        floor_T = _draw(rng, kind.temperature_K)
        draws = _draw_column(rng, kind)
        y_m = float(rng.uniform(-5.0, 5.0))
        slope = math.radians(_draw(rng, kind.slope_deg))
        azimuth = float(rng.uniform(-math.pi, math.pi))
        illumination = _draw(rng, kind.illumination)
        soil = _draw(rng, kind.soil_factor)
        illumination, layers, table = _cold_enough(body, model, kind, (floor_T, slope, azimuth, illumination), draws)
        sites.append(
            Site(
                index=index,
                x_m=index * spacing_m,
                y_m=y_m,
                slope_rad=slope,
                slope_azimuth_rad=azimuth,
                layers=layers,
                kind=kind.kind,
                illumination=illumination,
                soil_factor=soil,
                ice_table_m=table,
            )
        )
    _LOGGER.debug("generated %d sites on %s (seed %d): %s", count, body.name, seed, [s.kind for s in sites])
    return sites


def describe(sites: Sequence[Site]) -> list[dict[str, float | str]]:
    """One summary row per site (kind, position, slope in degrees, sunlight, ice table, mean water fraction
    of the top metre, strength at 0.5 m) — for logs and the documentation."""
    return [
        {
            "index": s.index,
            "kind": s.kind,
            "x_m": round(s.x_m, 2),
            "y_m": round(s.y_m, 2),
            "slope_deg": round(math.degrees(s.slope_rad), 1),
            "illumination": round(s.illumination, 2),
            "ice_table_m": round(s.ice_table_m, 3),
            "water_top_1m": round(s.mean_ice_fraction(0.0, 1.0), 4),
            "strength_0_5m_kPa": round(s.layer_at(0.5).strength_kPa, 1),
            "temperature_0_5m_K": round(s.layer_at(0.5).temperature_K, 1),
        }
        for s in sites
    ]
