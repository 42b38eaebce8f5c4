"""Physics sanity of the drill, anchor and IMU models (sim_hw.physics), and their coupling through the
rover's state: an unanchored rover drilling in microgravity is pushed off the ground and its IMU feels
it; anchored, it is not (that part runs the three emulators over real bytes on sim://)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from base.clock import VirtualClock
from hal.icd import Completion
from sim_hw.physics.anchoring import (
    DEFAULT_ANCHOR,
    BodyState,
    ColumnProfile,
    body_step,
    breakout_factors,
    column_capacity_N,
    uplift_capacity_N,
)
from sim_hw.physics.drilling import (
    FEED_DONE,
    OVERTEMP,
    STALL,
    DrillEnvironment,
    DrillMechanics,
    auger_fill_ratio,
    available_torque_Nm,
    face_loads,
)
from sim_hw.physics.icy_ground import (
    GroundCache,
    cohesion_from_ucs,
    cp_regolith,
    ground_props,
    ice_vapour_pressure_Pa,
    sublimation_flux_kg_m2_s,
)
from sim_hw.physics.inertial import body_axes, gravity_reaction, window_sigma
from sim_hw.registry import install_world, uninstall_world
from sim_hw.terrain import Layer, Site, icy_strength_gain_kPa
from sim_hw.world import SimWorld
from tests.support.sim_link import SimLink, mean, run

DRY_UCS_kPa = 15.0


def icy_layer(ice: float, temperature_K: float = 60.0, dry_kPa: float = DRY_UCS_kPa) -> Layer:
    """A uniform column whose strength follows the terrain's icy-regolith strength model."""
    strength = dry_kPa + icy_strength_gain_kPa(ice, temperature_K)
    return Layer(0.0, 3.0, 1750.0 / (1.0 - ice), strength, ice, temperature_K)


def drill_in(
    layer: Layer,
    *,
    rpm: float = 120.0,
    rate: float = 0.002,
    percussion: bool = False,
    seconds: float = 60.0,
    depth: float = 3.0,
    holding: float = 1.0e5,
) -> tuple[DrillMechanics, list[int]]:
    """Feed a drill into a column of ``layer`` for ``seconds``; the mechanics and the step outcomes."""
    mech = DrillMechanics(ambient_K=layer.temperature_K)
    env = DrillEnvironment(layer_at=lambda _d: layer, holding_N=holding, ambient_K=layer.temperature_K)
    mech.rpm_cmd = rpm
    mech.percussion = percussion
    mech.start_feed(depth, rate)
    outcomes = []
    for _ in range(int(seconds / 0.05)):
        outcomes.append(mech.step(0.05, env))
        if not mech.feeding:
            break
    return mech, outcomes


# ------------------------------------------------------------------------------------------------ drill
def test_torque_rises_with_strength() -> None:
    torques = []
    for ucs_kPa in (10.0, 300.0, 3000.0, 10000.0):
        mech, _ = drill_in(Layer(0.0, 3.0, 1800.0, ucs_kPa, 0.0, 100.0), seconds=30.0)
        torques.append(mech.torque_Nm)
    assert torques == sorted(torques) and torques[-1] > 5.0 * torques[0]
    t_weak, f_weak = face_loads(1e6, 120.0, 0.002)
    t_hard, f_hard = face_loads(4e6, 120.0, 0.002)
    assert t_hard == pytest.approx(4.0 * t_weak) and f_hard == pytest.approx(4.0 * f_weak)


def test_torque_rises_steeply_with_ice_content_and_falling_temperature() -> None:
    # 0.5 mm/s: below the feed-thrust limit of the 50 mm bit even in near-saturated ice
    torques = [
        drill_in(icy_layer(ice), seconds=30.0, rate=0.0005)[0].torque_Nm for ice in (0.0, 0.01, 0.03, 0.06, 0.09)
    ]
    assert torques == sorted(torques)
    assert torques[3] > 5.0 * torques[0]  # 6 % pore ice: ice-cemented
    warm = drill_in(icy_layer(0.06, temperature_K=200.0), seconds=30.0, rate=0.0005)[0].torque_Nm
    cold = drill_in(icy_layer(0.06, temperature_K=40.0), seconds=30.0, rate=0.0005)[0].torque_Nm
    assert cold > warm


def test_percussion_lowers_torque_and_weight_on_bit_in_icy_ground() -> None:
    layer = icy_layer(0.05)
    rotary, _ = drill_in(layer, seconds=30.0, rate=0.0005)
    hammer, _ = drill_in(layer, seconds=30.0, percussion=True, rate=0.0005)
    assert hammer.torque_Nm < 0.85 * rotary.torque_Nm
    assert hammer.wob_N < 0.85 * rotary.wob_N
    assert hammer.vibration_m_s2 > 10.0 * rotary.vibration_m_s2


