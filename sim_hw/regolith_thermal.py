"""One-dimensional thermal model of the lunar regolith (depth x time), after Hayne et al. (2017).

Hayne, P. O., et al. (2017), "Global regolith thermophysical properties of the Moon from the Diviner Lunar
Radiometer Experiment", JGR Planets 122, 2371-2400 (appendix A: the model, table A1: its parameters, table
A2: its validation against Diviner equatorial temperatures and the Apollo 15/17 heat-flow probes); the
earlier model is Vasavada et al. (2012, JGR 117, E00H18). The equations used here are theirs:

* density          rho(z) = rho_d - (rho_d - rho_s) exp(-z/H)                              (A2)
* contact conduct. k_c(z) = k_d - (k_d - k_s) (rho_d - rho(z)) / (rho_d - rho_s)              (A3)
* conductivity     k(z,T) = k_c(z) [1 + chi (T/350 K)^3]  (radiation between grains)        (A4)
* heat capacity    c_p(T) = polynomial fit to Hemingway et al. (1981) and Ledlow et al. (1992) (A6)
* albedo           A(i) = A_0 + a (i/45 deg)^3 + b (i/90 deg)^8  (Keihm 1984)                  (A5)
* surface          eps sigma T_s^4 = (1 - A) S cos i + F_secondary + k dT/dz|_0, basal flux Q.

The insolation comes from the latitude, the solar declination, the hour angle and the slope (its tilt
and the direction it faces); a shadow factor scales the direct sun (0 in permanent shadow) and a constant
secondary flux stands for the scattered light and thermal infrared from surrounding terrain that warms
permanently shadowed floors (Paige et al. 2010 find 38-110 K there).

Numerics: backward Euler on a geometric grid (first cell a tenth of a diurnal skin depth, growing 20 % per
cell to 8 skin depths), the surface a node without heat capacity with its radiation linearised about the
previous step. Below the grid the time-mean profile is continued analytically: for a periodic state the
mean of k_c(z) d/dz [T + chi T^4/(4 * 350^3)] is the basal flux Q, which gives the deep temperatures and the
~2 K per 10 cm geothermal gradient at depth. Solutions are cached per set of drivers, so a world's sites cost
one run each, once per process.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

SIGMA_SB = 5.670374419e-8
#: Hayne et al. (2017, eq. A6) heat capacity of lunar regolith: c0 + c1 T + ... + c4 T^4, J/(kg K).
HAYNE_CP = (-3.6125, 2.7431, 2.3616e-3, -1.2340e-5, 8.9093e-9)


@dataclass(frozen=True)
class ThermalParams:
    """Hayne et al. (2017) table A1 standard model of the lunar regolith (SI units)."""

    albedo: float = 0.12  # normal bolometric Bond albedo A_0 (highlands)
    albedo_a: float = 0.06  # Keihm (1984) incidence-angle coefficients
    albedo_b: float = 0.25
    emissivity: float = 0.95
    k_s: float = 7.4e-4  # contact conductivity at the surface, W/(m K)
    k_d: float = 3.4e-3  # contact conductivity at depth, W/(m K)
    rho_s: float = 1100.0  # density at the surface, kg/m^3
    rho_d: float = 1800.0  # density at depth, kg/m^3
    H: float = 0.06  # e-folding depth of density and conductivity, m
    chi: float = 2.7  # radiative conductivity parameter
    Q: float = 0.018  # basal heat flow, W/m^2 (Langseth et al. 1976: 16-21 mW/m^2)
    solar_W_m2: float = 1361.0  # solar constant at 1 AU (Kopp & Lean 2011)
    day_s: float = 29.53059 * 86400.0  # synodic day


MOON = ThermalParams()


def density(z: np.ndarray | float, p: ThermalParams = MOON) -> np.ndarray | float:
    """Bulk density at depth ``z`` (m), kg/m^3 (Hayne et al. 2017 eq. A2)."""
    return p.rho_d - (p.rho_d - p.rho_s) * np.exp(-np.asarray(z) / p.H)


def contact_conductivity(z: np.ndarray | float, p: ThermalParams = MOON) -> np.ndarray | float:
    """Solid (contact) conductivity at depth ``z`` (m), W/(m K) (eq. A3)."""
    rho = density(z, p)
    return p.k_d - (p.k_d - p.k_s) * (p.rho_d - rho) / (p.rho_d - p.rho_s)


def _cp(T: np.ndarray) -> np.ndarray:
    c0, c1, c2, c3, c4 = HAYNE_CP
    T = np.clip(T, 10.0, 1000.0)
    return c0 + T * (c1 + T * (c2 + T * (c3 + T * c4)))


def albedo(incidence_rad: float, p: ThermalParams = MOON) -> float:
    """Bond albedo at solar incidence angle ``incidence_rad`` (eq. A5, Keihm 1984)."""
    deg = math.degrees(incidence_rad)
    return p.albedo + p.albedo_a * (deg / 45.0) ** 3 + p.albedo_b * (deg / 90.0) ** 8


@dataclass(frozen=True)
class Drivers:
    """What sets a site's temperatures: latitude and solar declination (rad), slope tilt and the azimuth
    the slope faces (rad, clockwise from north), the shadow factor on the direct sun (0..1), the constant
    secondary flux from surrounding terrain (W/m^2) and the body's parameters."""

    latitude_rad: float
    declination_rad: float = 0.0
    slope_rad: float = 0.0
    facing_rad: float = 0.0
    shadow_factor: float = 1.0
    secondary_W_m2: float = 0.0
    params: ThermalParams = MOON


