"""Wheel-soil interaction (terramechanics) and drive motors of a four-wheel skid-steer rover.

Classical Bekker-Wong terramechanics for a rigid wheel (Bekker 1969; Wong, *Theory of Ground Vehicles*,
2008, ch. 2 and 4):

* pressure-sinkage ``p = (kc/b + kphi) z^n``; static sinkage of a rigid wheel of diameter ``D``, width
  ``b`` under load ``W``: ``z0 = [3 W / ((3 - n)(kc + b kphi) sqrt(D))]^(2/(2n+1))``;
* compaction (rolling) resistance ``Rc = (kc + b kphi) z0^(n+1) / (n + 1)``;
* contact length ``L = r acos(1 - z0/r)``; maximum soil thrust ``Hmax = b L c + W tan(phi)``;
* Janosi-Hanamoto shear-displacement law integrated over the contact: at slip ``i`` the thrust is
  ``H(i) = Hmax g(i L / K)`` with ``g(x) = 1 - (1 - exp(-x)) / x``.

Steady driving needs thrust ``F`` = rolling resistance + grade resistance (+ the skid-steer turning
resistance); the slip is the root of ``H(i) = F``, found here with a precomputed inverse of ``g``.
Parameters and sources: ``docs/sim/mobility-power.md``.

All functions take and return SI units and plain floats (the drive emulator calls them every step).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace

import numpy as np

from sim_hw.errors import ModelParameterError, UnknownBodyError

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Soil:
    """Bekker-Wong soil parameters.

    ``n`` sinkage exponent; ``kc`` cohesive modulus, N/m^(n+1); ``kphi`` frictional modulus, N/m^(n+2);
    ``cohesion_Pa``; ``friction_rad`` internal friction angle; ``shear_K_m`` Janosi-Hanamoto shear
    deformation modulus, m; ``lateral_mu`` lateral resistance coefficient of a skidding wheel (turning).
    """

    name: str
    n: float
    kc: float
    kphi: float
    cohesion_Pa: float
    friction_rad: float
    shear_K_m: float
    lateral_mu: float

    def scaled(self, factor: float) -> Soil:
        """A looser (``factor`` < 1) or denser (> 1) state of the same soil (engineering assumption):
        bearing moduli and cohesion times ``factor``, friction angle ``+ 10 deg ln(factor)`` (within
        25..55 deg), shear deformation modulus divided by ``factor`` (loose soil needs more shear
        displacement to mobilise its strength)."""
        if not factor > 0:
            raise ModelParameterError(f"soil scale factor must be > 0, got {factor!r}")
        friction = self.friction_rad + math.radians(10.0) * math.log(factor)
        friction = min(max(friction, math.radians(25.0)), math.radians(55.0))
        return replace(
            self,
            kc=self.kc * factor,
            kphi=self.kphi * factor,
            cohesion_Pa=self.cohesion_Pa * factor,
            friction_rad=friction,
            shear_K_m=self.shear_K_m / factor,
        )


#: Reference soils by body name (see docs/sim/mobility-power.md for the sources of each value).
SOILS: dict[str, Soil] = {
    # Lunar soil model of the Lunar Sourcebook (Carrier et al. 1991, sec. 9.1) and Wong (2008): n = 1,
    # kc = 1.4 kN/m^2, kphi = 820 kN/m^3, K = 1.8 cm; cohesion 0.52 kPa and phi = 42 deg are the recommended
    # values for the top 15 cm. lateral_mu is an assumption.
    "moon": Soil("lunar regolith", 1.0, 1.4e3, 820e3, 520.0, math.radians(42.0), 0.018, 0.4),
    # Bennu-like granular bed: near-zero cohesion (Walsh et al. 2022); the rest is assumed lunar-like.
    "asteroid": Soil("asteroid granular bed", 1.0, 1.4e3, 820e3, 2.0, math.radians(35.0), 0.018, 0.4),
    # Simulant built to reproduce lunar terrain compaction and shear (GRC-1, Oravec et al. 2010): the lunar
    # parameters are used.
    "earth": Soil("lunar soil simulant", 1.0, 1.4e3, 820e3, 520.0, math.radians(42.0), 0.018, 0.4),
}


def soil_for(body_name: str) -> Soil:
    """The reference soil of the body called ``body_name``; raises :class:`~sim_hw.errors.UnknownBodyError`
    naming the known ones."""
    try:
        return SOILS[body_name]
    except KeyError:
        raise UnknownBodyError(f"no soil model for body {body_name!r}; expected one of {sorted(SOILS)}") from None


@dataclass(frozen=True)
class RoverGeometry:
    """Wheel and chassis geometry, m (engineering assumptions for a ~120 kg four-wheel rover)."""

    wheel_radius_m: float = 0.20
    wheel_width_m: float = 0.15
    track_m: float = 0.80  # distance between the left and right wheel centre lines
    wheelbase_m: float = 0.60  # distance between the front and rear axles
    wheels: int = 4
    length_m: float = 1.1  # chassis footprint, for the yaw moment of inertia
    width_m: float = 0.9

    def yaw_inertia_kg_m2(self, mass_kg: float) -> float:
        """Yaw moment of inertia of a uniform rectangular body, kg m^2."""
        return mass_kg * (self.length_m**2 + self.width_m**2) / 12.0


@dataclass(frozen=True)
class Contact:
    """One wheel on one soil under one normal load: the quantities the slip model needs (SI)."""

    normal_N: float
    sinkage_m: float
    length_m: float
    rolling_resistance_N: float
    max_thrust_N: float  # Hmax: soil shear strength over the contact patch
    shear_ratio: float  # lambda = L / K: Janosi argument at 100 % slip
    saturation_thrust_N: float  # thrust at 100 % slip, Hmax g(lambda)

    def slip(self, thrust_N: float) -> float:
        """Slip ratio (0..1) at which the wheel develops ``thrust_N`` (>= 0); 1.0 when it cannot."""
        if thrust_N <= 0.0 or self.max_thrust_N <= 0.0:
            return 0.0
        x = inverse_janosi(thrust_N / self.max_thrust_N)
        return 1.0 if x >= self.shear_ratio else x / self.shear_ratio


def wheel_contact(soil: Soil, geometry: RoverGeometry, normal_N: float) -> Contact:
    """Sinkage, rolling resistance and thrust limits of one rigid wheel carrying ``normal_N`` newtons."""
    normal_N = max(normal_N, 0.0)
    b, r = geometry.wheel_width_m, geometry.wheel_radius_m
    d = 2.0 * r
    modulus = soil.kc + b * soil.kphi
    n = soil.n
    if normal_N > 0.0 and modulus > 0.0:
        sinkage = (3.0 * normal_N / ((3.0 - n) * modulus * math.sqrt(d))) ** (2.0 / (2.0 * n + 1.0))
    else:
        sinkage = 0.0
    sinkage = min(sinkage, r)  # a buried wheel: deeper than its radius is outside the model's validity
    rolling = modulus * sinkage ** (n + 1.0) / (n + 1.0)
    length = r * math.acos(1.0 - sinkage / r) if sinkage > 0 else 0.0
    max_thrust = b * length * soil.cohesion_Pa + normal_N * math.tan(soil.friction_rad)
    shear_ratio = length / soil.shear_K_m if soil.shear_K_m > 0 else math.inf
    saturation = max_thrust * janosi(shear_ratio) if math.isfinite(shear_ratio) else max_thrust
    return Contact(normal_N, sinkage, length, rolling, max_thrust, shear_ratio, saturation)


def janosi(x: float) -> float:
    """Janosi-Hanamoto thrust ratio over a contact patch, ``g(x) = 1 - (1 - exp(-x)) / x`` (x = i L / K)."""
    if x <= 0.0:
        return 0.0
    if x < 1e-6:
        return x / 2.0
    return 1.0 + math.expm1(-x) / x


def _inverse_table() -> tuple[tuple[float, ...], float]:
    x = np.geomspace(1e-7, 1e4, 60_001)
    g = 1.0 + np.expm1(-x) / x
    ratios = np.linspace(0.0, _RATIO_MAX, _TABLE_SIZE)
    xs = np.interp(ratios, g, x)
    xs[0] = 0.0
    return tuple(float(v) for v in xs), (_TABLE_SIZE - 1) / _RATIO_MAX


_RATIO_MAX = 0.999
_TABLE_SIZE = 4001
_INVERSE, _INVERSE_SCALE = _inverse_table()


def inverse_janosi(ratio: float) -> float:
    """The ``x`` with ``janosi(x) == ratio`` (0 <= ratio < 1), by table interpolation; ``inf`` at or above
    the table's end (0.999)."""
    if ratio <= 0.0:
        return 0.0
    if ratio >= _RATIO_MAX:
        return math.inf
    f = ratio * _INVERSE_SCALE
    i = int(f)
    lo = _INVERSE[i]
    return lo + (_INVERSE[i + 1] - lo) * (f - i)