def test_a_choked_auger_stalls_in_strong_ground_but_not_in_weak() -> None:
    assert auger_fill_ratio(60.0, 0.005) > 1.0 > auger_fill_ratio(120.0, 0.002)
    weak, weak_out = drill_in(Layer(0.0, 3.0, 1800.0, 50.0, 0.0, 100.0), rpm=60.0, rate=0.005, seconds=20.0)
    strong, strong_out = drill_in(Layer(0.0, 3.0, 1800.0, 3000.0, 0.0, 100.0), rpm=60.0, rate=0.005, seconds=20.0)
    assert not any(o & STALL for o in weak_out) and weak.rpm > 55.0
    assert any(o & STALL for o in strong_out)
    for _ in range(20):  # the firmware stops the motor; the physics lets the speed collapse
        strong.step(0.05, DrillEnvironment(layer_at=lambda _d: Layer(0.0, 3.0, 1800.0, 3000.0, 0.0, 100.0)))
    assert strong.rpm < 1.0
    assert available_torque_Nm(600.0) < available_torque_Nm(60.0) == 40.0


def test_feed_completes_at_the_target_depth() -> None:
    mech, outcomes = drill_in(Layer(0.0, 3.0, 1700.0, 20.0, 0.0, 100.0), rate=0.005, depth=0.1, seconds=30.0)
    assert outcomes[-1] & FEED_DONE and mech.depth_m == pytest.approx(0.1, abs=1e-3)
    assert mech.hole_m == pytest.approx(0.1, abs=1e-3)


def test_bit_heats_while_drilling_and_cools_after() -> None:
    layer = Layer(0.0, 3.0, 1800.0, 2000.0, 0.0, 100.0)
    mech, _ = drill_in(layer, percussion=True, seconds=120.0, rate=0.0005)
    hot = mech.bit_temp_K
    assert hot > layer.temperature_K + 30.0
    mech.halt()
    env = DrillEnvironment(layer_at=lambda _d: layer, ambient_K=100.0)
    for _ in range(int(600 / 0.05)):
        mech.step(0.05, env)
    excess = hot - layer.temperature_K
    assert mech.bit_temp_K < hot - 0.25 * excess
    assert mech.bit_temp_K > layer.temperature_K  # cooling into dry regolith is slow


def test_hammering_in_place_overheats_the_bit() -> None:
    layer = Layer(0.0, 3.0, 1800.0, 2000.0, 0.0, 100.0)
    mech, _ = drill_in(layer, percussion=True, seconds=20.0, depth=0.03, rate=0.005)
    assert not mech.feeding  # at the target depth, still turning and hammering on the bottom
    env = DrillEnvironment(layer_at=lambda _d: layer, holding_N=1e5, ambient_K=100.0)
    seen = 0
    for _ in range(int(1800 / 0.05)):
        seen |= mech.step(0.05, env)
        if seen & OVERTEMP:
            break
    assert seen & OVERTEMP and mech.bit_temp_K > 353.0


def test_a_warm_bit_sublimates_ice_the_volatiles_sensor_then_misses() -> None:
    cold, _ = drill_in(icy_layer(0.06, temperature_K=60.0), percussion=True, seconds=120.0)
    warm, _ = drill_in(icy_layer(0.06, temperature_K=235.0), percussion=True, seconds=120.0)
    assert cold.sensed_ice_fraction == pytest.approx(0.06, rel=0.03)
    assert warm.bit_temp_K > cold.bit_temp_K + 50.0
    assert warm.sensed_ice_fraction < 0.95 * cold.sensed_ice_fraction
    assert warm.sublimated_kg > 100.0 * max(cold.sublimated_kg, 1e-12)
    assert ice_vapour_pressure_Pa(273.16) == pytest.approx(611.65, rel=0.002)  # triple point
    assert sublimation_flux_kg_m2_s(200.0) < 1e-3 < sublimation_flux_kg_m2_s(250.0)


def test_ground_properties() -> None:
    dry = ground_props(Layer(0.0, 1.0, 1700.0, 10.0, 0.0, 100.0))
    icy = ground_props(Layer(0.0, 1.0, 1800.0, 10.0, 0.06, 100.0))
    assert icy.conductivity_W_mK > 10.0 * dry.conductivity_W_mK and icy.ice_saturation > 0.1
    expected = 10_000.0 / (2 * math.tan(math.radians(67.5)))
    assert cohesion_from_ucs(10_000.0, math.radians(45.0)) == pytest.approx(expected)
    assert cp_regolith(250.0) == pytest.approx(672.0, rel=0.01) and cp_regolith(100.0) < 300.0


