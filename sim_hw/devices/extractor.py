"""Thermal water extractor emulator: lid, heater (open loop or regulated), vent, tailings dump and water
transfer, around the chamber physics of :mod:`sim_hw.physics.thermal`.

The emulator does what the hardware physically does and no more: it enforces no flight interlock. Heating
with the lid open works and loses the vapour to space; the vent and a leaking seal let vapour out. The only
protections are the ones a real unit has in hardware or firmware: a thermal cut-out at
:data:`HARDWARE_LIMIT_K` (which a stuck heater switch defeats), a heater-current monitor, a seal-interspace
monitor and sensor plausibility checks. Behaviour, parameters and sources: ``docs/sim/extraction.md``.
"""

from __future__ import annotations

import logging
import math

from hal.icd import EXTRACTOR, Completion, EventId, Severity
from hal.protocol import AckResult, NackCode
from sim_hw.errors import ModelParameterError, Nack
from sim_hw.fault_params import declares, number
from sim_hw.firmware import Firmware
from sim_hw.physics.thermal import ExtractionChamber, StepInputs
from sim_hw.world_view import WorldView

_LOGGER = logging.getLogger(__name__)

#: Heater rating, W (the ICD's heater_power range).
HEATER_MAX_W = 800.0
#: Hardware thermal cut-out: above this chamber temperature the heater switch opens and ``overtemp`` latches.
HARDWARE_LIMIT_K = 950.0
#: Full lid travel (open <-> sealed), s.
LID_TRAVEL_S = 4.0
#: Tailings dump (tilt out, shake, tilt back), s.
DUMP_S = 8.0
#: Cold trap -> tank transfer rate (trap defrost + pump), kg/s, and tank capacity, kg.
TRANSFER_RATE_KG_S = 0.005
TANK_CAPACITY_KG = 20.0
#: Electrical loads besides the heater, W.
COOLER_W = 30.0
LID_MOTOR_W = 12.0
DUMP_MOTOR_W = 25.0
TRANSFER_W = 40.0
VALVE_W = 3.0
#: Heater regulator gains: proportional W/K and integral W/(K s).
KP_W_K = 25.0
KI_W_K_S = 0.05
#: Physics step while the heater works: its PI regulator runs at 4 Hz (KP 25 W/K against a chamber of
#: several kJ/K is stable far beyond this step); the chamber model sub-steps on its own.
HEATER_STEP_S = 0.25
#: Plausible sensor ranges (outside: the sensor fault bit latches).
TEMP_SENSOR_RANGE_K = (2.0, 2000.0)
PRESSURE_SENSOR_MAX_PA = 1.0e7

MODE_IDLE, MODE_SEALING, MODE_SEALED, MODE_HEATING, MODE_VENTING, MODE_DUMPING, MODE_TRANSFERRING = range(7)


