"""Regolith scoop emulator: a one-joint arm with a load-cell bucket that digs a trench at the rover's site
and tips its load into the extractor hopper.

Kinematics: the arm pivots :data:`PIVOT_HEIGHT_M` above the ground; the bucket lip is :data:`ARM_LENGTH_M`
from the pivot, so its height is ``H + L sin(angle)``. A dig lowers the bucket to the trench floor, pushes
the lip ``depth_m`` into the soil and drags it through a stroke, filling the bucket with in-situ soil
(density x swept volume, capped by the bucket volume). Every dig deepens the trench at that site, so
repeated digs reach the deeper, icier layers. Cutting resistance comes from
:mod:`sim_hw.physics.excavation`. The emulator enforces no flight interlock (e.g. drill deployed): the
motion shows in telemetry (mode, arm angle) for the layer above to police. Parameters and sources:
``docs/sim/extraction.md``.
"""

from __future__ import annotations

import logging
import math

from hal.icd import SCOOP, Completion, EventId, Severity
from hal.protocol import AckResult, NackCode
from sim_hw.errors import Nack
from sim_hw.fault_params import declares, number
from sim_hw.firmware import Firmware
from sim_hw.physics.excavation import NOMINAL_DENSITY_KG_M3, Blade, CutResistance, CutSoil, nominal_soil, soil_between
from sim_hw.world_view import WorldView

_LOGGER = logging.getLogger(__name__)

PIVOT_HEIGHT_M = 0.30
ARM_LENGTH_M = 1.20
_ANGLE_ARG = SCOOP.command("move").args[0]
assert _ANGLE_ARG.lo is not None and _ANGLE_ARG.hi is not None, "the ICD bounds the arm angle of scoop.move"
#: Arm angle range, rad: the ICD's bounds on ``move``'s angle argument.
ANGLE_MIN_RAD: float = _ANGLE_ARG.lo
ANGLE_MAX_RAD: float = _ANGLE_ARG.hi
ARM_MASS_KG = 6.0
ARM_CG_M = 0.60
BLADE = Blade()
BUCKET_VOLUME_M3 = 0.004
STROKE_M = 0.40
CUT_SPEED_M_S = 0.05
PENETRATION_SPEED_M_S = 0.01
APPROACH_SPEED_RAD_S = 0.3
LIFT_SPEED_RAD_S = 0.3
CARRY_ANGLE_RAD = 1.0
DUMP_ANGLE_RAD = 2.0
TIP_S = 3.0
#: Largest soil reaction the drag drive can push against, N (above it: stall, ``overload``).
CUT_FORCE_LIMIT_N = 600.0
#: Obstruction (buried rock) force when an overload is injected, as a multiple of the limit.
OBSTRUCTION_FACTOR = 1.5
BUS_V = 28.0
ACTIVE_CURRENT_A = 0.3
TORQUE_PER_AMP_NM_A = 40.0
FORCE_PER_AMP_N_A = 100.0
CURRENT_LIMIT_A = 8.0
#: Below this local gravity the load cell cannot weigh (the force is under its resolution); the firmware
#: reports the mass estimated from the dug volume and its configured fill density instead.
WEIGHING_MIN_GRAVITY_M_S2 = 0.05
#: Fill density the firmware assumes for that estimate, by body, kg/m^3 (the Lunar Sourcebook's typical
#: surface value; Bennu's near-surface 500-700 kg/m^3, Lauretta et al. 2022).
FILL_DENSITY_KG_M3 = {"asteroid": 600.0}
LOAD_CELL_RESOLUTION_KG = 0.001
LOAD_CELL_RANGE_KG = (-0.5, 30.0)

MODE_IDLE, MODE_MOVING, MODE_DIGGING, MODE_LIFTING, MODE_DUMPING = range(5)


def lip_angle_for_depth(depth_m: float) -> float | None:
    """Arm angle (rad) that puts the bucket lip ``depth_m`` below the ground, or None if out of reach."""
    s = (-depth_m - PIVOT_HEIGHT_M) / ARM_LENGTH_M
    if s < -1.0:
        return None
    angle = math.asin(min(s, 1.0))
    return angle if angle >= ANGLE_MIN_RAD else None


#: Deepest point the lip reaches, m below the ground.
MAX_REACH_DEPTH_M = -(PIVOT_HEIGHT_M + ARM_LENGTH_M * math.sin(ANGLE_MIN_RAD))


