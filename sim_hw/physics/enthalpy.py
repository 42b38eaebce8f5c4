"""Sensible enthalpy of regolith, ice and liquid water, and the energy audit of a heated chamber.

Temperatures of things put together are found by conserving enthalpy, not by averaging temperatures with
heat capacities taken at each part's own temperature: regolith's heat capacity grows about fivefold between
50 and 250 K (Hayne et al. 2017, eq. A6), so a temperature average creates tens of kJ per kg of cold
regolith poured into a warm chamber. The enthalpies here are the exact integrals of the heat capacities in
:mod:`sim_hw.physics.thermal`, so a model that moves heat only through them conserves energy to rounding.

All enthalpies are J/kg relative to 0 K (only differences matter); temperatures in kelvin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim_hw.errors import ModelParameterError
from sim_hw.regolith_thermal import HAYNE_CP

#: The heat-capacity fits are used between these temperatures and held constant outside (K).
CP_T_MIN_K, CP_T_MAX_K = 10.0, 1000.0
#: Ice Ih heat capacity 7.49 T + 90 J/(kg K) (Klinger 1981), up to the triple point.
ICE_CP_A, ICE_CP_B = 7.49, 90.0
T_TRIPLE_K = 273.16
#: Specific heat of liquid water, J/(kg K) (0-100 C mean).
CP_LIQUID_J_KG_K = 4190.0


def _poly_integral(T: float) -> float:
    c0, c1, c2, c3, c4 = HAYNE_CP
    return T * (c0 + T * (c1 / 2.0 + T * (c2 / 3.0 + T * (c3 / 4.0 + T * c4 / 5.0))))


_H_REG_MIN = _poly_integral(CP_T_MIN_K)
_H_REG_MAX = _poly_integral(CP_T_MAX_K)
_CP_REG_MIN = sum(c * CP_T_MIN_K**i for i, c in enumerate(HAYNE_CP))
_CP_REG_MAX = sum(c * CP_T_MAX_K**i for i, c in enumerate(HAYNE_CP))


def h_regolith(T: float) -> float:
    """Sensible enthalpy of regolith, J/kg: the integral of Hayne et al.'s c_p from 0 K (c_p held at its
    10 K and 1000 K values outside the fit's range)."""
    if T <= CP_T_MIN_K:
        return _CP_REG_MIN * T
    base = _CP_REG_MIN * CP_T_MIN_K - _H_REG_MIN
    if T >= CP_T_MAX_K:
        return base + _H_REG_MAX + _CP_REG_MAX * (T - CP_T_MAX_K)
    return base + _poly_integral(T)


def h_ice(T: float) -> float:
    """Sensible enthalpy of ice, J/kg (integral of 7.49 T + 90 from 0 K; constant c_p above the triple point
    for superheated ice, which the phase-change step melts at once)."""
    if T <= CP_T_MIN_K:
        T10 = CP_T_MIN_K
        return (ICE_CP_A * T10 + ICE_CP_B) * T
    if T <= T_TRIPLE_K:
        base = (ICE_CP_A * CP_T_MIN_K + ICE_CP_B) * CP_T_MIN_K - (ICE_CP_A * CP_T_MIN_K**2 / 2 + ICE_CP_B * CP_T_MIN_K)
        return base + ICE_CP_A * T * T / 2.0 + ICE_CP_B * T
    return h_ice(T_TRIPLE_K) + (ICE_CP_A * T_TRIPLE_K + ICE_CP_B) * (T - T_TRIPLE_K)


_H_ICE_TRIPLE = h_ice(T_TRIPLE_K)


def h_liquid(T: float) -> float:
    """Sensible enthalpy of liquid water, J/kg, continuous with ice at the triple point (the latent heat of
    fusion is booked separately)."""
    return _H_ICE_TRIPLE + CP_LIQUID_J_KG_K * (T - T_TRIPLE_K)


@dataclass
class EnergyAudit:
    """Where the heater's energy went, J, since the audit started.

    ``heater_J`` = ``sensible_J`` + ``latent_J`` + ``losses_J`` + ``stored_J`` + ``residual_J``:

    * ``sensible_J`` — heat that warmed the regolith and its water: their sensible enthalpy now, minus the
      enthalpy they arrived with, plus the enthalpy that left with the tailings and with the released water;
    * ``latent_J`` — sublimation, vaporisation, fusion (less refreezing) and dehydration;
    * ``losses_J`` — heat to the surroundings (insulation, mounts, open lid); negative if they warmed it;
    * ``stored_J`` — heat held by the chamber structure (liner, heater, stirrer) since the audit started;
    * ``residual_J`` — what the model failed to account for (integration error): ≤ 1 % of ``heater_J``.
    """

    heater_J: float = 0.0
    latent_J: float = 0.0
    losses_J: float = 0.0
    arrived_J: float = 0.0  # sensible enthalpy of material loaded (and of external temperature changes)
    departed_J: float = 0.0  # sensible enthalpy of material that left (tailings, released water)
    contents0_J: float = 0.0  # contents' sensible enthalpy when the audit started
    structure0_J: float = 0.0  # structure's sensible enthalpy when the audit started

    def balance(self, contents_J: float, structure_J: float) -> dict[str, float]:
        """The audit's terms (J) for a chamber whose contents and structure now hold ``contents_J`` and
        ``structure_J`` of sensible enthalpy: ``heater_J``, ``sensible_J``, ``latent_J``, ``losses_J``,
        ``stored_J``, ``residual_J`` and ``residual_fraction`` (of the heater energy; 0 with no heating)."""
        if not (math.isfinite(contents_J) and math.isfinite(structure_J)):
            raise ModelParameterError(f"energy audit needs finite enthalpies, got {contents_J}, {structure_J}")
        sensible = contents_J - self.contents0_J - self.arrived_J + self.departed_J
        stored = structure_J - self.structure0_J
        residual = self.heater_J - (sensible + self.latent_J + self.losses_J + stored)
        scale = max(abs(self.heater_J), abs(sensible) + abs(self.latent_J) + abs(self.losses_J) + abs(stored))
        return {
            "heater_J": self.heater_J,
            "sensible_J": sensible,
            "latent_J": self.latent_J,
            "losses_J": self.losses_J,
            "stored_J": stored,
            "residual_J": residual,
            "residual_fraction": abs(residual) / scale if scale > 0.0 else 0.0,
        }
