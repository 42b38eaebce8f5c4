"""Sites and bodies: seeded, body-aware regolith columns whose properties follow their published profiles."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from base.clock import VirtualClock
from sim_hw.bodies import BODIES, Body, body_by_name
from sim_hw.terrain import (
    COLUMN_DEPTH_M,
    Layer,
    Site,
    describe,
    generate_sites,
    icy_strength_gain_kPa,
    illumination_at,
    regolith_kinds,
)
from sim_hw.world import SimWorld

MOON = body_by_name("moon")


def carrier_density(z_m: float) -> float:
    """Carrier et al. (1991) bulk density fit, kg/m^3, written out independently of the module."""
    return 1000.0 * 1.92 * (100.0 * z_m + 12.2) / (100.0 * z_m + 18.0)


# ------------------------------------------------------------------------------------------ seeding
def test_same_seed_same_sites() -> None:
    for body in BODIES.values():
        assert generate_sites(body, 42, 7) == generate_sites(body, 42, 7)


def test_different_seeds_different_sites() -> None:
    sites = {seed: generate_sites(MOON, seed) for seed in range(6)}
    for a, b in itertools.combinations(sites.values(), 2):
        assert a != b
    kinds_at_1 = {s[1].kind for s in sites.values()}
    assert len(kinds_at_1) > 1  # the order of site kinds depends on the seed too


def test_every_kind_appears_and_sites_differ() -> None:
    """With one site per kind, prospecting has something to find: rich, poor, hard and dry sites."""
    for body in BODIES.values():
        kinds = regolith_kinds(body)
        sites = generate_sites(body, 3, len(kinds))
        assert sorted(s.kind for s in sites) == sorted(kinds)
    moon = {s.kind: s for s in generate_sites(MOON, 3, len(regolith_kinds(MOON)))}
    water = {k: s.mean_ice_fraction(0.0, 1.0) for k, s in moon.items()}
    assert water["psr_rich"] > 5 * water["psr_poor"] > 0.0
    assert water["sunlit_dry"] == 0.0
    assert moon["hard_icy"].layer_at(0.3).strength_kPa > 20 * moon["psr_poor"].layer_at(0.3).strength_kPa
    assert moon["psr_rich"].illumination == 0.0 and moon["sunlit_dry"].illumination >= 0.8


def test_the_rover_lands_in_sunlight_on_the_moon() -> None:
    for seed in range(20):
        first = generate_sites(MOON, seed)[0]
        assert first.kind in ("sunlit_dry", "ice_stability_region")
        assert first.illumination > 0.0


def test_sites_lie_along_the_traverse() -> None:
    sites = generate_sites(MOON, 1, 4, spacing_m=35.0)
    assert [s.index for s in sites] == [0, 1, 2, 3]
    assert [s.x_m for s in sites] == [0.0, 35.0, 70.0, 105.0]
    assert all(abs(s.y_m) <= 5.0 for s in sites)


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="count"):
        generate_sites(MOON, 0, -1)
    with pytest.raises(ValueError, match="spacing_m"):
        generate_sites(MOON, 0, 3, spacing_m=0.0)
    mars = Body("mars", 3.71, 210.0, 600.0, "not modelled")
    with pytest.raises(KeyError, match="mars"):
        generate_sites(mars, 0)
    with pytest.raises(KeyError, match="expected one of"):
        body_by_name("pluto")
    with pytest.raises(ValueError, match="gravity"):
        Body("nowhere", 0.0, 1.0, 0.0, "")
    assert generate_sites(MOON, 0, 0) == []


# -------------------------------------------------------------------------------- column physics
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(-(2**40), 2**40), body=st.sampled_from(sorted(BODIES)))
def test_column_invariants(seed: int, body: str) -> None:
    for site in generate_sites(body_by_name(body), seed, 6):
        layers = site.layers
        assert layers[0].top_m == 0.0 and layers[-1].bottom_m == COLUMN_DEPTH_M
        for upper, lower in itertools.pairwise(layers):
            assert upper.bottom_m == lower.top_m
        for layer in layers:
            assert 0.0 <= layer.ice_fraction <= 0.3
            assert layer.bulk_density_kg_m3 > 0 and layer.strength_kPa >= 0 and layer.temperature_K > 0
            if layer.top_m < site.ice_table_m:
                assert layer.ice_fraction == 0.0
        if site.ice_table_m < COLUMN_DEPTH_M:
            assert site.layer_at(site.ice_table_m + 1e-6).ice_fraction > 0.0  # the table is where ice starts
        assert 0.0 <= site.illumination <= 1.0
        assert 0.0 <= site.slope_rad < math.radians(25.0)
        assert site.soil_factor > 0.0


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_lunar_density_follows_carrier(seed: int) -> None:
    """Dry density (bulk minus pore ice) follows the Lunar Sourcebook fit within the site's +-10 % scatter."""
    for site in generate_sites(MOON, seed):
        dry = [(0.5 * (y.top_m + y.bottom_m), y.bulk_density_kg_m3 * (1.0 - y.ice_fraction)) for y in site.layers]
        ratios = [rho / carrier_density(z) for z, rho in dry]
        assert max(ratios) - min(ratios) < 1e-9  # one scale factor per site: the profile's shape is kept
        assert 0.88 < ratios[0] < 1.12
        assert all(a[1] < b[1] for a, b in itertools.pairwise(dry))  # denser with depth


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_lunar_ice_and_temperatures_within_published_ranges(seed: int) -> None:
    for site in generate_sites(MOON, seed):
        top = site.layers[0]
        if site.kind.startswith("psr"):
            assert site.illumination == 0.0
            assert top.temperature_K < 110.0  # cold trap for water (Paige et al. 2010)
        if site.kind == "psr_rich":
            # LCROSS: 5.6 +/- 2.9 wt% (Colaprete et al. 2010); deeper layers up to 1.5x the site mean.
            assert 0.02 < site.mean_ice_fraction(0.0, COLUMN_DEPTH_M) < 0.13
        if site.kind == "sunlit_dry":
            assert site.mean_ice_fraction(0.0, COLUMN_DEPTH_M) == 0.0 and top.temperature_K > 80.0
        # below the diurnal wave (~0.3 m) heat flow makes it warmer with depth, 2-6 K/m (Q / k_d)
        deep = [layer for layer in site.layers if layer.top_m >= 0.3]
        temps = [layer.temperature_K for layer in deep]
        assert temps == sorted(temps)
        mids = [0.5 * (y.top_m + y.bottom_m) for y in deep]
        gradient = (temps[-1] - temps[0]) / (mids[-1] - mids[0])
        assert 2.0 < gradient < 6.0
        # ice only where it is stable: the warmest temperature of the day below 110 K over the whole layer
        # (Paige et al. 2010), so every icy layer is colder than that now; heat flow can end the stable zone
        # within the column, and the layers below it are dry
        for layer in site.layers:
            if layer.ice_fraction > 0.0:
                assert layer.temperature_K < 110.0, (site.kind, layer)
        # every shadowed or cold-trap kind keeps its ice within drillable depth: stability depths of 0-1 m over
        # the polar cold traps (Paige et al. 2010; Siegler et al. 2016), at most 0.8 m for these kinds
        if site.kind != "sunlit_dry":
            assert site.ice_table_m <= 0.8 and site.mean_ice_fraction(0.0, COLUMN_DEPTH_M) > 0.0, site.kind