class ScoopFirmware(Firmware):
    """The scoop's firmware and hardware. Test hooks: :attr:`trench_m` (trench floor depth per site),
    :attr:`spilled_kg`, :attr:`peak_force_N`, ``inject_overload``, ``inject_overcurrent``, and the base
    class's sensor symptoms on ``bucket_load_kg``."""

    spec = SCOOP

    def __init__(self, world: WorldView, *, serial_number: int, seed: int = 0) -> None:
        self.angle_rad = CARRY_ANGLE_RAD  # boots stowed at the carry angle
        self._target_rad = self.angle_rad
        self._speed_rad_s = 0.0
        self._phase: str | None = None
        self.bucket_kg = 0.0
        self.bucket_ice_kg = 0.0
        self.bucket_bound_kg = 0.0  # water bound in hydrated minerals
        self._bucket_heat = 0.0  # sum of mass x temperature, kg K
        self.fill_volume_m3 = 0.0  # in-situ volume dug into the bucket
        self.dig_force_N = 0.0
        self.peak_force_N = 0.0  # largest cutting force of the last dig
        self.current_A = 0.0
        self.dumped_kg = 0.0
        self.spilled_kg = 0.0  # dumped but not taken by the hopper
        self.trench_m: dict[int, float] = {}
        self.g_calibration_m_s2 = world.body.gravity_m_s2  # load-cell scale set for the mission body
        self.fill_density_kg_m3 = FILL_DENSITY_KG_M3.get(world.body.name, NOMINAL_DENSITY_KG_M3)
        self._depth_m = 0.0
        self._floor_m = 0.0
        self._cut_m = 0.0
        self._cut_target_m = 0.0
        self._drag_m = 0.0
        self._dug_m3 = 0.0
        self._soil: CutSoil | None = None
        self._resistance: CutResistance | None = None
        self._tip_left_s = 0.0
        self._obstruction = False
        self._binding_until = -math.inf
        super().__init__(world, serial_number=serial_number, seed=seed)

    # ----------------------------------------------------------------------------------- commands
    def _require_actuation(self) -> None:
        """Latched faults are refused by the firmware's fault gate; here only the bus."""
        if not self.bus_powered:
            raise Nack(NackCode.BAD_STATE)

    def cmd_move(self, angle_rad: float, speed_rad_s: float) -> AckResult:
        """Slew the arm to ``angle_rad`` at ``speed_rad_s``; stops BLOCKED on ground contact."""
        self._require_actuation()
        self._target_rad, self._speed_rad_s = float(angle_rad), float(speed_rad_s)
        return self._start("move", MODE_MOVING)

    def cmd_dig(self, depth_m: float) -> AckResult:
        """Lower to the trench floor, cut ``depth_m`` deep and drag one stroke (or until the bucket is full)."""
        self._require_actuation()
        self._depth_m = float(depth_m)
        self._floor_m = self._site_floor_m()
        contact = lip_angle_for_depth(self._floor_m)
        self._target_rad = contact if contact is not None else ANGLE_MIN_RAD
        self._speed_rad_s = APPROACH_SPEED_RAD_S
        self.peak_force_N = 0.0
        return self._start("approach", MODE_DIGGING, "dig")

    def cmd_lift(self) -> AckResult:
        """Raise the bucket to the carry angle."""
        self._require_actuation()
        self._target_rad, self._speed_rad_s = CARRY_ANGLE_RAD, LIFT_SPEED_RAD_S
        return self._start("lift", MODE_LIFTING)

    def cmd_dump(self) -> AckResult:
        """Swing over the hopper and tip the bucket."""
        self._require_actuation()
        self._target_rad, self._speed_rad_s = DUMP_ANGLE_RAD, LIFT_SPEED_RAD_S
        return self._start("dump_swing", MODE_DUMPING, "dump")

    def _start(self, phase: str, mode: int, command: str | None = None) -> AckResult:
        result = self.begin_motion(command or phase, mode)
        self._phase = phase
        self.dig_force_N = 0.0
        return result

    def cmd_clear_fault(self) -> None:
        """Clear latched faults whose cause is gone (ICD section 11)."""
        keep = self._forced_faults
        if not self._plausible_load(self._sensed_load()):
            keep |= self.spec.fault_bit("load_cell")
        self.faults &= keep
        if not self.all_faults:
            self.emit_event(EventId.FAULT_CLEARED, Severity.INFO, 0, 0.0)

    # ------------------------------------------------------------------------------------- physics
    def step(self, dt: float) -> None:
        """Arm motion, digging and the motor's electrical state over ``dt`` seconds."""
        phase = self._phase
        if phase is not None:
            if not self.bus_powered:
                self._halt(Completion.BLOCKED)
            else:
                self._step_phase(phase, dt)
                if self._phase is not None:
                    self._update_current()
        if self._sensor_faults and not self._plausible_load(self._sensed_load()):
            self.raise_fault("load_cell", self._sensed_load())

    def _step_phase(self, phase: str, dt: float) -> None:
        if phase in ("move", "lift", "dump_swing", "approach"):
            blocked = self._slew(dt, ground_stops=phase == "move")
            if blocked:
                self._halt(Completion.BLOCKED)
            elif self.angle_rad == self._target_rad:
                if phase == "approach":
                    self._begin_cut()
                elif phase == "dump_swing":
                    self._phase, self._tip_left_s = "tip", TIP_S
                else:
                    self._halt(Completion.OK)
        elif phase == "penetrate":
            self._step_penetrate(dt)
        elif phase == "drag":
            self._step_drag(dt)
        elif phase == "tip":
            self._tip_left_s -= dt
            if self._tip_left_s <= 0.0:
                self._pour()
                self._halt(Completion.OK)

    def _slew(self, dt: float, *, ground_stops: bool) -> bool:
        """Move toward the target; True if the bucket met the ground on the way down (move only)."""
        angle, target = self.angle_rad, self._target_rad
        step = self._speed_rad_s * dt
        new = min(angle + step, target) if target > angle else max(angle - step, target)
        if ground_stops and new < angle:
            contact = lip_angle_for_depth(self._site_floor_m())
            if contact is not None and new < contact:
                self.angle_rad = max(min(angle, contact), new)
                return True
        self.angle_rad = new
        return False

    def _begin_cut(self) -> None:
        contact = lip_angle_for_depth(self._floor_m)
        if contact is None:  # the trench floor is beyond the arm's reach
            self._halt(Completion.BLOCKED)
            return
        reachable = MAX_REACH_DEPTH_M - self._floor_m
        self._cut_target_m = min(self._depth_m, reachable)
        site = self.world.site
        top, bottom = self._floor_m, self._floor_m + self._cut_target_m
        if self._cut_target_m <= 0.0:
            self._halt(Completion.BLOCKED)
            return
        body = self.world.body
        soil = soil_between(site, top, bottom, body.name) if site is not None else nominal_soil(body.surface_temp_K)
        self._soil = soil
        self._resistance = CutResistance(soil, BLADE, self.world.body.gravity_m_s2, self._cut_target_m)
        self._cut_m = self._drag_m = self._dug_m3 = 0.0
        self._phase = "penetrate"

    def _cut_force(self, depth_m: float) -> float:
        resistance = self._resistance
        force = resistance.force_N(depth_m) if resistance is not None else 0.0
        if self._obstruction:
            self._obstruction = False
            force = max(force, OBSTRUCTION_FACTOR * CUT_FORCE_LIMIT_N)
        self.dig_force_N = force
        self.peak_force_N = max(self.peak_force_N, force)
        return force

    def _overloaded(self, force: float) -> bool:
        if force > CUT_FORCE_LIMIT_N:
            self.raise_fault("overload", force)
            self._halt(Completion.BLOCKED)
            return True
        return False

    def _step_penetrate(self, dt: float) -> None:
        self._cut_m = min(self._cut_m + PENETRATION_SPEED_M_S * dt, self._cut_target_m)
        angle = lip_angle_for_depth(self._floor_m + self._cut_m)
        self.angle_rad = ANGLE_MIN_RAD if angle is None else angle
        if self._overloaded(self._cut_force(self._cut_m)):
            return
        if self._cut_m >= self._cut_target_m:
            self._phase = "drag"

    def _step_drag(self, dt: float) -> None:
        if self._overloaded(self._cut_force(self._cut_target_m)):
            return
        soil = self._soil
        room = max(BUCKET_VOLUME_M3 - self.fill_volume_m3, 0.0)
        travel = min(CUT_SPEED_M_S * dt, STROKE_M - self._drag_m)
        swept = BLADE.width_m * self._cut_target_m * travel
        self._drag_m += travel
        done = self._drag_m >= STROKE_M - 1e-12
        if swept >= room:
            swept, done = room, True
        if soil is not None and swept > 0.0:
            mass = soil.density_kg_m3 * swept
            self.bucket_kg += mass
            self.bucket_ice_kg += mass * soil.ice_fraction
            self.bucket_bound_kg += mass * soil.hydrated_fraction
            self._bucket_heat += mass * soil.temperature_K
            self.fill_volume_m3 += swept
            self._dug_m3 += swept
        if done:
            self._deepen_trench()
            reached = self._cut_target_m >= self._depth_m - 1e-9
            self._halt(Completion.OK if reached else Completion.BLOCKED)

    def _deepen_trench(self) -> None:
        site = self.world.site
        if site is not None and self._dug_m3 > 0.0:
            self.trench_m[site.index] = self._floor_m + self._dug_m3 / (BLADE.width_m * STROKE_M)

    def _site_floor_m(self) -> float:
        site = self.world.site
        return self.trench_m.get(site.index, 0.0) if site is not None else 0.0

    def _pour(self) -> None:
        """Tip the bucket: the load goes to the extractor hopper, which may refuse it (lid closed: spilled)."""
        mass = self.bucket_kg
        if mass <= 0.0:
            return
        ice_fraction = min(max(self.bucket_ice_kg / mass, 0.0), 1.0)
        bound_fraction = min(max(self.bucket_bound_kg / mass, 0.0), 1.0 - ice_fraction)
        temperature = self._bucket_heat / mass
        extractor = self.world.devices.get("extractor")
        accept = getattr(extractor, "accept_regolith", None)
        taken = accept(mass, ice_fraction, temperature, bound_fraction) if accept is not None else 0.0
        self.spilled_kg += mass - taken
        if taken < mass:
            _LOGGER.warning("scoop: %.3f of %.3f kg missed the extractor hopper", mass - taken, mass)
        self.dumped_kg += mass
        self.bucket_kg = self.bucket_ice_kg = self.bucket_bound_kg = self._bucket_heat = self.fill_volume_m3 = 0.0

    def _update_current(self) -> None:
        g = self.world.body.gravity_m_s2
        torque = g * (ARM_MASS_KG * ARM_CG_M + self.bucket_kg * ARM_LENGTH_M) * math.cos(self.angle_rad)
        current = ACTIVE_CURRENT_A + abs(torque) / TORQUE_PER_AMP_NM_A + self.dig_force_N / FORCE_PER_AMP_N_A
        if self.world.t < self._binding_until:
            current = 2.0 * CURRENT_LIMIT_A  # seized gearbox / shorted winding
        self.current_A = current
        if current > CURRENT_LIMIT_A:
            self.raise_fault("overcurrent", current)
            self._halt(Completion.FAULT)

    def _halt(self, completion: Completion) -> None:
        self._phase = None
        self.dig_force_N = 0.0
        self.current_A = 0.0
        self.end_motion(completion)
        self.set_mode(MODE_IDLE)

    # ---------------------------------------------------------------------------------- load cell
    def load_reading_kg(self) -> float:
        """What the load cell channel reports, kg: force / calibration gravity, quantised to the cell's
        resolution; in microgravity the dug volume x the configured fill density (the cell cannot weigh)."""
        g = self.world.body.gravity_m_s2
        if g < WEIGHING_MIN_GRAVITY_M_S2:
            return self.fill_density_kg_m3 * self.fill_volume_m3
        kg = self.bucket_kg * g / self.g_calibration_m_s2
        return round(kg / LOAD_CELL_RESOLUTION_KG) * LOAD_CELL_RESOLUTION_KG

    def _sensed_load(self) -> float:
        return self.sensed("bucket_load_kg", self.load_reading_kg())

    @staticmethod
    def _plausible_load(value: float) -> bool:
        return math.isfinite(value) and LOAD_CELL_RANGE_KG[0] <= value <= LOAD_CELL_RANGE_KG[1]

    # ---------------------------------------------------------------------------------- interface
    def telemetry_values(self) -> dict[str, float]:
        """Every telemetry field of the scoop (SI units)."""
        return {
            "arm_angle_rad": self.angle_rad,
            "bucket_load_kg": self.load_reading_kg(),
            "current_A": self.current_A,
            "dig_force_N": self.dig_force_N,
            "power_W": self.power_W(),
            "dumped_kg": self.dumped_kg,
        }

    def stop_actuators(self) -> None:
        """Motor off, brake on: the arm stays where it is."""
        self._phase = None
        self.dig_force_N = 0.0
        self.current_A = 0.0

    def is_actuating(self) -> bool:
        """True while the arm motor runs."""
        return self._phase is not None

    def power_W(self) -> float:
        """Electrical power on the scoop bus, W."""
        return BUS_V * self.current_A if self.bus_powered else 0.0

    # ------------------------------------------------------------------------------------- faults
    @declares()
    def inject_overload(self) -> None:
        """A buried rock: the cut in progress (or the next one) meets a resistance beyond the drive's limit."""
        self._obstruction = True
        if self._phase in ("penetrate", "drag"):
            self._overloaded(self._cut_force(self._cut_m))

    @declares(duration_s=number(0.0, unit="s", above=True, forever=True))
    def inject_overcurrent(self, duration_s: float = math.inf) -> None:
        """The motor binds for ``duration_s`` seconds: any motion draws twice the current limit."""
        self._binding_until = self.world.t + float(duration_s)


FIRMWARE = ScoopFirmware