# ----------------------------------------------------------------------------------------------- anchors
def test_holding_rises_with_depth_and_strength() -> None:
    ground = GroundCache()

    def capacity(ucs_kPa: float, depth: float, gravity: float = 1.62) -> float:
        profile = ColumnProfile((Layer(0.0, 3.0, 1650.0, ucs_kPa, 0.0, 100.0),), ground)
        return column_capacity_N(profile, depth, gravity, DEFAULT_ANCHOR)

    depths = [capacity(10.0, d) for d in (0.05, 0.1, 0.2, 0.3, 0.5)]
    assert depths == sorted(depths) and depths[0] > 0.0
    strengths = [capacity(s, 0.3) for s in (2.0, 10.0, 40.0)]
    assert strengths == sorted(strengths) and strengths[-1] > 3.0 * strengths[0]
    micro = capacity(10.0, 0.3, gravity=6e-5)
    cohesion = ground_props(Layer(0.0, 3.0, 1650.0, 10.0, 0.0, 100.0)).cohesion_Pa
    assert micro == pytest.approx(math.pi * cohesion * DEFAULT_ANCHOR.helix_diameter_m * 0.3, rel=1e-3)
    assert capacity(10_000.0, 0.3) == DEFAULT_ANCHOR.structural_limit_N


def test_meyerhof_adams_is_continuous_at_the_critical_depth() -> None:
    phi = math.radians(42.0)
    ratio, m = breakout_factors(phi)
    assert 7.0 < ratio < 9.0 and 0.35 < m < 0.5
    h_cr = ratio * 0.1
    below = uplift_capacity_N(h_cr * (1 - 1e-9), 0.1, 500.0, 2700.0, phi)
    above = uplift_capacity_N(h_cr * (1 + 1e-9), 0.1, 500.0, 2700.0, phi)
    assert above == pytest.approx(below, rel=1e-6)


def test_body_is_pushed_off_in_microgravity_and_falls_back_on_the_moon() -> None:
    asteroid = BodyState()
    mass = 120.0
    for _ in range(20):
        body_step(asteroid, 0.05, 5.0 if _ < 2 else 0.0, mass * 6e-5, 0.0, mass)
    assert asteroid.velocity_m_s > 0.0 and asteroid.lift_m > 0.0  # still drifting away
    moon = BodyState()
    weight = mass * 1.62
    assert not body_step(moon, 0.05, 0.9 * (weight + 300.0), weight, 300.0, mass) and moon.lift_m == 0.0
    assert body_step(moon, 0.05, 2.0 * (weight + 300.0), weight, 300.0, mass) and moon.lift_m > 0.0
    for _ in range(100):
        body_step(moon, 0.05, 0.0, weight, 300.0, mass)
    assert moon.lift_m == 0.0 and moon.velocity_m_s == 0.0


# -------------------------------------------------------------------------------------------------- IMU
def test_gravity_reaction_follows_the_tilt() -> None:
    g = 1.62
    slope = math.radians(10.0)
    ax, ay, az = gravity_reaction(g, slope, 0.0, 0.0)  # nose uphill
    assert ax == pytest.approx(g * math.sin(slope)) and ay == pytest.approx(0.0, abs=1e-12)
    assert az == pytest.approx(g * math.cos(slope))
    ax, ay, az = gravity_reaction(g, slope, math.pi / 2, 0.0)  # uphill to the left
    assert ay == pytest.approx(g * math.sin(slope)) and ax == pytest.approx(0.0, abs=1e-12)
    for heading in (0.3, 1.7, -2.9):
        xb, yb, zb = body_axes(slope, 0.8, heading)
        dots = (sum(a * b for a, b in zip(xb, yb, strict=True)), sum(a * b for a, b in zip(xb, zb, strict=True)))
        assert dots == pytest.approx((0.0, 0.0), abs=1e-12)
        assert math.hypot(*gravity_reaction(g, slope, 0.8, heading)) == pytest.approx(g)
    assert window_sigma(1.0, 0.5, 400.0) == pytest.approx(1.0)


# --------------------------------------------------------------------------------- coupling over bytes
@pytest.fixture
def asteroid() -> Iterator[SimWorld]:
    """An asteroid world with drill, anchors and IMU over a column of loose fines on a firmer layer."""
    world = SimWorld(VirtualClock(), body="asteroid", seed=3, devices=("drill", "anchor", "imu"))
    layers = (
        Layer(0.0, 0.2, 800.0, 0.01, 0.0, 260.0, "hydrated"),
        Layer(0.2, 3.0, 1300.0, 1000.0, 0.05, 260.0, "hydrated"),
    )
    world.sites = [Site(0, 0.0, 0.0, 0.0, 0.0, layers)]
    world.rover.x_m = world.rover.y_m = 0.0
    install_world(world)
    yield world
    uninstall_world()


