"""Planetary bodies the simulated rover can work on: gravity, surface environment and sunlight.

Every value and its published source (or the note that it is an engineering assumption) is listed in
``docs/sim.md`` section "Bodies". SI units throughout.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from sim_hw.errors import ModelParameterError, UnknownBodyError

_LOGGER = logging.getLogger(__name__)

#: Total solar irradiance at 1 AU, W/m^2 (Kopp & Lean 2011, GRL 38, L01706).
SOLAR_CONSTANT_W_M2 = 1361.0


@dataclass(frozen=True)
class Body:
    """A body's surface environment. SI units.

    ``gravity_m_s2`` is the effective surface gravity (m/s^2), ``surface_temp_K`` a representative surface
    temperature of the sunlit working area (K), ``ambient_pressure_Pa`` the ambient gas pressure (Pa).
    ``solar_irradiance_W_m2`` is the sunlight reaching the body (W/m^2); ``sun_elevation_rad`` the highest
    elevation of the Sun above the local horizon during the day (rad; about 1.5 deg at the lunar poles,
    0 for a lamp shining horizontally on a rig's array); ``rotation_period_s`` the length of the
    day/night cycle that matters on the time scale of a mission (s; ``inf`` when sunlight is steady over
    days, as at a lunar pole or on a test rig). ``vent_pump_Pa`` is the base pressure (Pa) of a vacuum pump on
    the extraction chamber's vent line, which a sealed chamber's open vent pumps down to (a test rig in air);
    None where the vent opens to the ambient. ``escape_speed_m_s`` is the surface escape speed
    ``sqrt(2 GM / r)`` (m/s): a hop launched faster leaves the body (``inf``: not modelled).
    """

    name: str
    gravity_m_s2: float
    surface_temp_K: float
    ambient_pressure_Pa: float
    doc: str
    solar_irradiance_W_m2: float = SOLAR_CONSTANT_W_M2
    sun_elevation_rad: float = 0.0
    rotation_period_s: float = math.inf
    latitude_rad: float | None = None  # where the regolith thermal model runs (None: no model)
    declination_rad: float = 0.0  # solar declination during the mission
    local_hour: float = 0.0  # local time of the mission, lunar hours after noon (0..24)
    vent_pump_Pa: float | None = None
    escape_speed_m_s: float = math.inf  # speed that leaves the body for good from its surface, m/s

    def __post_init__(self) -> None:
        if not self.gravity_m_s2 > 0:
            raise ModelParameterError(f"body {self.name!r}: gravity_m_s2 must be > 0, got {self.gravity_m_s2!r}")
        if not self.rotation_period_s > 0:
            raise ModelParameterError(
                f"body {self.name!r}: rotation_period_s must be > 0, got {self.rotation_period_s!r}"
            )
        if self.vent_pump_Pa is not None and not self.vent_pump_Pa >= 0:
            raise ModelParameterError(f"body {self.name!r}: vent_pump_Pa must be >= 0, got {self.vent_pump_Pa!r}")


#: Bennu's mean heliocentric distance (semi-major axis), AU.
_BENNU_SEMI_MAJOR_AU = 1.126

BODIES: dict[str, Body] = {
    body.name: body
    for body in (
        Body(
            "moon",
            1.62,
            250.0,
            1e-10,
            "Lunar south polar region: 1.62 m/s^2, hard vacuum (~1e-10 Pa exosphere), sunlit terrain ~250 K; "
            "the Sun skims the horizon (elevation <= 1.5 deg), so arrays are vertical.",
            solar_irradiance_W_m2=SOLAR_CONSTANT_W_M2,
            sun_elevation_rad=math.radians(1.5),
            # 89.5 S in southern summer: the Sun's declination reaches the lunar obliquity, 1.54 deg
            latitude_rad=math.radians(-89.5),
            declination_rad=math.radians(-1.54),
            escape_speed_m_s=2380.0,
        ),
        Body(
            "asteroid",
            6.0e-5,
            260.0,
            0.0,
            "Bennu-class C-complex near-Earth asteroid (492 m diameter, GM 4.892 m^3/s^2, 4.296 h day): "
            "microgravity net of spin (~4e-5 at the equator to ~8e-5 m/s^2 at the poles), no atmosphere.",
            solar_irradiance_W_m2=SOLAR_CONSTANT_W_M2 / _BENNU_SEMI_MAJOR_AU**2,
            sun_elevation_rad=math.radians(45.0),
            rotation_period_s=4.296 * 3600.0,
            # sqrt(2 GM / r), GM 4.892 m^3/s^2 and mean radius 245 m (Scheeres et al. 2019, Nature Astronomy)
            escape_speed_m_s=math.sqrt(2.0 * 4.892 / 245.0),
        ),
        Body(
            "earth",
            9.81,
            293.0,
            101_325.0,
            "Earth test rig: regolith simulant bins (dry and frozen) in air; the array faces a solar "
            "simulator at standard test irradiance (1000 W/m^2).",
            solar_irradiance_W_m2=1000.0,
            sun_elevation_rad=0.0,
            vent_pump_Pa=100.0,
        ),
    )
}


def body_by_name(name: str) -> Body:
    """The body called ``name``; raises :class:`UnknownBodyError` naming the known ones."""
    try:
        return BODIES[name]
    except KeyError:
        raise UnknownBodyError(f"unknown body {name!r}; expected one of {sorted(BODIES)}") from None