class ExtractorFirmware(Firmware):
    """The extractor's firmware and hardware. Test hooks: :meth:`accept_regolith` (the hopper),
    :meth:`energy_per_kg_J`, :meth:`water_balance_error_kg`, ``inject_heater_runaway``,
    ``inject_heater_failure``, ``inject_seal_leak`` (plus the base class's sensor symptoms)."""

    spec = EXTRACTOR

    def __init__(self, world: WorldView, *, serial_number: int, seed: int = 0) -> None:
        body = world.body
        self.chamber = ExtractionChamber(temp_K=body.surface_temp_K, ambient_pressure_Pa=body.ambient_pressure_Pa)
        T = body.surface_temp_K
        self._inputs = StepInputs(env_temp_K=T, mount_temp_K=T, ambient_pressure_Pa=body.ambient_pressure_Pa)
        self._ambient_Pa = body.ambient_pressure_Pa
        self._vent_pump_Pa = body.vent_pump_Pa
        self.lid_position = 0.0  # 0 open .. 1 sealed; boots open, ready for a load
        self._lid_target = 0.0
        self.vent_open = False
        self.heater_W = 0.0  # electrical power the heater draws now
        self._heater_cmd_W = 0.0  # open-loop demand
        self._setpoint_K = 0.0  # regulated demand (0 = off)
        self._integral_W = 0.0
        self._dump_left_s = 0.0
        self._runaway = False
        self._heater_open_circuit = False
        self._leak_rate_s = 0.0
        self._was_powered = True
        self.refused_kg = 0.0  # regolith the hopper refused (lid not open), kg
        super().__init__(world, serial_number=serial_number, seed=seed)

    # ----------------------------------------------------------------------------------- commands
    def _require_actuation(self) -> None:
        """Latched faults are refused by the firmware's fault gate; here only the bus."""
        if not self.bus_powered:
            raise Nack(NackCode.BAD_STATE)

    def cmd_lid(self, sealed: int) -> AckResult:
        """Seal (1) or open (0) the lid; a motion of up to :data:`LID_TRAVEL_S`."""
        self._require_actuation()
        if self.motion == "dump":  # the lid hinge is part of the tilting hopper
            raise Nack(NackCode.BUSY)
        self._lid_target = float(sealed)
        return self.begin_motion("lid", MODE_SEALING)

    def cmd_heater_power(self, watts: float) -> None:
        """Drive the heater open loop (0 = off, accepted in any state)."""
        if watts > 0.0:
            self._require_actuation()
        self._setpoint_K = 0.0
        self._heater_cmd_W = float(watts)
        self._check_heater_circuit()

    def cmd_heater_setpoint(self, kelvin: float) -> None:
        """Regulate the chamber temperature (0 = off, accepted in any state)."""
        if kelvin > 0.0:
            self._require_actuation()
        self._heater_cmd_W = 0.0
        self._setpoint_K = float(kelvin)
        self._integral_W = 0.0
        self._check_heater_circuit()

    def cmd_vent(self, open: int) -> None:
        """Open (1) or close (0) the normally-closed vent valve."""
        self._require_actuation()
        self.vent_open = bool(open)

    def cmd_dump(self) -> AckResult:
        """Tip the tailings out; needs the lid fully open."""
        self._require_actuation()
        if self.lid_position > 0.0 or self.motion == "lid":
            raise Nack(NackCode.BAD_STATE)
        self._dump_left_s = DUMP_S
        return self.begin_motion("dump", MODE_DUMPING)

    def cmd_transfer_water(self) -> AckResult:
        """Defrost the cold trap and pump its water into the tank."""
        self._require_actuation()
        return self.begin_motion("transfer_water", MODE_TRANSFERRING)

    def cmd_clear_fault(self) -> None:
        """Clear latched faults whose cause is gone (ICD section 11); the rest stay set."""
        self.faults &= self._forced_faults | self._persisting_faults()
        if not self.all_faults:
            self.emit_event(EventId.FAULT_CLEARED, Severity.INFO, 0, 0.0)

    def _persisting_faults(self) -> int:
        bits = 0
        if self.chamber.temp_K > HARDWARE_LIMIT_K:
            bits |= self.spec.fault_bit("overtemp")
        if self._heater_open_circuit:  # the heater continuity check still fails
            bits |= self.spec.fault_bit("heater_failure")
        if self._leak_rate_s > 0.0 and self.lid_position >= 1.0:
            bits |= self.spec.fault_bit("seal_leak")
        if not self._plausible_temp(self.sensed("chamber_temp_K", self.chamber.temp_K)):
            bits |= self.spec.fault_bit("temp_sensor")
        if not self._plausible_pressure(self.sensed("pressure_Pa", self.chamber.pressure_Pa())):
            bits |= self.spec.fault_bit("pressure_sensor")
        return bits

    # -------------------------------------------------------------------------------------- hopper
    def accept_regolith(
        self, mass_kg: float, ice_fraction: float, temperature_K: float, hydrated_fraction: float = 0.0
    ) -> float:
        """Regolith poured into the hopper (by the scoop): ``mass_kg`` with ice mass fraction
        ``ice_fraction`` (and mineral-bound water mass fraction ``hydrated_fraction``) at ``temperature_K``.
        Returns the kg that went into the chamber: 0 unless the lid is fully open and the chamber is not
        tipping; never more than the free capacity. The rest spills. Raises ``ValueError`` for non-finite or
        out-of-range values."""
        if not (isinstance(mass_kg, int | float) and math.isfinite(mass_kg) and mass_kg >= 0.0):
            raise ModelParameterError(f"regolith mass must be a finite number >= 0 kg, got {mass_kg!r}")
        if self.lid_position > 0.0 or self.motion in ("lid", "dump"):
            self.refused_kg += max(mass_kg, 0.0)
            _LOGGER.warning("extractor: %.3f kg of regolith spilled on the closed lid", mass_kg)
            return 0.0
        taken = self.chamber.load(mass_kg, ice_fraction, temperature_K, hydrated_fraction)
        if taken < mass_kg:
            self.refused_kg += mass_kg - taken
            _LOGGER.warning("extractor: hopper full, %.3f kg spilled", mass_kg - taken)
        return taken

    def energy_per_kg_J(self) -> float:
        """Heater energy per kg of water collected from the current batch, J/kg (inf before any water)."""
        return self.chamber.energy_per_kg_J()

    def energy_audit(self) -> dict[str, float]:
        """Where the heater energy went since power-on, J: heater = sensible + latent + losses + stored
        + residual (:meth:`~sim_hw.physics.thermal.ExtractionChamber.energy_audit`)."""
        return self.chamber.energy_audit()

    def water_balance_error_kg(self) -> float:
        """Water accounted for minus water loaded, kg (rounding level)."""
        return self.chamber.water_balance_error_kg()

    # -------------------------------------------------------------------------------------- physics
    def step(self, dt: float) -> None:
        """Mechanisms, heater control, chamber physics and fault monitors over ``dt`` seconds."""
        powered = self.bus_powered
        if not powered and self._was_powered:
            self._lose_power()
        self._was_powered = powered
        motion = self._motion
        if motion is not None:
            self._step_motion(motion.name, dt)
        self.heater_W = self._heater_output(dt, powered)
        u = self._inputs
        u.heater_W = self.heater_W
        u.lid_open = 1.0 - self.lid_position
        u.vent_open = self.vent_open
        # a sealed chamber's open vent leads to the rig's vacuum pump, where there is one
        pumped = self.vent_open and self._vent_pump_Pa is not None and self.lid_position >= 1.0
        u.ambient_pressure_Pa = self._vent_pump_Pa if pumped and self._vent_pump_Pa is not None else self._ambient_Pa
        u.leak_rate_s = self._leak_rate_s if self.lid_position >= 1.0 else 0.0
        u.cooler_on = powered
        # the insulation and the open lid radiate to the ground the rover stands on; the mounts and harness
        # conduct into the rover's structure, which its thermal control holds at the body's working temperature
        site = self.world.site
        u.env_temp_K = site.layers[0].temperature_K if site is not None else self.world.body.surface_temp_K
        u.mount_temp_K = self.world.body.surface_temp_K
        self.chamber.step(dt, u)
        self._monitor()
        self.set_mode(self._derived_mode())

    def _lose_power(self) -> None:
        self._heater_cmd_W = self._setpoint_K = 0.0
        self.vent_open = False  # normally-closed valve
        if self._motion is not None:
            self.end_motion(Completion.BLOCKED)

    def _step_motion(self, name: str, dt: float) -> None:
        if name == "lid":
            step = dt / LID_TRAVEL_S
            pos, target = self.lid_position, self._lid_target
            self.lid_position = min(pos + step, target) if target > pos else max(pos - step, target)
            if self.lid_position == target:
                self.end_motion(Completion.OK)
        elif name == "dump":
            self._dump_left_s -= dt
            if self._dump_left_s <= 0.0:
                self.chamber.dump()
                self.end_motion(Completion.OK)
        elif name == "transfer_water":
            room = TANK_CAPACITY_KG - self.chamber.tank_kg
            self.chamber.transfer_to_tank(min(TRANSFER_RATE_KG_S * dt, room))
            if self.chamber.trap_kg <= 0.0:
                self.end_motion(Completion.OK)
            elif self.chamber.tank_kg >= TANK_CAPACITY_KG:
                self.end_motion(Completion.BLOCKED)

    def _heater_output(self, dt: float, powered: bool) -> float:
        if not powered:
            return 0.0
        if self._runaway:  # switch failed closed: full power whatever is commanded, cut-out defeated
            return HEATER_MAX_W
        if self._heater_open_circuit:
            return 0.0
        if self.chamber.temp_K > HARDWARE_LIMIT_K or self.faults & self.spec.fault_bit("overtemp"):
            return 0.0
        if self._setpoint_K > 0.0:
            if self.faults & self.spec.fault_bit("temp_sensor"):
                return 0.0  # no valid feedback: fail safe
            error = self._setpoint_K - self.sensed("chamber_temp_K", self.chamber.temp_K)
            if not math.isfinite(error):
                return 0.0
            candidate = self._integral_W + KI_W_K_S * error * dt
            out = KP_W_K * error + candidate
            if (out > HEATER_MAX_W and error > 0.0) or (out < 0.0 and error < 0.0):
                out = KP_W_K * error + self._integral_W  # saturated: hold the integrator (no wind-up)
            else:
                self._integral_W = min(max(candidate, 0.0), HEATER_MAX_W)
            return min(max(out, 0.0), HEATER_MAX_W)
        return self._heater_cmd_W

    def _check_heater_circuit(self) -> None:
        if self._heater_open_circuit and (self._heater_cmd_W > 0.0 or self._setpoint_K > 0.0):
            self.raise_fault("heater_failure", 0.0)

    def _monitor(self) -> None:
        temp = self.chamber.temp_K
        if temp > HARDWARE_LIMIT_K:
            self.raise_fault("overtemp", temp, Severity.CRITICAL)
        if self._leak_rate_s > 0.0 and self.lid_position >= 1.0:
            self.raise_fault("seal_leak", self._leak_rate_s)
        if self._sensor_faults:
            sensed_t = self.sensed("chamber_temp_K", temp)
            if not self._plausible_temp(sensed_t):
                self.raise_fault("temp_sensor", sensed_t)
            sensed_p = self.sensed("pressure_Pa", self.chamber.pressure_Pa())
            if not self._plausible_pressure(sensed_p):
                self.raise_fault("pressure_sensor", sensed_p)

    @staticmethod
    def _plausible_temp(value: float) -> bool:
        return math.isfinite(value) and TEMP_SENSOR_RANGE_K[0] <= value <= TEMP_SENSOR_RANGE_K[1]

    @staticmethod
    def _plausible_pressure(value: float) -> bool:
        return math.isfinite(value) and 0.0 <= value <= PRESSURE_SENSOR_MAX_PA

    def _derived_mode(self) -> int:
        motion = self._motion
        if motion is not None:
            return {"lid": MODE_SEALING, "dump": MODE_DUMPING}.get(motion.name, MODE_TRANSFERRING)
        if self.heater_W > 0.0 or self._heater_cmd_W > 0.0 or self._setpoint_K > 0.0:
            return MODE_HEATING
        if self.vent_open:
            return MODE_VENTING
        return MODE_SEALED if self.lid_position >= 1.0 else MODE_IDLE

    # ------------------------------------------------------------------------------------ interface
    def telemetry_values(self) -> dict[str, float]:
        """Every telemetry field of the extractor (SI units)."""
        c = self.chamber
        moving = self.motion == "lid"
        return {
            "chamber_temp_K": c.temp_K,
            "pressure_Pa": c.pressure_Pa(),
            "heater_power_W": self.heater_W,
            "loaded_mass_kg": c.loaded_kg,
            "cold_trap_temp_K": c.trap_temp_K,
            "water_kg": c.trap_kg,
            "tank_kg": c.tank_kg,
            "heater_energy_J": c.heater_energy_J,
            "lid": 2 if moving else (1 if self.lid_position >= 1.0 else 0),
            "vent": 1 if self.vent_open else 0,
        }

    def stop_actuators(self) -> None:
        """Heater off, vent valve de-energised (closed), lid/tipper/pump stop where they are."""
        self._heater_cmd_W = self._setpoint_K = 0.0
        self._integral_W = 0.0
        self.heater_W = HEATER_MAX_W if self._runaway and self.bus_powered else 0.0
        self.vent_open = False

    def max_step_s(self, fine_s: float) -> float:
        """The world's ``fine_s`` while a lid or transfer motion runs; :data:`HEATER_STEP_S` while the heater's
        PI loop or the vent works (the chamber itself is sub-stepped); the quiet step at rest."""
        if self._motion is not None:
            return fine_s
        return HEATER_STEP_S if self.is_actuating() else super().max_step_s(fine_s)

    def is_actuating(self) -> bool:
        """True while the heater is demanded, the vent is held open or a motion runs."""
        return self._motion is not None or self._heater_cmd_W > 0.0 or self._setpoint_K > 0.0 or self.vent_open

    def power_W(self) -> float:
        """Electrical power on the extractor bus, W."""
        if not self.bus_powered:
            return 0.0
        power = self.heater_W + COOLER_W + (VALVE_W if self.vent_open else 0.0)
        motion = self.motion
        if motion == "lid":
            power += LID_MOTOR_W
        elif motion == "dump":
            power += DUMP_MOTOR_W
        elif motion == "transfer_water":
            power += TRANSFER_W
        return power

    # ------------------------------------------------------------------------------------ faults
    @declares()
    def inject_heater_runaway(self) -> None:
        """The heater switch fails closed: full power whatever is commanded (only bus power stops it)."""
        self._runaway = True

    @declares()
    def inject_heater_failure(self) -> None:
        """The heater goes open circuit: no heat, no current; the current monitor flags it when driven."""
        self._heater_open_circuit = True
        self._check_heater_circuit()

    @declares(rate=number(0.0, unit="1/s"))
    def inject_seal_leak(self, rate: float = 0.02) -> None:
        """The lid seal leaks: while sealed, ``rate`` (1/s) of the chamber gas escapes per second."""
        self._leak_rate_s = float(rate)

    def repair(self) -> None:
        """Remove every injected hardware fault (runaway, open circuit, leak)."""
        self._runaway = self._heater_open_circuit = False
        self._leak_rate_s = 0.0


FIRMWARE = ExtractorFirmware