@pytest.mark.parametrize("anchored", [False, True])
def test_drilling_unanchored_in_microgravity_pushes_the_rover_off_and_the_imu_feels_it(
    asteroid: SimWorld, anchored: bool
) -> None:
    drill, anchor, imu = (SimLink(asteroid, name) for name in ("drill", "anchor", "imu"))
    links = [drill, anchor, imu]
    for link in links:
        link.ack("set_telemetry_period", period_ms=50)
    if anchored:
        anchor.ack("deploy", mask=0b1111, depth_m=0.3)
        run(links, 20.0)
        assert anchor.completions("deploy") == [Completion.OK]
        anchor.ack("preload", mask=0b1111, force_N=100.0)
        run(links, 2.0)
        assert asteroid.rover.anchored
    imu.clear()
    drill.ack("spin", rpm=300.0)
    drill.ack("feed", depth_m=0.3, rate_m_s=0.01)
    run(links, 40.0)
    az = [s["az"] for s in imu.telemetry()]
    baseline = mean(az[:20])
    jolt = max(abs(a - baseline) for a in az)
    rover = asteroid.rover
    faults = anchor.fault_names(anchor.snapshot())
    if anchored:
        assert drill.completions("feed") == [Completion.OK]
        assert rover.body_lift_m == 0.0 and "slip" not in faults
        assert jolt < 0.05
    else:
        assert drill.completions("feed") == [Completion.BLOCKED]  # the bit never reached 0.3 m
        assert rover.body_lift_m > 0.1 and rover.body_velocity_m_s > 0.005  # drifting away
        assert "slip" in faults
        assert jolt > 0.1  # the push: the feed speed gained within one 50 ms sample
    for link in links:
        link.close()


def test_an_unanchored_rover_lifts_off_icy_ground_on_the_moon() -> None:
    world = SimWorld(VirtualClock(), seed=2, devices=("drill", "anchor"))
    world.sites = [Site(0, 0.0, 0.0, 0.0, 0.0, (icy_layer(0.08, temperature_K=50.0),))]
    world.rover.x_m = world.rover.y_m = 0.0
    install_world(world)
    try:
        drill, anchor = SimLink(world, "drill"), SimLink(world, "anchor")
        drill.ack("spin", rpm=120.0)
        drill.ack("feed", depth_m=0.2, rate_m_s=0.002)
        run([drill, anchor], 20.0)
        weight = world.rover.mass_kg * 1.62
        assert world.rover.body_lift_m > 0.005
        assert world.rover.drill_thrust_N == pytest.approx(weight, rel=0.05)  # all the ground can react
        assert "slip" in anchor.fault_names(anchor.snapshot())
        drill.close()
        anchor.close()
    finally:
        uninstall_world()


def test_one_friction_angle_and_cohesion_per_layer_whichever_tool_works_it() -> None:
    from sim_hw.physics.excavation import nominal_soil, soil_between
    from sim_hw.physics.icy_ground import default_layer, friction_angle_rad

    icy = Layer(0.0, 3.0, 1600.0 / (1.0 - 0.05), 9000.0, 0.05, 60.0)
    props = ground_props(icy)
    # pore ice adds cohesion (through the UCS), not friction: the dry skeleton's density sets phi
    assert props.friction_rad == pytest.approx(friction_angle_rad(1600.0))
    scooped = soil_between(Site(0, 0.0, 0.0, 0.0, 0.0, (icy,)), 0.0, 0.1)
    assert scooped.friction_rad == pytest.approx(props.friction_rad)
    assert scooped.cohesion_Pa == pytest.approx(props.cohesion_Pa)
    # an asteroid's regolith keeps its own friction angle for the anchors as for the scoop
    loose = Layer(0.0, 3.0, 900.0, 0.01, 0.0, 260.0)
    assert math.degrees(ground_props(loose, body="asteroid").friction_rad) == pytest.approx(35.0)
    assert soil_between(Site(0, 0.0, 0.0, 0.0, 0.0, (loose,)), 0.0, 0.1, "asteroid").friction_rad == pytest.approx(
        ground_props(loose, body="asteroid").friction_rad
    )
    # the ground between sites is one layer for every tool: 0.52 kPa cohesion at 42 degrees
    between = ground_props(default_layer(250.0))
    assert nominal_soil(250.0).cohesion_Pa == pytest.approx(between.cohesion_Pa) == pytest.approx(520.0)
    assert math.degrees(between.friction_rad) == pytest.approx(42.0)
