"""Drilling loads in icy ground against the published operating point (docs/sim/mechanics.md section 2.9)."""

from __future__ import annotations

import pytest

from sim_hw.physics import drilling_lab as drill
from sim_hw.physics.drilling import DEFAULT_DESIGN, contact_loads, hammer_share, specific_energy_Pa


def test_at_the_published_rate_ice_cemented_ground_needs_under_100_N_and_about_100_W() -> None:
    """Zacny et al. (2013): ~1 m/h in ice-cemented ground with < 100 N on the bit and ~100 W."""
    dry = drill.drill_at(drill.icy_column(0.0), drill.PUBLISHED_RATE_M_S, hammer=True)
    for ice in (0.02, 0.04, 0.06):
        icy = drill.drill_at(drill.icy_column(ice), drill.PUBLISHED_RATE_M_S, hammer=True)
        assert icy.wob_N < 100.0
        assert 50.0 < icy.power_W < 150.0
        assert icy.power_W < 1.5 * dry.power_W  # the hammer's 80 W dominate; ice adds little at this rate


def test_rotary_power_grows_a_few_fold_not_tenfold_from_dry_to_icy() -> None:
    dry = drill.drill_at(drill.icy_column(0.0), drill.PUBLISHED_RATE_M_S, hammer=False)
    icy = drill.drill_at(drill.icy_column(0.04), drill.PUBLISHED_RATE_M_S, hammer=False)
    assert 1.5 < icy.power_W / dry.power_W < 3.5


def test_the_hammer_relieves_the_wear_flats_too() -> None:
    layer = drill.icy_column(0.06)
    ucs = layer.strength_kPa * 1000.0
    share = hammer_share(specific_energy_Pa(ucs), drill.PUBLISHED_RATE_M_S)
    assert 0.5 < share <= DEFAULT_DESIGN.max_hammer_share
    rotary = drill.drill_at(layer, drill.PUBLISHED_RATE_M_S, hammer=False)
    percussive = drill.drill_at(layer, drill.PUBLISHED_RATE_M_S, hammer=True)
    assert percussive.wob_N < 0.3 * rotary.wob_N
    assert contact_loads(ucs * (1.0 - share))[1] == pytest.approx((1.0 - share) * contact_loads(ucs)[1])


def test_the_rate_100_N_allows_falls_with_ice_content_to_about_a_metre_an_hour() -> None:
    rates = [3600.0 * drill.rate_under_wob_m_s(drill.icy_column(ice), 100.0) for ice in (0.0, 0.02, 0.04, 0.06, 0.09)]
    assert rates == sorted(rates, reverse=True)
    assert 0.5 < rates[3] < 2.0 and 0.3 < rates[4] < 2.0  # ice-cemented: about 1 m/h
    assert rates[0] > 20.0  # dry regolith: the feed, not the ground, limits
