"""Thermal water extraction: properties of regolith, ice and water, and a lumped model of a heated chamber.

The chamber holds regolith with ice. A heater warms it; ice sublimates (or, above the triple point, melts
and evaporates); the vapour fills the free volume as an ideal gas and flows to a cold trap where it
deposits as ice. Vapour also escapes through the vent, a leaking seal or an open lid. Equations,
parameters and their published sources are in ``docs/sim/extraction.md``.

Every quantity is SI: kelvin, pascal, kilogram, joule, watt, second, cubic metre.

Water accounting is exact by construction: every kilogram moves between named reservoirs (ice and liquid in
the regolith, vapour, cold trap, tank, vented, dumped with the tailings), so
:meth:`ExtractionChamber.water_balance_error_kg` stays at rounding level.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from sim_hw.errors import ModelParameterError
from sim_hw.physics import water_release as wr
from sim_hw.physics.enthalpy import HAYNE_CP, EnergyAudit, h_ice, h_liquid, h_regolith

_LOGGER = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------------ constants
#: Molar gas constant, J/(mol K) (CODATA 2018).
R_GAS = 8.314462618
#: Molar mass of water, kg/mol.
M_WATER = 0.018015268
#: Specific gas constant of water vapour, J/(kg K).
R_VAPOUR = R_GAS / M_WATER
#: Specific gas constant of dry air, J/(kg K) (the non-condensable gas of an Earth test rig).
R_AIR = 287.05
#: Triple point of water: temperature (K) and pressure (Pa) (IAPWS).
T_TRIPLE_K = 273.16
P_TRIPLE_PA = 611.657
#: Critical point of water: temperature (K) and pressure (Pa) (IAPWS-95).
T_CRITICAL_K = 647.096
P_CRITICAL_PA = 22.064e6
#: Latent heat of fusion of ice at the triple point, J/kg.
L_FUSION_J_KG = 333.55e3
#: Specific heat of liquid water, J/(kg K) (0-100 C mean).
CP_LIQUID_J_KG_K = 4190.0
#: Stefan-Boltzmann constant, W/(m^2 K^4).
SIGMA_SB = 5.670374419e-8
#: Density of ice, kg/m^3, and of liquid water, kg/m^3.
RHO_ICE = 917.0
RHO_LIQUID = 1000.0

_HAYNE = HAYNE_CP
_WAGNER = (-7.85951783, 1.84408259, -11.7866497, 22.6807411, -15.9618719, 1.80122502)
_HK_COEFF = M_WATER / (2.0 * math.pi * R_GAS)
_L_VAP_TRIPLE_J_KG = 2.5008e6  # at the triple point (IAPWS-95)
_L_VAP_BOIL_J_KG = 2.2564e6  # at the normal boiling point, 373.124 K (IAPWS-95)
_T_BOIL_K = 373.124
_WATSON_N = math.log(_L_VAP_BOIL_J_KG / _L_VAP_TRIPLE_J_KG) / math.log(
    (T_CRITICAL_K - _T_BOIL_K) / (T_CRITICAL_K - T_TRIPLE_K)
)
#: Bound (phyllosilicate) water release, first-order Arrhenius: activation energy J/mol, prefactor 1/s, and
#: enthalpy of release J/kg (engineering assumptions placing the release at 650-900 K, see the docs).
DEHYDRATION_EA_J_MOL = 165.0e3
DEHYDRATION_A_S = 2.3e7
DEHYDRATION_ENTHALPY_J_KG = 3.0e6


# ------------------------------------------------------------------------------------------ properties
def cp_regolith(T: float) -> float:
    """Specific heat of lunar regolith, J/(kg K), at ``T`` kelvin.

    Hayne et al. (2017) eq. A6 / table A1 (a fit to Hemingway et al. 1981 and Ledlow et al. 1992).
    Evaluated with T clamped to 10..1000 K (the fit is positive and smooth there)."""
    T = 10.0 if T < 10.0 else (1000.0 if T > 1000.0 else T)
    c0, c1, c2, c3, c4 = _HAYNE
    return c0 + T * (c1 + T * (c2 + T * (c3 + T * c4)))


def cp_ice(T: float) -> float:
    """Specific heat of water ice Ih, J/(kg K): 7.49 T + 90 (Klinger 1981), T clamped to 10..273.16 K."""
    T = 10.0 if T < 10.0 else (T_TRIPLE_K if T > T_TRIPLE_K else T)
    return 7.49 * T + 90.0


def p_sat_ice(T: float) -> float:
    """Vapour pressure over ice, Pa (Murphy & Koop 2005 eq. 7). 0 below 20 K."""
    if T < 20.0:
        return 0.0
    return math.exp(9.550426 - 5723.265 / T + 3.53068 * math.log(T) - 0.00728332 * T)


def p_sat_liquid(T: float) -> float:
    """Vapour pressure over liquid water, Pa (Wagner & Pruss 1993/2002 saturation equation, IAPWS).

    Valid from the triple point to the critical point; below 200 K it returns the 200 K value's
    continuation (liquid never persists there in the model), above the critical point the critical
    pressure."""
    if T >= T_CRITICAL_K:
        return P_CRITICAL_PA
    T = 200.0 if T < 200.0 else T
    tau = 1.0 - T / T_CRITICAL_K
    a1, a2, a3, a4, a5, a6 = _WAGNER
    s = tau**0.5
    poly = tau * (a1 + s * a2 + tau * tau * (a3 + s * a4 + tau * a5) + a6 * tau**6.5)
    return P_CRITICAL_PA * math.exp(T_CRITICAL_K / T * poly)


def latent_sublimation(T: float) -> float:
    """Latent heat of sublimation of ice, J/kg (Murphy & Koop 2005 eq. 5; T clamped to 30..273.16 K)."""
    T = 30.0 if T < 30.0 else (T_TRIPLE_K if T > T_TRIPLE_K else T)
    molar = 46782.5 + 35.8925 * T - 0.07414 * T * T + 541.5 * math.exp(-((T / 123.75) ** 2))
    return molar / M_WATER


def latent_vaporisation(T: float) -> float:
    """Latent heat of vaporisation of water, J/kg: Watson's form L = L_tp ((Tc - T) / (Tc - T_tp))^n
    (Watson 1943) through the IAPWS-95 values at the triple point (2.5008 MJ/kg) and the normal boiling
    point (2.2564 MJ/kg), n = 0.331. Zero at and above the critical point; T clamped to the triple point."""
    if T >= T_CRITICAL_K:
        return 0.0
    T = T_TRIPLE_K if T < T_TRIPLE_K else T
    return _L_VAP_TRIPLE_J_KG * ((T_CRITICAL_K - T) / (T_CRITICAL_K - T_TRIPLE_K)) ** _WATSON_N


def dehydration_rate_s(T: float) -> float:
    """First-order release rate of bound water from hydrated minerals at ``T`` kelvin, 1/s."""
    return DEHYDRATION_A_S * math.exp(-DEHYDRATION_EA_J_MOL / (R_GAS * T)) if T > 300.0 else 0.0


def hertz_knudsen_factor(T: float) -> float:
    """sqrt(M / (2 pi R T)), s/m: the Hertz-Knudsen mass flux per pascal of undersaturation, kg/(m^2 s Pa)."""
    return math.sqrt(_HK_COEFF / T)


# ------------------------------------------------------------------------------------------ design
@dataclass(frozen=True)
class ChamberDesign:
    """Fixed parameters of the extractor hardware. See ``docs/sim/extraction.md`` for each value's source
    (published figure or engineering assumption)."""

    volume_m3: float = 0.020  # chamber internal volume
    capacity_kg: float = 15.0  # most regolith the chamber holds
    grain_density_kg_m3: float = 3100.0  # regolith solid density (specific gravity 3.1)
    structure_heat_capacity_J_K: float = 2500.0  # liner, heater and stirrer
    mli_emissivity: float = 0.02  # effective emittance of the multilayer insulation
    outer_area_m2: float = 0.40  # insulated outer area
    support_conductance_W_K: float = 0.20  # conductive leak through mounts and harness
    aperture_area_m2: float = 0.010  # lid opening
    aperture_emissivity: float = 0.90  # regolith seen through the open lid
    ice_area_m2_kg: float = 65.0  # ice surface per kg of ice (100 um grains: 6 / (rho d))
    release_coefficient: float = 5.0e-5  # fraction of the free Hertz-Knudsen flux that leaves the pores
    bed_bulk_density_kg_m3: float = 1600.0  # regolith as it lies in the chamber
    bed_path_m: float = 0.02  # depth the vapour diffuses through: a stirred bed's turnover depth
    front_conduction_factor: float = 30.0  # heat to the ice front: stirring over conduction (inf: volumetric)
    trap_conductance_m3_s: float = 0.05  # vapour line chamber -> cold trap
    vent_conductance_m3_s: float = 0.01  # vent valve, open
    trap_heat_capacity_J_K: float = 1500.0
    cooler_sink_K: float = 180.0  # cryocooler cold tip
    cooler_conductance_W_K: float = 8.0  # cold tip <-> trap
    trap_leak_conductance_W_K: float = 0.5  # trap <-> environment
    max_substep_s: float = 1.0  # internal integration step bound


DEFAULT_DESIGN = ChamberDesign()


@dataclass
class StepInputs:
    """What the hardware around the chamber imposes during one step."""

    heater_W: float = 0.0  # heater power into the chamber, W
    env_temp_K: float = 250.0  # radiative surroundings (the surface the rover stands on), K
    mount_temp_K: float = 250.0  # rover structure the mounts and harness conduct into, K
    ambient_pressure_Pa: float = 0.0  # outside pressure, Pa
    lid_open: float = 1.0  # 0 sealed .. 1 fully open
    vent_open: bool = False
    leak_rate_s: float = 0.0  # seal leak: fraction of the chamber gas lost per second, 1/s
    cooler_on: bool = True


class ExtractionChamber:
    """Lumped (well-mixed) state of one extraction chamber and its cold trap.

    State: dry regolith, ice, liquid and mineral-bound water in the regolith, vapour and non-condensable gas
    in the free volume (kg), one temperature for regolith + structure (K), cold-trap ice and temperature,
    tank water, and the water that left (vented, dumped). Advance with :meth:`step`.
    """

    def __init__(
        self, design: ChamberDesign = DEFAULT_DESIGN, *, temp_K: float = 250.0, ambient_pressure_Pa: float = 0.0
    ) -> None:
        self.design = design
        self._T = temp_K
        self.trap_temp_K = design.cooler_sink_K
        self.dry_kg = 0.0
        self.ice_kg = 0.0
        self.liquid_kg = 0.0
        self.bound_kg = 0.0  # water bound in hydrated minerals, released by dehydration
        self.adsorbed_bins = [0.0] * len(wr.SITES)  # water adsorbed on grains, per binding-energy class, kg
        self.adsorbed_kg = 0.0  # their sum, kg
        self._pore_ice0_kg = 0.0  # pore ice (and liquid) loaded into the current batch, kg
        self.vapour_kg = 0.0
        self.gas_kg = ambient_pressure_Pa * design.volume_m3 / (R_AIR * temp_K)
        self.trap_kg = 0.0
        self.tank_kg = 0.0
        self.vented_kg = 0.0
        self.dumped_water_kg = 0.0
        self.water_loaded_kg = 0.0  # all water ever loaded (ice + bound), kg
        self.melted_kg = 0.0  # ice that went through the liquid phase (diagnostic), kg
        self.heater_energy_J = 0.0  # since the current batch started
        self._batch_baseline_kg = 0.0  # trap + tank when the batch started
        self.batch_start_structure_K = temp_K  # structure temperature when the batch started, K
        self.front_K = temp_K  # temperature of the receding pore-ice front, K
        self._front_key = (-1.0, -1.0, 0.0)  # bed K and vapour Pa the front was found for, its p_sat
        self.audit = EnergyAudit(structure0_J=self.structure_enthalpy_J())

    # ------------------------------------------------------------------------------------ enthalpy
    @property
    def temp_K(self) -> float:
        """Temperature of regolith and structure, K. Setting it from outside the model (a test forcing a
        state) books the enthalpy change as brought in from outside, so the energy audit still closes."""
        return self._T

    @temp_K.setter
    def temp_K(self, value: float) -> None:
        before = self.contents_enthalpy_J() + self.structure_enthalpy_J()
        self._T = float(value)
        self.audit.arrived_J += self.contents_enthalpy_J() + self.structure_enthalpy_J() - before

    def contents_enthalpy_J(self, T: float | None = None) -> float:
        """Sensible enthalpy of the regolith and the water it holds at ``T`` (default: now), J."""
        T = self._T if T is None else T
        return (
            (self.dry_kg + self.bound_kg + self.adsorbed_kg) * h_regolith(T)
            + self.ice_kg * h_ice(T)
            + self.liquid_kg * h_liquid(T)
        )

    def structure_enthalpy_J(self, T: float | None = None) -> float:
        """Sensible enthalpy of the liner, heater and stirrer at ``T`` (default: now), J."""
        return self.design.structure_heat_capacity_J_K * (self._T if T is None else T)

    def _temperature_for(self, enthalpy_J: float, guess_K: float) -> float:
        """The temperature at which contents + structure hold ``enthalpy_J`` (Newton's method on the
        monotonic enthalpy; converges to 1e-7 J in two or three iterations for a 1 s step)."""
        T = max(guess_K, 1.0)
        for _ in range(20):
            error = self.contents_enthalpy_J(T) + self.structure_enthalpy_J(T) - enthalpy_J
            T_next = max(T - error / self.heat_capacity_J_K(T), 1.0)
            if abs(T_next - T) < 1e-9:
                return T_next
            T = T_next
        return T

    def energy_audit(self) -> dict[str, float]:
        """Where the heater energy went since the chamber was made, J (see :class:`EnergyAudit`)."""
        return self.audit.balance(self.contents_enthalpy_J(), self.structure_enthalpy_J())

    # ------------------------------------------------------------------------------------ derived
    def released_pore_fraction(self) -> float:
        """Fraction of the batch's pore ice (and liquid) that has left the regolith (0 before any)."""
        if self._pore_ice0_kg <= 0.0:
            return 0.0
        return min(max(1.0 - (self.ice_kg + self.liquid_kg) / self._pore_ice0_kg, 0.0), 1.0)

    @property
    def loaded_kg(self) -> float:
        """Material in the chamber: dry regolith + ice + liquid + bound water, kg."""
        return self.dry_kg + self.ice_kg + self.liquid_kg + self.bound_kg + self.adsorbed_kg

    def free_volume_m3(self) -> float:
        """Gas volume: chamber volume minus the solids and the condensed water, m^3."""
        d = self.design
        return (
            d.volume_m3
            - (self.dry_kg + self.bound_kg + self.adsorbed_kg) / d.grain_density_kg_m3
            - self.ice_kg / RHO_ICE
            - self.liquid_kg / RHO_LIQUID
        )

    def pressure_Pa(self) -> float:
        """Total gas pressure in the free volume (vapour + non-condensable), Pa (ideal gas)."""
        return (self.vapour_kg * R_VAPOUR + self.gas_kg * R_AIR) * self.temp_K / self.free_volume_m3()

    def vapour_pressure_Pa(self) -> float:
        """Partial pressure of water vapour, Pa."""
        return self.vapour_kg * R_VAPOUR * self.temp_K / self.free_volume_m3()

    def heat_capacity_J_K(self, T: float | None = None) -> float:
        """Heat capacity of the chamber contents and structure at ``T`` (default: now), J/K."""
        T = self._T if T is None else T
        return (
            self.design.structure_heat_capacity_J_K
            + (self.dry_kg + self.bound_kg + self.adsorbed_kg) * cp_regolith(T)
            + self.ice_kg * cp_ice(T)
            + self.liquid_kg * CP_LIQUID_J_KG_K
        )

    def batch_water_kg(self) -> float:
        """Water collected (trap + tank) since the current batch was loaded, kg."""
        return self.trap_kg + self.tank_kg - self._batch_baseline_kg

    def energy_per_kg_J(self) -> float:
        """Heater energy per kilogram of water collected in this batch, J/kg (inf before any water)."""
        water = self.batch_water_kg()
        return self.heater_energy_J / water if water > 1e-9 else math.inf

    def water_accounted_kg(self) -> float:
        """Sum of every water reservoir, kg: equals :attr:`water_loaded_kg`."""
        return (
            self.ice_kg
            + self.liquid_kg
            + self.bound_kg
            + self.adsorbed_kg
            + self.vapour_kg
            + self.trap_kg
            + self.tank_kg
            + self.vented_kg
            + self.dumped_water_kg
        )

    def water_balance_error_kg(self) -> float:
        """Water accounted minus water loaded, kg (rounding level when the model is right)."""
        return self.water_accounted_kg() - self.water_loaded_kg

    # ------------------------------------------------------------------------------------ material
    def load(self, mass_kg: float, ice_fraction: float, temp_K: float, hydrated_fraction: float = 0.0) -> float:
        """Add regolith of ``mass_kg`` with ice mass fraction ``ice_fraction`` and mineral-bound water mass
        fraction ``hydrated_fraction`` at ``temp_K``; returns the mass taken (limited by the capacity).
        The water fills the grains' adsorption sites first (up to
        :data:`~sim_hw.physics.water_release.ADSORBED_CAPACITY_KG_KG` of the dry mass), the rest is pore
        ice. Temperatures mix by enthalpy. A load into an empty chamber starts a new batch (resets the heater
        energy counter)."""
        values = (mass_kg, ice_fraction, temp_K, hydrated_fraction)
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
            raise ModelParameterError(f"regolith load needs finite numbers (kg, fraction, K, fraction), got {values!r}")
        if (
            mass_kg < 0
            or ice_fraction < 0
            or hydrated_fraction < 0
            or ice_fraction + hydrated_fraction > 1.0
            or temp_K <= 0
        ):
            raise ModelParameterError(
                f"regolith load: expected mass >= 0 kg, water fractions >= 0 summing to <= 1 and "
                f"T > 0 K; got {mass_kg} kg, ice {ice_fraction}, bound {hydrated_fraction}, {temp_K} K"
            )
        taken = min(mass_kg, max(0.0, self.design.capacity_kg - self.loaded_kg))
        if taken <= 0.0:
            return 0.0
        if self.loaded_kg <= 0.0:
            self.heater_energy_J = 0.0
            self._batch_baseline_kg = self.trap_kg + self.tank_kg
            self._pore_ice0_kg = self.ice_kg + self.liquid_kg
            self.batch_start_structure_K = self._T
        water = taken * ice_fraction
        bound = taken * hydrated_fraction
        dry = taken - water - bound
        # the first water a grain meets chemisorbs on its surface (up to a monolayer); the rest is pore ice
        adsorbed = min(water, wr.ADSORBED_CAPACITY_KG_KG * dry)
        ice = water - adsorbed
        # mix by enthalpy: what the chamber holds plus what arrives, at the temperature that holds both
        arriving = (dry + bound + adsorbed) * h_regolith(temp_K) + ice * h_ice(temp_K)
        total = self.contents_enthalpy_J() + self.structure_enthalpy_J() + arriving
        self.audit.arrived_J += arriving
        self.dry_kg += dry
        self.ice_kg += ice
        self._pore_ice0_kg += ice
        self.bound_kg += bound
        for i, (_energy, share) in enumerate(wr.SITES):
            self.adsorbed_bins[i] += adsorbed * share
        self.adsorbed_kg = sum(self.adsorbed_bins)
        self._T = self._temperature_for(total, self._T)
        self.water_loaded_kg += water + bound
        return taken

    def dump(self) -> float:
        """Empty the chamber (tailings out); the water still in the regolith leaves with it. Returns kg dumped."""
        mass = self.loaded_kg
        self.audit.departed_J += self.contents_enthalpy_J()
        self.dumped_water_kg += self.ice_kg + self.liquid_kg + self.bound_kg + self.adsorbed_kg
        self.dry_kg = self.ice_kg = self.liquid_kg = self.bound_kg = 0.0
        self.adsorbed_bins = [0.0] * len(wr.SITES)
        self.adsorbed_kg = 0.0
        self._pore_ice0_kg = 0.0
        return mass

    def transfer_to_tank(self, max_kg: float) -> float:
        """Move up to ``max_kg`` of cold-trap water to the tank; returns kg moved."""
        moved = min(max(max_kg, 0.0), self.trap_kg)
        self.trap_kg -= moved
        self.tank_kg += moved
        return moved

    # ------------------------------------------------------------------------------------ dynamics
    def step(self, dt: float, inputs: StepInputs) -> None:
        """Advance by ``dt`` seconds under ``inputs`` (sub-stepped to ``design.max_substep_s``)."""
        if dt <= 0.0:
            return
        n = max(1, math.ceil(dt / self.design.max_substep_s - 1e-9))
        h = dt / n
        self.heater_energy_J += inputs.heater_W * dt
        self.audit.heater_J += inputs.heater_W * dt
        for _ in range(n):
            self._substep(h, inputs)

    def _substep(self, h: float, u: StepInputs) -> None:
        d = self.design
        T = self.temp_K
        T_env = u.env_temp_K
        T_mount = u.mount_temp_K
        volume = self.free_volume_m3()
        # paths to the outside: vent, open lid (molecular-flow orifice), leaking seal; 1/s
        k_out = u.leak_rate_s
        if u.vent_open:
            k_out += d.vent_conductance_m3_s / volume
        if u.lid_open > 0.0:
            k_out += u.lid_open * d.aperture_area_m2 * math.sqrt(R_VAPOUR * T / (2.0 * math.pi)) / volume
        sub_ice = sub_liq = released = latent = 0.0
        if self.bound_kg > 0.0 and T > 300.0:
            released = self.bound_kg * -math.expm1(-dehydration_rate_s(T) * h)
            self.bound_kg -= released
            latent += DEHYDRATION_ENTHALPY_J_KG * released
        if T > wr.DESORPTION_MIN_K and self.adsorbed_kg > 0.0:
            desorbed, energy = wr.desorb(self.adsorbed_bins, T, h)
            self.adsorbed_kg = sum(self.adsorbed_bins)
            released += desorbed
            latent += energy
        if self.ice_kg > 0.0 or self.liquid_kg > 0.0 or self.vapour_kg > 0.0 or self.trap_kg > 0.0 or released:
            sub_ice, sub_liq = self._vapour_substep(h, T, volume, k_out, u, released)
        # energy balance of regolith + structure, by enthalpy: the water that left took its sensible
        # enthalpy at T with it (the vapour step removed it from the reservoirs already)
        T4 = T * T * T * T
        Te4 = T_env * T_env * T_env * T_env
        loss = d.support_conductance_W_K * (T - T_mount) + d.mli_emissivity * d.outer_area_m2 * SIGMA_SB * (T4 - Te4)
        if u.lid_open > 0.0:
            loss += u.lid_open * d.aperture_emissivity * d.aperture_area_m2 * SIGMA_SB * (T4 - Te4)
        if sub_ice:
            latent += latent_sublimation(T) * sub_ice
        if sub_liq:
            latent += latent_vaporisation(T) * sub_liq
        audit = self.audit
        audit.departed_J += sub_ice * h_ice(T) + sub_liq * h_liquid(T) + released * h_regolith(T)
        audit.losses_J += loss * h
        audit.latent_J += latent
        energy = (u.heater_W - loss) * h - latent
        if energy:
            target = self.contents_enthalpy_J(T) + self.structure_enthalpy_J(T) + energy
            self._T = self._temperature_for(target, T + energy / self.heat_capacity_J_K(T))
        if self.ice_kg > 0.0 or self.liquid_kg > 0.0:
            self._phase_change()
        # non-condensable gas relaxes toward the outside pressure through the same paths
        if k_out > 0.0:
            eq = u.ambient_pressure_Pa * volume / (R_AIR * self.temp_K)
            self.gas_kg = eq + (self.gas_kg - eq) * math.exp(-k_out * h)

    def _vapour_substep(
        self, h: float, T: float, volume: float, k_out: float, u: StepInputs, released: float
    ) -> tuple[float, float]:
        """Exact solution of the linear vapour balance over ``h`` with the temperatures frozen:

        dm/dt = h_i (p_i - a m) + h_l (p_l - a m) + r - k_t (m - m_eq) - k_out m, a = R_v T / V,
        with r = ``released`` / h the bound water set free. Returns (kg sublimated from ice, kg evaporated
        from liquid); updates the reservoirs."""
        d = self.design
        a = R_VAPOUR * T / volume
        hk = hertz_knudsen_factor(T) * d.ice_area_m2_kg * d.release_coefficient
        # the pore ice's surface flux in series with the diffusion out through the dry layer above it
        surface = hk * (self.ice_kg + self.liquid_kg)
        bed = wr.bed_conductance_kg_s_pa(
            self.loaded_kg, d.bed_bulk_density_kg_m3, d.bed_path_m, self.released_pore_fraction(), T
        )
        through = wr.series(surface, bed) / surface if surface > 0.0 else 0.0
        h_i = hk * self.ice_kg * through
        h_l = hk * self.liquid_kg * through
        # the ice sublimates at its front, held colder than the bed by its own sublimation
        if h_i > 0.0:
            p_v = a * self.vapour_kg
            key = self._front_key
            if abs(T - key[0]) > 0.01 or abs(p_v - key[1]) > 1e-3 * key[1] + 1e-6:  # else unchanged
                self.front_K = wr.front_temperature_K(T, p_v, p_sat_ice, self.front_K, d.front_conduction_factor)
                self._front_key = (T, p_v, p_sat_ice(self.front_K))
            p_i = self._front_key[2]
        else:
            p_i = 0.0
        p_l = p_sat_liquid(T) if h_l > 0.0 else 0.0
        k_t = d.trap_conductance_m3_s / volume
        m_eq = p_sat_ice(self.trap_temp_K) / a
        source = h_i * p_i + h_l * p_l + k_t * m_eq + released / h
        lam = (h_i + h_l) * a + k_t + k_out
        m0 = self.vapour_kg
        m_inf = source / lam
        decay = math.exp(-lam * h)
        integral = m_inf * h + (m0 - m_inf) * (1.0 - decay) / lam  # integral of m dt over the step, kg s
        sub_ice = h_i * (p_i * h - a * integral)
        sub_liq = h_l * (p_l * h - a * integral)
        to_trap = k_t * (integral - m_eq * h)
        out = k_out * integral
        # physical limits: cannot release more than is there
        sub_ice = min(sub_ice, self.ice_kg)
        sub_liq = min(sub_liq, self.liquid_kg)
        to_trap = max(to_trap, -self.trap_kg)
        m1 = m0 + sub_ice + sub_liq + released - to_trap - out
        if m1 < 0.0:  # the limits above starved the sinks: scale every sink down to what came in
            sinks = max(-sub_ice, 0.0) + max(-sub_liq, 0.0) + max(to_trap, 0.0) + out
            scale = (sinks + m1) / sinks
            if sub_ice < 0.0:
                sub_ice *= scale
            if sub_liq < 0.0:
                sub_liq *= scale
            if to_trap > 0.0:
                to_trap *= scale
            out *= scale
            m1 = 0.0
        self.ice_kg -= sub_ice
        self.liquid_kg -= sub_liq
        self.vapour_kg = m1
        self.trap_kg += to_trap
        self.vented_kg += out
        # cold trap: deposition heats it, the cryocooler and the environment pull it back
        tt = self.trap_temp_K
        q = latent_sublimation(tt) * to_trap / h - d.trap_leak_conductance_W_K * (tt - u.mount_temp_K)
        if u.cooler_on:
            q -= d.cooler_conductance_W_K * (tt - d.cooler_sink_K)
        self.trap_temp_K = tt + q * h / d.trap_heat_capacity_J_K
        return sub_ice, sub_liq

    def _phase_change(self) -> None:
        """Melting above the triple point when the pressure allows a liquid, freezing below it (enthalpy
        method: the enthalpy held above 273.16 K is spent on the phase change first; ice and liquid have the
        same sensible enthalpy at the triple point, so moving mass there conserves energy exactly)."""
        T = self._T
        if T > T_TRIPLE_K and self.ice_kg > 0.0 and self.pressure_Pa() >= P_TRIPLE_PA:
            total = self.contents_enthalpy_J(T) + self.structure_enthalpy_J(T)
            excess = total - self.contents_enthalpy_J(T_TRIPLE_K) - self.structure_enthalpy_J(T_TRIPLE_K)
            melt = min(self.ice_kg, excess / L_FUSION_J_KG)
            self.ice_kg -= melt
            self.liquid_kg += melt
            self.melted_kg += melt
            self.audit.latent_J += melt * L_FUSION_J_KG
            self._T = self._temperature_for(total - melt * L_FUSION_J_KG, T_TRIPLE_K)
        elif T < T_TRIPLE_K and self.liquid_kg > 0.0:
            total = self.contents_enthalpy_J(T) + self.structure_enthalpy_J(T)
            deficit = self.contents_enthalpy_J(T_TRIPLE_K) + self.structure_enthalpy_J(T_TRIPLE_K) - total
            freeze = min(self.liquid_kg, deficit / L_FUSION_J_KG)
            self.liquid_kg -= freeze
            self.ice_kg += freeze
            self.audit.latent_J -= freeze * L_FUSION_J_KG
            self._T = self._temperature_for(total + freeze * L_FUSION_J_KG, T_TRIPLE_K)
