"""Sites and their regolith columns.

A site is a place the rover can drill: a position on the surface and a column of layers, each with its
bulk density, strength, ice mass fraction and temperature. Sites differ from one another (deterministic
for a seed), so prospecting matters. Parameter ranges and their sources are in ``docs/sim.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim_hw.bodies import Body


@dataclass(frozen=True)
class Layer:
    """One regolith layer, from ``top_m`` to ``bottom_m`` below the surface."""

    top_m: float
    bottom_m: float
    bulk_density_kg_m3: float
    strength_kPa: float
    ice_fraction: float
    temperature_K: float


@dataclass(frozen=True)
class Site:
    """A drilling site: ``index``, position (m), surface slope (rad) and its regolith column."""

    index: int
    x_m: float
    y_m: float
    slope_rad: float
    slope_azimuth_rad: float
    layers: tuple[Layer, ...]

    def layer_at(self, depth_m: float) -> Layer:
        """The layer at ``depth_m`` (the deepest one below the column's end)."""
        for layer in self.layers:
            if depth_m < layer.bottom_m:
                return layer
        return self.layers[-1]

    def mean_ice_fraction(self, top_m: float, bottom_m: float) -> float:
        """Thickness-weighted ice mass fraction between two depths."""
        total = weighted = 0.0
        for layer in self.layers:
            overlap = min(bottom_m, layer.bottom_m) - max(top_m, layer.top_m)
            if overlap > 0:
                total += overlap
                weighted += overlap * layer.ice_fraction
        return weighted / total if total > 0 else 0.0


COLUMN_DEPTH_M = 3.0


def generate_sites(body: Body, seed: int, count: int = 5, spacing_m: float = 20.0) -> list[Site]:
    """``count`` sites along the rover's traverse, each with its own column (deterministic for ``seed``)."""
    rng = np.random.default_rng(seed)
    sites = []
    for index in range(count):
        surface_T = body.surface_temp_K if body.name == "earth" else float(rng.uniform(40.0, 110.0))
        overburden = float(rng.uniform(0.05, 0.6))
        ice = float(rng.uniform(0.0, 0.12)) if body.name != "earth" else float(rng.uniform(0.02, 0.08))
        layers = (
            Layer(0.0, 0.1, float(rng.uniform(1300, 1550)), float(rng.uniform(0.5, 2.0)), 0.0, surface_T),
            Layer(0.1, 0.1 + overburden, float(rng.uniform(1600, 1900)), float(rng.uniform(3.0, 15.0)),
                  ice * 0.1, surface_T),
            Layer(0.1 + overburden, COLUMN_DEPTH_M, float(rng.uniform(1700, 2000)),
                  float(rng.uniform(5.0, 30.0)) * (1.0 + 20.0 * ice), ice, surface_T),
        )
        sites.append(
            Site(
                index=index,
                x_m=index * spacing_m,
                y_m=float(rng.uniform(-5.0, 5.0)),
                slope_rad=math.radians(float(rng.uniform(0.0, 12.0))),
                slope_azimuth_rad=float(rng.uniform(-math.pi, math.pi)),
                layers=layers,
            )
        )
    return sites
