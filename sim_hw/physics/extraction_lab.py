"""Laboratory cases of water release, simulated with the extraction models.

The published experiments the water-release model (:mod:`sim_hw.physics.water_release`) is checked
against, each set up as the laboratory ran it (what the source does not give is marked **assumption** in
``docs/sim/extraction.md`` section 1.5):

* :func:`microwave_batch` — 40 g of LHS-1 with 5 wt% water chilled to 115 K, heated volumetrically for
  60 min in vacuum (Cole et al. 2024, Planet. Space Sci. 106011: 83-97 % extracted after 60 min);
* :func:`tpd_adsorbed` — temperature-programmed desorption of water adsorbed on JSC-1A (Hibbitts et al.
  2011: desorption from 180 K to about 400 K);
* :func:`tga_hydrated` — thermogravimetry of CI-like hydrated minerals at 10 K/min (King et al. 2015:
  phyllosilicates dehydroxylate between 400 and 770 C);
* :func:`held_bed_yield` — an unstirred bed held at one temperature, for the yield-against-time-and-
  temperature table of the document.

All results are fractions of the water loaded (0..1), temperatures in kelvin, times in seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim_hw.physics import water_release as wr
from sim_hw.physics.thermal import ChamberDesign, ExtractionChamber, StepInputs, dehydration_rate_s

#: Cole et al. (2024): sample mass kg, water mass fraction, start temperature K, heating time s.
COLE_MASS_KG, COLE_WATER, COLE_START_K, COLE_TIME_S = 0.040, 0.05, 115.0, 3600.0
#: Microwave power the 40 g sample absorbs, W (**assumption**: not published; most of the 250 W forward
#: power is reflected by so small a load; the value is the one that puts the mass-loss onset after ~15 min).
COLE_ABSORBED_W = 2.5
#: Depth of the sample bed, m (**assumption**: 40 g at 1600 kg/m^3 in a 46 mm dish).
COLE_DEPTH_M = 0.015
#: TPD heating rate, K/s (**assumption**, typical of ultra-high-vacuum TPD) and TGA rate, K/s (10 K/min).
TPD_RAMP_K_S = 1.0
TGA_RAMP_K_S = 10.0 / 60.0


@dataclass(frozen=True)
class Point:
    """One sample of a simulated experiment: time s, bed temperature K, fraction of the water released."""

    t_s: float
    temp_K: float
    released: float


def released_fraction(chamber: ExtractionChamber) -> float:
    """Fraction of the water loaded that has left the regolith (the laboratory's mass loss)."""
    if chamber.water_loaded_kg <= 0.0:
        return 0.0
    held = chamber.ice_kg + chamber.liquid_kg + chamber.adsorbed_kg + chamber.bound_kg
    return 1.0 - held / chamber.water_loaded_kg


def _sample_design(depth_m: float, front_conduction_factor: float) -> ChamberDesign:
    area = COLE_MASS_KG / (ChamberDesign.bed_bulk_density_kg_m3 * depth_m)
    return ChamberDesign(
        volume_m3=1.0e-3,
        capacity_kg=0.1,
        structure_heat_capacity_J_K=5.0,  # the sample dish
        mli_emissivity=0.9,  # the bare sample radiates to the chamber walls
        outer_area_m2=area,
        support_conductance_W_K=0.0,
        bed_path_m=depth_m,
        front_conduction_factor=front_conduction_factor,
    )


def microwave_batch(seconds: float = COLE_TIME_S, every_s: float = 300.0) -> list[Point]:
    """Cole et al. (2024)'s batch: volumetric heating (the front at the bed's temperature), vacuum pumped,
    walls at 293 K. Returns a point every ``every_s`` seconds."""
    chamber = ExtractionChamber(_sample_design(COLE_DEPTH_M, math.inf), temp_K=COLE_START_K)
    chamber.load(COLE_MASS_KG, COLE_WATER, COLE_START_K)
    inputs = StepInputs(heater_W=COLE_ABSORBED_W, env_temp_K=293.0, mount_temp_K=293.0, lid_open=0.0, vent_open=True)
    points = [Point(0.0, chamber.temp_K, 0.0)]
    steps = round(every_s)
    for k in range(1, round(seconds / every_s) + 1):
        chamber.step(float(steps), inputs)
        points.append(Point(k * every_s, chamber.temp_K, released_fraction(chamber)))
    return points


def held_bed_yield(temp_K: float, times_s: tuple[float, ...], depth_m: float = COLE_DEPTH_M) -> list[float]:
    """Fraction released at each of ``times_s`` from an unstirred 5 wt% bed of ``depth_m`` held at
    ``temp_K`` (heated through its dry layer by conduction), vacuum pumped."""
    chamber = ExtractionChamber(_sample_design(depth_m, 1.0), temp_K=temp_K)
    chamber.load(COLE_MASS_KG, COLE_WATER, temp_K)
    inputs = StepInputs(env_temp_K=temp_K, mount_temp_K=temp_K, lid_open=0.0, vent_open=True)
    out, now = [], 0.0
    for t in sorted(times_s):
        while now < t:
            dt = min(10.0, t - now)
            chamber.step(dt, inputs)
            chamber.temp_K = temp_K  # the laboratory holds the bed's temperature
            now += dt
        out.append(released_fraction(chamber))
    return out


def tpd_adsorbed(fractions: tuple[float, ...] = (0.01, 0.99), ramp_K_s: float = TPD_RAMP_K_S) -> list[float]:
    """Temperatures (K) at which the given fractions of the adsorbed water have desorbed, ramping from
    100 K at ``ramp_K_s``."""
    bins = [share for _energy, share in wr.SITES]
    found: list[float] = []
    T, dt = 100.0, 0.25
    for q in sorted(fractions):
        while 1.0 - sum(bins) < q and T < 2000.0:
            for i, (energy, _share) in enumerate(wr.SITES):
                bins[i] *= math.exp(-wr.desorption_rate_s(energy, T) * dt)
            T += ramp_K_s * dt
        found.append(T)
    return found


def tga_hydrated(fractions: tuple[float, ...] = (0.1, 0.9), ramp_K_s: float = TGA_RAMP_K_S) -> list[float]:
    """Temperatures (K) at which the given fractions of the mineral-bound water have been released,
    ramping from 300 K at ``ramp_K_s``."""
    left, T, dt = 1.0, 300.0, 1.0
    found: list[float] = []
    for q in sorted(fractions):
        while 1.0 - left < q and T < 2000.0:
            left *= math.exp(-dehydration_rate_s(T) * dt)
            T += ramp_K_s * dt
        found.append(T)
    return found
