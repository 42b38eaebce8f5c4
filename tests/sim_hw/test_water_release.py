"""Water release from adsorbed, pore-ice and mineral-bound reservoirs, and its laboratory cases
(docs/sim/extraction.md section 1.5)."""

from __future__ import annotations

import math

import pytest

from sim_hw.physics import extraction_lab as lab
from sim_hw.physics import water_release as wr
from sim_hw.physics.thermal import ExtractionChamber, StepInputs, p_sat_ice


def _hold(chamber: ExtractionChamber, temp_K: float, seconds: float, dt: float = 10.0) -> None:
    inputs = StepInputs(env_temp_K=temp_K, mount_temp_K=temp_K, lid_open=0.0, vent_open=True)
    for _ in range(int(seconds / dt)):
        chamber.step(dt, inputs)
        chamber.temp_K = temp_K


def test_binding_energy_classes_span_the_published_range_and_sum_to_one() -> None:
    energies = [e for e, _ in wr.SITES]
    assert min(energies) > wr.DESORPTION_E_MIN_EV and max(energies) < wr.DESORPTION_E_MAX_EV
    assert sum(share for _, share in wr.SITES) == pytest.approx(1.0)
    # 0.5 eV is 48 kJ/mol, 2.7 MJ per kg of water: comparable to the latent heat of sublimation
    assert wr.desorption_energy_J_kg(0.5) == pytest.approx(2.68e6, rel=0.01)


def test_adsorbed_water_outlasts_the_pore_ice_and_leaves_only_when_hot() -> None:
    chamber = ExtractionChamber(temp_K=250.0)
    chamber.load(1.0, 0.01, 250.0)
    adsorbed0 = chamber.adsorbed_kg
    assert adsorbed0 == pytest.approx(wr.ADSORBED_CAPACITY_KG_KG * 0.99)
    _hold(chamber, 290.0, 4 * 3600.0)
    assert chamber.ice_kg + chamber.liquid_kg < 1e-6  # the pore ice is gone
    assert 0.01 * adsorbed0 < chamber.adsorbed_kg < 0.1 * adsorbed0  # strong sites still hold some at 290 K
    _hold(chamber, 450.0, 3600.0)
    assert chamber.adsorbed_kg < 1e-3 * adsorbed0
    assert chamber.water_balance_error_kg() == pytest.approx(0.0, abs=1e-12)
    assert chamber.energy_audit()["latent_J"] > 0.0


def test_the_ice_front_is_held_cold_by_its_own_sublimation() -> None:
    for bed_K in (300.0, 450.0, 600.0):
        front = wr.front_temperature_K(bed_K, 0.0, p_sat_ice, bed_K)
        assert 230.0 < front < 275.0, (bed_K, front)
    # heat deposited in the ice-bearing regolith itself (microwaves): the front is at the bed's temperature
    assert wr.front_temperature_K(300.0, 0.0, p_sat_ice, 250.0, math.inf) == 300.0
    # vapour at or above saturation: nothing diffuses out, no cooling
    assert wr.front_temperature_K(200.0, 1e4, p_sat_ice, 150.0) == 200.0


def test_a_held_bed_releases_by_the_square_root_of_time_and_faster_when_warmer() -> None:
    times = (1800.0, 7200.0)
    cold = lab.held_bed_yield(240.0, times)
    warm = lab.held_bed_yield(270.0, times)
    assert warm[0] > cold[0] and warm[1] > cold[1]
    # a receding sublimation front: four times the time, twice the released fraction when diffusion alone
    # limits, four times when the ice surface does; the two in series land between
    assert 2.0 <= warm[1] / warm[0] < 3.0
    # a deeper bed gives up a smaller fraction of its water in the same time
    assert lab.held_bed_yield(270.0, (7200.0,), depth_m=0.03)[0] < warm[1]


def test_the_laboratory_microwave_batch_is_incomplete_after_an_hour_and_starts_late() -> None:
    """Cole et al. (2024): 83-97 % of the water out after 60 min, mass loss only after some heating."""
    points = lab.microwave_batch()
    by_minute = {round(p.t_s / 60.0): p for p in points}
    assert 0.83 <= by_minute[60].released <= 0.97
    assert by_minute[15].released < 0.05
    released = [p.released for p in points]
    assert released == sorted(released)


def test_laboratory_thermal_analyses_fall_in_the_published_windows() -> None:
    onset, end = lab.tpd_adsorbed((0.01, 0.99))
    assert 165.0 <= onset <= 195.0 and 375.0 <= end <= 425.0  # Hibbitts et al. 2011
    start, finish = lab.tga_hydrated((0.1, 0.9))
    assert 673.15 <= start < finish <= 1043.15  # King et al. 2015: 400-770 C


def test_bed_conductance_falls_as_the_dry_layer_grows() -> None:
    fresh = wr.bed_conductance_kg_s_pa(10.0, 1600.0, 0.02, 0.0, 260.0)
    half = wr.bed_conductance_kg_s_pa(10.0, 1600.0, 0.02, 0.5, 260.0)
    assert fresh > half > 0.0
    assert half == pytest.approx(2 * wr.bed_conductance_kg_s_pa(10.0, 1600.0, 0.02, 1.0, 260.0))
    assert math.isinf(wr.bed_conductance_kg_s_pa(0.0, 1600.0, 0.02, 0.5, 260.0))
    assert wr.series(math.inf, 2.0) == 2.0 and wr.series(2.0, 2.0) == 1.0
