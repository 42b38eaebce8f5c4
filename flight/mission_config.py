"""Configuration schema of the mission (the ``[mission]`` table): the campaign and its set points."""

from __future__ import annotations

from dataclasses import dataclass, field

from base.config_loader import setting


@dataclass(frozen=True)
class SiteConfig:
    """A candidate site: where to drive (odometry frame, metres)."""

    x_m: float = setting(doc="x of the site in the odometry frame")
    y_m: float = setting(0.0, doc="y of the site in the odometry frame")


@dataclass(frozen=True)
class MissionConfig:
    """The mining campaign and every set point the mission machine uses (SI units)."""

    cycles: int = setting(1, lo=1, hi=10_000, unit="count", doc="extraction cycles before stowing")
    sites: list[SiteConfig] = field(default_factory=list)
    prospect: bool = setting(True, unit="bool", doc="probe the candidate sites before choosing one")
    drive_speed_m_s: float = setting(0.1, lo=0.01, hi=0.3, unit="m/s", doc="wheel speed on a drive leg")
    arrive_tolerance_m: float = setting(0.3, lo=0.05, hi=2.0, unit="m", doc="close enough to a site's position")
    approach_legs: int = setting(4, lo=1, hi=10, unit="count", doc="drive legs (slip-corrected) to reach a site")
    gyro_calibration_s: float = setting(30.0, lo=0.5, hi=30.0, unit="s", doc="gyro bias averaging before a drive")
    probe_depth_m: float = setting(0.3, lo=0.05, hi=1.0, unit="m", doc="shallow probe depth")
    anchor_depth_m: float = setting(0.3, lo=0.01, hi=0.5, unit="m", doc="depth each anchor is driven to")
    anchor_preload_N: float = setting(250.0, lo=0.0, hi=2000.0, unit="N", doc="largest preload per anchor")
    anchor_preload_share: float = setting(
        0.5, lo=0.05, hi=0.9, unit="1", doc="preload per anchor as a share of its measured holding capacity"
    )
    anchor_attempts: int = setting(2, lo=1, hi=10, unit="count", doc="anchoring attempts before relocating")
    max_tilt_deg: float = setting(15.0, lo=0.0, hi=45.0, unit="deg", doc="largest tilt accepted when anchored")
    max_rate_rad_s: float = setting(0.02, lo=0.0, hi=1.0, unit="rad/s", doc="largest body rate when anchored")
    drill_rpm: float = setting(120.0, lo=1.0, hi=600.0, unit="rpm", doc="drill rotation speed while drilling")
    drill_depth_m: float = setting(1.0, lo=0.05, hi=3.0, unit="m", doc="most a cycle deepens the hole")
    feed_rate_m_s: float = setting(0.002, lo=0.0001, hi=0.01, unit="m/s", doc="drill feed (downward) speed")
    bite_m: float = setting(0.25, lo=0.02, hi=1.0, unit="m", doc="drilled per bite; each retract fills the hopper")
    hole_spacing_m: float = setting(1.2, lo=0.2, hi=3.0, unit="m", doc="between holes drilled at one site")
    holes_per_site: int = setting(5, lo=1, hi=20, unit="count", doc="holes drilled at a site before moving to the next")
    cemented_J_kg: float = setting(
        2000.0, lo=1.0, hi=1.0e6, unit="J/kg", doc="probe drilling energy above which the ground is cemented"
    )
    process_J_kg: float = setting(
        8.0e5, lo=1.0e4, hi=1.0e7, unit="J/kg", doc="heater energy per kg of regolith, for ranking sites"
    )
    scoop_min_ice_fraction: float = setting(
        0.005,
        lo=0.0,
        hi=1.0,
        unit="1",
        doc="scoop only where the probe saw at least this water fraction near the surface",
    )
    torque_limit_Nm: float = setting(30.0, lo=1.0, hi=500.0, unit="N*m", doc="feed is slowed above this")
    stall_retries: int = setting(2, lo=0, hi=10, unit="count", doc="retries after a drill stall before giving up")
    scoop_depth_m: float = setting(0.05, lo=0.005, hi=0.1, unit="m", doc="scoop bite depth per pass")
    scoop_passes_max: int = setting(
        60, lo=1, hi=1000, unit="count", doc="scoop passes before giving up on the hopper target"
    )
    hopper_target_kg: float = setting(3.0, lo=0.1, hi=100.0, unit="kg", doc="regolith loaded into the hopper per batch")
    load_max_K: float = setting(
        300.0,
        lo=100.0,
        hi=900.0,
        unit="K",
        doc="a fresh batch is loaded only into a chamber cooler than this (ice sublimes out of a hot, open hopper)",
    )
    load_cool_max_s: float = setting(
        6 * 3600.0, lo=0.0, hi=86_400.0, unit="s", doc="longest wait for the chamber to cool before loading anyway"
    )
    heater_setpoint_K: float = setting(600.0, lo=250.0, hi=900.0, unit="K", doc="chamber temperature the heater holds")
    yield_stop_kg_h: float = setting(0.005, lo=0.0, hi=10.0, unit="kg/h", doc="stop heating below this rate")
    heat_min_s: float = setting(900.0, lo=0.0, hi=86_400.0, unit="s", doc="shortest heating of a batch")
    heat_to_setpoint: bool = setting(
        False,
        unit="bool",
        doc="stop on a low yield only once the chamber has reached its set point (water bound in hydrated "
        "minerals comes off only near it, after a lull once the adsorbed water is out)",
    )
    heat_max_s: float = setting(6 * 3600.0, lo=60.0, hi=7 * 86_400.0, unit="s", doc="longest heating of a batch")
    heat_stall_s: float = setting(
        300.0, lo=10.0, hi=86_400.0, unit="s", doc="no heater power and no yield rise (or no sensor) this long: hold"
    )
    vent_s: float = setting(60.0, lo=0.0, hi=3600.0, unit="s", doc="vent opening after a batch")
    pump_down_Pa: float = setting(
        0.0,
        lo=0.0,
        hi=200_000.0,
        unit="Pa",
        doc="after sealing, vent the chamber down to this pressure before heating (0 = never; a rig in air)",
    )
    pump_down_max_s: float = setting(1200.0, lo=1.0, hi=86_400.0, unit="s", doc="longest pump-down")
    energy_planning: bool = setting(
        True, unit="bool", doc="check the energy each activity needs before it starts; park to recharge"
    )
    battery_capacity_Wh: float = setting(2000.0, lo=1.0, hi=1e6, unit="Wh", doc="usable battery energy, 0-100 %")
    energy_reserve_Wh: float = setting(
        80.0, lo=0.0, hi=1e5, unit="Wh", doc="kept above the load-shedding floor to make the hardware safe"
    )
    resume_soc: float = setting(0.9, lo=0.05, hi=1.0, unit="1", doc="state of charge a parked rover recharges to")
    charge_away: bool = setting(
        True, unit="bool", doc="drive to the sunniest probed site to recharge when it gives far more"
    )
    recharge_max_s: float = setting(
        30 * 86_400.0, lo=60.0, hi=1e8, unit="s", doc="longest wait for charge before holding for the ground"
    )
    day_length_s: float = setting(
        0.0, lo=0.0, hi=1e8, unit="s", doc="day/night cycle the energy planning forecasts (0 = light steady over days)"
    )
    gravity_m_s2: float = setting(
        1.62, lo=1e-7, hi=30.0, unit="m/s^2", doc="surface gravity of the body the rover works on"
    )
    hop_below_gravity_m_s2: float = setting(
        0.0, lo=0.0, hi=30.0, unit="m/s^2", doc="below this gravity the rover hops (hopper) instead of driving"
    )
    hop_elevation_rad: float = setting(0.7854, lo=0.1, hi=1.4, unit="rad", doc="hop launch elevation")
    hop_leg_max_m: float = setting(12.0, lo=0.5, hi=100.0, unit="m", doc="longest single hop aimed for")
    hop_aim_share: float = setting(
        0.8, lo=0.3, hi=1.0, unit="1", doc="share of the distance the first arc is aimed for (bounces carry it on)"
    )
    hop_lost_arcs: float = setting(
        3.0, lo=1.5, hi=20.0, unit="1", doc="airborne this many times the arc's time of flight: the rover is lost"
    )
    motion_timeout_s: float = setting(1800.0, lo=1.0, hi=86_400.0, unit="s", doc="longest single motion")
    restart_policy: str = setting("hold", choices=("hold", "resume"), unit="enum", doc="after a crash: hold or resume")