def test_a_sun_facing_cold_trap_is_shaded_enough_to_keep_its_ice() -> None:
    """Seed 9's ice-stability site faces the Sun on a 14 deg slope: at its drawn sunlight the whole column
    would peak above 110 K; terrain shades it more instead, and its ice stays at the drawn table."""
    (site,) = (s for s in generate_sites(MOON, 9) if s.kind == "ice_stability_region")
    assert site.ice_table_m == pytest.approx(0.485)
    assert 0.0 < site.illumination < 0.19
    assert site.layer_at(0.49).ice_fraction > 0.0


@pytest.mark.parametrize("seed", [3, 7, 9, 11, 42])
def test_site_geometry_does_not_depend_on_the_thermal_model(seed: int) -> None:
    """Positions, slopes, facings and soils are drawn as they were before sites had a thermal model: the
    same seed puts the same ground under the rover (seed 11's landing site is 5.8 deg, not 14.6)."""
    plain = dataclasses.replace(MOON, latitude_rad=None)
    for a, b in zip(generate_sites(MOON, seed), generate_sites(plain, seed), strict=True):
        assert (a.kind, a.x_m, a.y_m, a.slope_rad, a.slope_azimuth_rad, a.soil_factor) == (
            b.kind, b.x_m, b.y_m, b.slope_rad, b.slope_azimuth_rad, b.soil_factor
        )  # fmt: skip
    if seed == 11:
        assert math.degrees(generate_sites(MOON, 11)[0].slope_rad) == pytest.approx(5.8, abs=0.05)


def test_ice_strengthens_regolith() -> None:
    assert icy_strength_gain_kPa(0.0, 60.0) == 0.0
    gains = [icy_strength_gain_kPa(w, 100.0) for w in (0.005, 0.01, 0.02, 0.05, 0.1)]
    assert gains == sorted(gains)
    assert gains[0] < 50.0 < 2000.0 < gains[3]  # the jump at the critical fraction of 1-3 wt%
    assert icy_strength_gain_kPa(0.05, 60.0) > icy_strength_gain_kPa(0.05, 250.0)  # colder ice is stronger


def test_asteroid_columns_are_underdense_hydrated_and_weak() -> None:
    for site in generate_sites(body_by_name("asteroid"), 7, 8):
        assert site.layers[0].bulk_density_kg_m3 < 800.0  # Bennu near subsurface: 500-700 kg/m^3
        assert all(layer.water_form == "hydrated" for layer in site.layers)
        if site.kind != "boulder":
            assert all(layer.strength_kPa < 0.1 for layer in site.layers)
        else:
            assert max(layer.strength_kPa for layer in site.layers) >= 500.0