def turning_moment_Nm(soil: Soil, weight_N: float, geometry: RoverGeometry) -> float:
    """Skid-steer turning resistance moment of four wheels at half the wheelbase from the yaw axis:
    ``M = mu_t W a`` (Wong 2008, skid-steering; lateral wheel forces ``mu_t W / 4`` at arm ``a``), N m."""
    return soil.lateral_mu * weight_N * geometry.wheelbase_m / 2.0


def grade_sine(slope_rad: float, slope_azimuth_rad: float, heading_rad: float) -> float:
    """Sine of the grade met when driving along ``heading_rad`` on ground rising toward
    ``slope_azimuth_rad`` with steepest slope ``slope_rad`` (positive uphill)."""
    return math.sin(slope_rad) * math.cos(heading_rad - slope_azimuth_rad)


@dataclass(frozen=True)
class DriveMotor:
    """One brushless motor and gearhead per side, driving that side's two wheels (assumptions in the doc).

    ``kt_Nm_A`` torque constant (= back-EMF constant in V s/rad); ``resistance_ohm`` winding resistance;
    ``gear_ratio`` and ``gear_efficiency`` of the gearhead; ``no_load_A`` friction current;
    ``current_limit_A`` the controller's current limit; ``electronics_W`` the controller's standby power.
    """

    kt_Nm_A: float = 0.05
    resistance_ohm: float = 0.4
    gear_ratio: float = 160.0
    gear_efficiency: float = 0.75
    no_load_A: float = 0.15
    current_limit_A: float = 12.0
    electronics_W: float = 2.5

    def current_A(self, side_force_N: float, rim_speed_m_s: float, wheel_radius_m: float) -> float:
        """Signed motor current for a side pushing the ground with ``side_force_N`` at the rims, A.

        Positive force forward; the gearhead loses ``1 - efficiency`` of the torque when driving and
        returns ``efficiency`` of it when back-driven. Limited to the controller's current limit.
        """
        torque = side_force_N * wheel_radius_m / self.gear_ratio
        driving = side_force_N * rim_speed_m_s >= 0.0
        torque = torque / self.gear_efficiency if driving else torque * self.gear_efficiency
        current = torque / self.kt_Nm_A
        if rim_speed_m_s != 0.0:
            current += math.copysign(self.no_load_A, rim_speed_m_s)
        limit = self.current_limit_A
        return limit if current > limit else -limit if current < -limit else current

    def power_W(self, current_A: float, rim_speed_m_s: float, wheel_radius_m: float) -> float:
        """Electrical power one motor draws, W: copper loss plus back-EMF power (no regeneration)."""
        omega_motor = rim_speed_m_s / wheel_radius_m * self.gear_ratio
        return current_A * current_A * self.resistance_ohm + max(0.0, current_A * self.kt_Nm_A * omega_motor)