def absorbed_flux(d: Drivers, hour_angle_rad: float) -> float:
    """Solar flux absorbed by the surface at ``hour_angle_rad`` (0 at noon), W/m^2 (without the secondary
    flux)."""
    phi, dec, h = d.latitude_rad, d.declination_rad, hour_angle_rad
    east = -math.cos(dec) * math.sin(h)
    north = math.cos(phi) * math.sin(dec) - math.sin(phi) * math.cos(dec) * math.cos(h)
    up = math.sin(phi) * math.sin(dec) + math.cos(phi) * math.cos(dec) * math.cos(h)
    if up <= 0.0 or d.shadow_factor <= 0.0:
        return 0.0
    s = d.slope_rad
    cos_i = up * math.cos(s) + math.sin(s) * (east * math.sin(d.facing_rad) + north * math.cos(d.facing_rad))
    if cos_i <= 0.0:
        return 0.0
    p = d.params
    return d.shadow_factor * p.solar_W_m2 * (1.0 - albedo(math.acos(min(cos_i, 1.0)), p)) * cos_i


@dataclass(frozen=True)
class Solution:
    """A periodic diurnal solution: ``hours`` (local time, 0 = noon, over one day; 24 "lunar hours"),
    ``z_m`` (node depths, m; node 0 is the surface), ``T_K`` (time x depth, K), the time-mean at each node,
    and the constants continuing the mean profile below the grid."""

    hours: np.ndarray
    z_m: np.ndarray
    T_K: np.ndarray
    params: ThermalParams

    @property
    def surface_K(self) -> np.ndarray:
        """Surface temperature over the day, K."""
        return self.T_K[:, 0]

    def mean_K(self, depth_m: float) -> float:
        """Diurnal mean temperature at ``depth_m``, K (continued analytically below the grid)."""
        means = self.T_K.mean(axis=0)
        z = self.z_m
        if depth_m <= z[-1]:
            return float(np.interp(depth_m, z, means))
        p = self.params
        g = float(_kirchhoff(float(means[-1]), p)) + p.Q * _resistance(z[-1], depth_m, p)
        return _inverse_kirchhoff(g, p)

    def at(self, depth_m: float, hour: float) -> float:
        """Temperature at ``depth_m`` and local ``hour`` (0 = noon, 12 = midnight), K."""
        k = round(hour / 24.0 * len(self.hours)) % len(self.hours)
        if depth_m > self.z_m[-1]:
            return self.mean_K(depth_m)
        return float(np.interp(depth_m, self.z_m, self.T_K[k]))

    def max_K(self, depth_m: float) -> float:
        """Highest temperature over the day at ``depth_m``, K."""
        if depth_m > self.z_m[-1]:
            return self.mean_K(depth_m)
        return float(max(np.interp(depth_m, self.z_m, row) for row in self.T_K))


def _kirchhoff(T: float | np.ndarray, p: ThermalParams) -> float | np.ndarray:
    return T + p.chi * T**4 / (4.0 * 350.0**3)


def _inverse_kirchhoff(g: float, p: ThermalParams) -> float:
    T = g
    for _ in range(30):
        T -= (float(_kirchhoff(T, p)) - g) / (1.0 + p.chi * (T / 350.0) ** 3)
    return T


