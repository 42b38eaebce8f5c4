"""Battery and solar array of the rover's power system.

Battery: a Li-ion pack of ``series`` x ``parallel`` cells. Each cell follows the open-circuit-voltage
curve and series resistance fitted by Chen & Rincon-Mora (2006, "Accurate electrical battery model capable
of predicting runtime and I-V performance", IEEE Trans. Energy Conversion 21(2)):

    V_oc(s) = -1.031 exp(-35 s) + 3.685 + 0.2156 s - 0.1178 s^2 + 0.3201 s^3      [V, s = state of charge]
    R_s(s)  = 0.1562 exp(-24.37 s) + 0.07446                                    [ohm, for their 850 mAh cell]

The resistance is scaled inversely with cell capacity (a larger cell of the same chemistry has
proportionally more electrode area — an engineering assumption). The terminal voltage under a discharge
current ``I`` is ``V = V_oc - I R``; a load of ``P`` watts draws ``I = (V_oc - sqrt(V_oc^2 - 4 R P)) / (2 R)``.
The state of charge integrates the current (coulomb counting).

Solar array: ``P = S A eta k f_sun illumination`` with the body's irradiance ``S``, area ``A``, cell
efficiency ``eta``, a packing/wiring/temperature factor ``k``, ``f_sun`` = 1 while the Sun is above the
horizon (the array tracks it) and the site's ``illumination`` (terrain shadowing; 0 in a permanently
shadowed region). Parameters and sources: ``docs/sim/mobility-power.md``.

SI units, plain floats (called every simulation step).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from sim_hw.bodies import Body

_LOGGER = logging.getLogger(__name__)

#: Capacity of the cell Chen & Rincon-Mora fitted, Ah.
_REFERENCE_CELL_AH = 0.85


def cell_ocv_V(soc: float) -> float:
    """Open-circuit voltage of one Li-ion cell at state of charge ``soc`` (0..1), V (Chen & Rincon-Mora 2006)."""
    s = min(max(soc, 0.0), 1.0)
    return -1.031 * math.exp(-35.0 * s) + 3.685 + 0.2156 * s - 0.1178 * s * s + 0.3201 * s * s * s


def cell_resistance_ohm(soc: float, capacity_Ah: float) -> float:
    """Series resistance of one cell of ``capacity_Ah`` at state of charge ``soc``, ohm."""
    s = min(max(soc, 0.0), 1.0)
    return (0.1562 * math.exp(-24.37 * s) + 0.07446) * _REFERENCE_CELL_AH / capacity_Ah


@dataclass(frozen=True)
class BatteryPack:
    """A pack of ``series`` x ``parallel`` identical cells of ``cell_capacity_Ah`` (assumed: 8s14p of 5 Ah
    cells, 28.8 V nominal, about 2 kWh). ``coulombic_efficiency`` applies to charge (assumption 0.99)."""

    series: int = 8
    parallel: int = 14
    cell_capacity_Ah: float = 5.0
    coulombic_efficiency: float = 0.99
    max_charge_A: float = 35.0  # C/2 charge limit of the charger (assumption)

    @property
    def capacity_Ah(self) -> float:
        """Pack capacity, Ah."""
        return self.parallel * self.cell_capacity_Ah

    @property
    def capacity_Wh(self) -> float:
        """Energy between empty and full at the open-circuit voltage, Wh (numerical integral)."""
        n = 200
        return sum(self.ocv_V((i + 0.5) / n) for i in range(n)) / n * self.capacity_Ah

    def ocv_V(self, soc: float) -> float:
        """Pack open-circuit voltage, V."""
        return self.series * cell_ocv_V(soc)

    def resistance_ohm(self, soc: float) -> float:
        """Pack series resistance, ohm."""
        return self.series * cell_resistance_ohm(soc, self.cell_capacity_Ah) / self.parallel

    def operating_point(self, net_load_W: float, soc: float, ocv_V: float | None = None) -> tuple[float, float]:
        """Battery current (A, positive discharging) and terminal voltage (V) that deliver ``net_load_W``
        (negative: charging). A load beyond the pack's maximum power collapses the voltage to half the
        open-circuit voltage (the maximum-power point), which trips any undervoltage cutoff. ``ocv_V`` may
        pass the open-circuit voltage if the caller has it."""
        ocv = self.ocv_V(soc) if ocv_V is None else ocv_V
        r = self.resistance_ohm(soc)
        disc = ocv * ocv - 4.0 * r * net_load_W
        if disc < 0.0:
            return ocv / (2.0 * r), ocv / 2.0
        current = (ocv - math.sqrt(disc)) / (2.0 * r)
        if current < -self.max_charge_A:
            current = -self.max_charge_A
        return current, ocv - current * r

    def soc_after(self, soc: float, current_A: float, dt_s: float) -> float:
        """State of charge after ``current_A`` (positive discharging) flows for ``dt_s`` seconds (0..1)."""
        charge = current_A if current_A > 0.0 else current_A * self.coulombic_efficiency
        soc -= charge * dt_s / (3600.0 * self.capacity_Ah)
        return 0.0 if soc < 0.0 else 1.0 if soc > 1.0 else soc


@dataclass(frozen=True)
class SolarArray:
    """A sun-tracking array: ``area_m2`` (assumption 1.0), triple-junction cells of ``cell_efficiency``
    (assumption 0.28, typical beginning-of-life space cells) and ``derating`` for packing, wiring and cell
    temperature (assumption 0.85)."""

    area_m2: float = 1.0
    cell_efficiency: float = 0.28
    derating: float = 0.85

    def output_W(self, body: Body, illumination: float, t_s: float) -> float:
        """Power the array delivers at time ``t_s`` on ``body`` where ``illumination`` (0..1) of the Sun is
        visible, W. On a rotating body the Sun is up while ``sin(2 pi t / P) > 0``."""
        if math.isfinite(body.rotation_period_s) and math.sin(2.0 * math.pi * t_s / body.rotation_period_s) <= 0.0:
            return 0.0
        return body.solar_irradiance_W_m2 * self.area_m2 * self.cell_efficiency * self.derating * illumination