def test_earth_rig_bins_are_frozen_or_dry() -> None:
    for site in generate_sites(body_by_name("earth"), 2, 8):
        deep = site.layer_at(1.0)
        if site.kind == "bin_dry":
            assert deep.ice_fraction == 0.0 and deep.temperature_K == 293.0
        else:
            assert deep.ice_fraction > 0.0 and deep.temperature_K < 273.0


# ------------------------------------------------------------------------------------ site queries
def _column() -> Site:
    layers = (
        Layer(0.0, 0.1, 1500.0, 2.0, 0.0, 100.0),
        Layer(0.1, 0.5, 1700.0, 10.0, 0.05, 100.0),
        Layer(0.5, 1.0, 2000.0, 5000.0, 0.10, 100.0),
    )
    return Site(0, 0.0, 0.0, 0.0, 0.0, layers, ice_table_m=0.1)


def test_layer_at_boundaries() -> None:
    site = _column()
    assert site.layer_at(-1.0) is site.layers[0]
    assert site.layer_at(0.0) is site.layers[0]
    assert site.layer_at(0.1) is site.layers[1]
    assert site.layer_at(0.4999) is site.layers[1]
    assert site.layer_at(0.5) is site.layers[2]
    assert site.layer_at(7.0) is site.layers[2]
    assert site.depth_m == 1.0


def test_mean_ice_fraction_is_mass_weighted() -> None:
    site = _column()
    water = 0.4 * 1700.0 * 0.05 + 0.5 * 2000.0 * 0.10
    mass = 0.1 * 1500.0 + 0.4 * 1700.0 + 0.5 * 2000.0
    assert site.mean_ice_fraction(0.0, 1.0) == pytest.approx(water / mass)
    assert site.mean_ice_fraction(0.2, 0.3) == pytest.approx(0.05)
    assert site.mean_ice_fraction(0.3, 0.3) == 0.0
    assert site.column_mass_kg(0.0, 1.0, 0.01) == pytest.approx(mass * 0.01)


def test_malformed_columns_are_refused_with_a_reason() -> None:
    good = _column()
    with pytest.raises(ValueError, match="contiguous"):
        Site(0, 0, 0, 0, 0, (good.layers[0], good.layers[2]))
    with pytest.raises(ValueError, match="at least one layer"):
        Site(0, 0, 0, 0, 0, ())
    with pytest.raises(ValueError, match="ice_fraction"):
        Site(0, 0, 0, 0, 0, (Layer(0.0, 1.0, 1500.0, 1.0, 1.5, 100.0),))
    with pytest.raises(ValueError, match="water_form"):
        Site(0, 0, 0, 0, 0, (Layer(0.0, 1.0, 1500.0, 1.0, 0.0, 100.0, "steam"),))
    with pytest.raises(ValueError, match="illumination"):
        dataclasses.replace(good, illumination=2.0)
    with pytest.raises(ValueError, match="start at 0"):
        Site(0, 0, 0, 0, 0, (Layer(0.1, 1.0, 1500.0, 1.0, 0.0, 100.0),))


def test_illumination_between_sites() -> None:
    dark = dataclasses.replace(_column(), x_m=0.0, illumination=0.0)
    lit = dataclasses.replace(_column(), index=1, x_m=20.0, illumination=1.0)
    assert illumination_at([dark, lit], 1.0, 0.0, 3.0) == 0.0
    assert illumination_at([dark, lit], 19.0, 1.0, 3.0) == 1.0
    assert illumination_at([dark, lit], 10.0, 0.0, 3.0) == pytest.approx(0.5)
    assert 0.0 < illumination_at([dark, lit], 7.0, 0.0, 3.0) < 0.5
    assert illumination_at([], 0.0, 0.0, 3.0) == 1.0


def test_world_sites_come_from_the_body_and_seed() -> None:
    world = SimWorld(VirtualClock(), body="earth", seed=8, devices=())
    assert world.sites == generate_sites(body_by_name("earth"), 8, 5)
    assert world.site is world.sites[0]
    rows = describe(world.sites)
    assert [r["kind"] for r in rows] == [s.kind for s in world.sites]


# ------------------------------------------------------------------------------------------ bodies
def test_body_values_follow_their_sources() -> None:
    moon, asteroid, earth = (body_by_name(n) for n in ("moon", "asteroid", "earth"))
    assert moon.gravity_m_s2 == pytest.approx(1.62, abs=0.01)
    # Bennu: GM = 4.892 m^3/s^2, radius 246 m, spin period 4.296 h: between equator and pole.
    gm, radius, spin = 4.892, 246.0, 2.0 * math.pi / (4.296 * 3600.0)
    pole, equator = gm / radius**2, gm / radius**2 - spin**2 * radius
    assert equator < asteroid.gravity_m_s2 < pole
    assert asteroid.rotation_period_s == pytest.approx(4.296 * 3600.0)
    assert asteroid.solar_irradiance_W_m2 == pytest.approx(1361.0 / 1.126**2)
    assert moon.sun_elevation_rad < math.radians(2.0) and math.isinf(moon.rotation_period_s)
    assert earth.ambient_pressure_Pa == pytest.approx(101_325.0)
    assert moon.ambient_pressure_Pa < 1e-6 and asteroid.ambient_pressure_Pa == 0.0