def _resistance(z0: float, z1: float, p: ThermalParams, n: int = 200) -> float:
    """Integral of dz / k_c(z) from z0 to z1, K m^2/W."""
    zs = np.linspace(z0, z1, n + 1)
    inv = np.asarray(1.0 / contact_conductivity(zs, p))
    return float(np.sum(0.5 * (inv[1:] + inv[:-1]) * np.diff(zs)))


def _grid(p: ThermalParams) -> np.ndarray:
    kappa = p.k_s / (p.rho_s * 600.0)
    skin = math.sqrt(kappa * p.day_s / math.pi)
    dz, z, zs = skin / 10.0, 0.0, [0.0]
    while z < 8.0 * skin:
        z += dz
        zs.append(z)
        dz *= 1.2
    return np.array(zs)


@functools.lru_cache(maxsize=512)
def solve(d: Drivers, steps_per_day: int = 240, days: int = 3) -> Solution:
    """The periodic diurnal temperatures of a site with drivers ``d`` (cached)."""
    p = d.params
    z = _grid(p)
    n = len(z)
    rho = density(z, p)
    kc = contact_conductivity(z, p)
    dt = p.day_s / steps_per_day
    hours = np.arange(steps_per_day) * 24.0 / steps_per_day
    flux = np.array([absorbed_flux(d, 2.0 * math.pi * hr / 24.0) for hr in hours]) + d.secondary_W_m2
    eps_sigma = p.emissivity * SIGMA_SB
    # first guess: radiative equilibrium with the mean absorbed flux, continued down by the basal flux
    T_eq = ((flux.mean() + p.Q) / eps_sigma) ** 0.25
    T = np.full(n, T_eq)
    dz_up = np.diff(z)  # distance node i -> i+1
    vol = np.empty(n)  # control-volume thickness of each node (0 for the surface)
    vol[0] = 0.0
    vol[1:-1] = 0.5 * (dz_up[:-1] + dz_up[1:])
    vol[-1] = 0.5 * dz_up[-1]
    out = np.empty((steps_per_day, n))
    for day in range(days):
        for step in range(steps_per_day):
            k = kc * (1.0 + p.chi * (T / 350.0) ** 3)
            kf = 0.5 * (k[1:] + k[:-1]) / dz_up  # face conductances, W/(m^2 K)
            cap = rho * _cp(T) * vol / dt
            lower = np.zeros(n)
            diag = cap.copy()
            upper = np.zeros(n)
            rhs = cap * T
            diag[:-1] += kf
            diag[1:] += kf
            upper[:-1] = -kf
            lower[1:] = -kf
            T0 = T[0]
            diag[0] += 4.0 * eps_sigma * T0**3
            rhs[0] = flux[step] + 3.0 * eps_sigma * T0**4
            rhs[-1] += p.Q
            T = _thomas(lower, diag, upper, rhs)
            out[step] = T
        if day < days - 1:  # relax the deep profile to the periodic mean (the Kirchhoff argument above)
            _set_mean_profile(T, z, float(np.mean(_kirchhoff(out[:, 0], p))), p)
    return Solution(hours, z, out, p)


def _set_mean_profile(T: np.ndarray, z: np.ndarray, g_surface: float, p: ThermalParams) -> None:
    """Shift the nodes below two skin depths so their temperature is the periodic mean for a surface whose
    mean Kirchhoff temperature is ``g_surface`` (deep nodes barely move over a day; this skips the decades
    of days the deep column would need to relax)."""
    skin2 = 2.0 * math.sqrt(p.k_s / (p.rho_s * 600.0) * p.day_s / math.pi)
    for i, depth in enumerate(z):
        if depth >= skin2:
            T[i] = _inverse_kirchhoff(g_surface + p.Q * _resistance(0.0, float(depth), p, 40), p)


def _thomas(a: np.ndarray, b: np.ndarray, c: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Solve the tridiagonal system (sub-diagonal ``a``, diagonal ``b``, super-diagonal ``c``)."""
    n = len(b)
    cp = [0.0] * n
    dp = [0.0] * n
    al, bl, cl, rl = a.tolist(), b.tolist(), c.tolist(), r.tolist()
    cp[0] = cl[0] / bl[0]
    dp[0] = rl[0] / bl[0]
    for i in range(1, n):
        m = bl[i] - al[i] * cp[i - 1]
        cp[i] = cl[i] / m
        dp[i] = (rl[i] - al[i] * dp[i - 1]) / m
    x = [0.0] * n
    x[-1] = dp[-1]
    for i in range(n - 2, -1, -1):
        x[i] = dp[i] - cp[i] * x[i + 1]
    return np.array(x)
