"""Skid-steer wheel drive emulator: wheel speeds, twist, move and turn motions, odometry, wheel slip.

Two poses are kept. The **odometry** pose (telemetry ``x_m``, ``y_m``, ``heading_rad``) integrates what
the wheel encoders report, as the drive controller's firmware would; it starts at the rover's true pose
at boot. The **true** pose (``world.rover``) integrates the ground speeds after wheel slip, which the
terramechanics model of :mod:`sim_hw.physics.mobility` derives from the soil at the site under the rover,
the grade along the heading, and the skid-steer turning resistance. Slip grows with slope and soft soil;
a rover pinned by its anchors or its drill cannot move at all (the wheels spin at 100 % slip, and the
controller declares ``wheel_stall``). ``docs/sim/mobility-power.md`` gives the equations and sources.

Odometry uses an effective track ``chi * B`` calibrated once on the body's reference soil on flat
ground (the experimental-kinematics approach of Mandow et al. 2007): turns on that ground match, turns on
slopes or softer soil do not. Straight-line slip is never calibrated out.
"""

from __future__ import annotations

import logging
import math

from hal.icd import DRIVE, Completion, EventId, Severity
from hal.protocol import AckResult, NackCode
from sim_hw.errors import Nack
from sim_hw.fault_params import choice, declares, number
from sim_hw.firmware import Firmware
from sim_hw.physics.mobility import (
    Contact,
    DriveMotor,
    RoverGeometry,
    Soil,
    grade_sine,
    soil_for,
    turning_moment_Nm,
    wheel_contact,
)
from sim_hw.terrain import Site
from sim_hw.world_view import WorldView

_LOGGER = logging.getLogger(__name__)

MODE_IDLE, MODE_DRIVING, MODE_MOVING, MODE_TURNING = range(4)

#: Fastest rim speed the motors reach, m/s (the ICD's wheel-speed range).
MAX_RIM_SPEED_M_S = 0.3
#: Rim acceleration limit of the speed loop, m/s^2 (assumption).
WHEEL_ACCEL_M_S2 = 0.5
#: Deceleration profile of a move, m/s^2, and of a turn, rad/s^2 (assumptions).
MOVE_DECEL_M_S2 = 0.25
TURN_DECEL_RAD_S2 = 0.5
#: A motion is complete within these tolerances, m and rad.
MOVE_TOLERANCE_M = 1e-4
TURN_TOLERANCE_RAD = 1e-4
#: Yaw rate (rad/s) over which the skid-steer turning resistance builds up (smooths Coulomb friction).
TURN_FRICTION_RATE_RAD_S = 0.05
#: Encoder stall: a side turning slower than this fraction of its command for this long (s).
STALL_SPEED_FRACTION = 0.2
STALL_TIME_S = 0.5
#: No progress: slip estimate at or above this for this long (s) while driving.
NO_PROGRESS_SLIP = 0.9
NO_PROGRESS_TIME_S = 3.0
#: Overcurrent trip: a motor current above this for this long (s).
OVERCURRENT_A = 15.0
OVERCURRENT_TIME_S = 0.2
#: The drill string pins the rover once the bit is this deep, m.
PINNING_DRILL_DEPTH_M = 0.05
#: The site under the rover is looked up again after it moved this far, m.
SITE_RECHECK_M = 0.05
#: Commands below this rim speed count as "stopped", m/s.
_SPEED_EPS = 1e-6
SIDES = ("left", "right", "both")


def _wrap(angle: float) -> float:
    """Angle wrapped to [-pi, pi]."""
    return math.remainder(angle, 2.0 * math.pi)


def _sign(x: float) -> float:
    return 1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0


def side_motion(contact: Contact, rim: float, force: float, pinned: bool) -> tuple[float, float]:
    """Ground speed of one side (m/s) and the force its wheels actually push with (N), for a rim speed ``rim``
    (m/s) and the thrust ``force`` (N) its two wheels ask of the ground through ``contact``."""
    if rim == 0.0:
        return 0.0, 0.0  # brakes hold
    direction = 1.0 if rim > 0 else -1.0
    per_wheel = force * direction / 2.0
    saturation = contact.saturation_thrust_N
    if pinned or per_wheel >= saturation:
        return 0.0, direction * 2.0 * saturation  # 100 % slip: the wheels dig in
    if per_wheel >= 0.0:
        return rim * (1.0 - contact.slip(per_wheel)), force
    if -per_wheel >= saturation:
        return 2.0 * rim, -direction * 2.0 * saturation  # skidding: braking force exhausted
    return rim * (1.0 + contact.slip(-per_wheel)), force


class DriveFirmware(Firmware):
    """The drive controller: two motors (left, right), each driving a side's two wheels, with encoders."""

    spec = DRIVE

    def __init__(self, world: WorldView, *, serial_number: int, seed: int = 0) -> None:
        super().__init__(world, serial_number=serial_number, seed=seed)
        self.geometry = RoverGeometry()
        self.motor = DriveMotor()
        self.reference_soil: Soil = soil_for(world.body.name)
        rover = world.rover
        self.odo_x_m, self.odo_y_m, self.odo_heading_rad = rover.x_m, rover.y_m, rover.heading_rad
        self.odometer_m = 0.0
        self.v_odo_m_s = 0.0
        self.omega_odo_rad_s = 0.0
        self.current_left_A = 0.0
        self.current_right_A = 0.0
        self.slip = 0.0
        self._target_l = self._target_r = 0.0  # commanded rim speeds, m/s
        self._rim_l = self._rim_r = 0.0  # actual rim speeds, m/s
        self._v = self._omega = 0.0  # true body speed (m/s) and yaw rate (rad/s)
        self._goal = 0.0  # signed distance (move) or angle (turn) of the running motion
        self._progress = 0.0  # signed odometry progress of the running motion
        self._limit = 0.0  # speed (m/s) or rate (rad/s) of the running motion
        self._jam = [False, False]  # left, right wheel jammed
        self._jam_until = math.inf
        self._short_A = 0.0
        self._short_until = 0.0
        self._stall_s = self._no_progress_s = self._overcurrent_s = 0.0
        self._lookup_xy = (math.inf, math.inf)
        self._site: Site | None = None
        self._sites_ref: object = None
        self._terrain_key: tuple[object, ...] = ()
        self._contact: Contact = wheel_contact(self.reference_soil, self.geometry, 0.0)
        self._turn_moment_Nm = 0.0
        self._weight_N = 0.0
        self._slope = (0.0, 0.0)
        self._a_max = self._alpha_max = 0.0
        self.chi = self._calibrate_track()
        self._update_terrain()

    # --------------------------------------------------------------------------------- set-up
    def _calibrate_track(self) -> float:
        """Effective-track factor chi = 1 / (1 - turning slip) on flat reference soil (>= 1)."""
        weight = self.world.rover.mass_kg * self.world.body.gravity_m_s2
        contact = wheel_contact(self.reference_soil, self.geometry, weight / self.geometry.wheels)
        moment = turning_moment_Nm(self.reference_soil, weight, self.geometry)
        per_wheel = contact.rolling_resistance_N + moment / self.geometry.track_m / 2.0
        slip = contact.slip(per_wheel)
        return 1.0 / (1.0 - slip) if slip < 0.95 else 1.0

    def _update_terrain(self) -> None:
        """Look up the site under the rover (after it moved) and refresh the soil terms if anything changed."""
        rover = self.world.rover
        lx, ly = self._lookup_xy
        if abs(rover.x_m - lx) + abs(rover.y_m - ly) > SITE_RECHECK_M or self._sites_ref is not self.world.sites:
            self._lookup_xy = (rover.x_m, rover.y_m)
            self._sites_ref = self.world.sites
            self._site = self.world.site
        site = self._site
        key = (id(site), rover.mass_kg, self.world.body.gravity_m_s2)
        if key == self._terrain_key:
            return
        self._terrain_key = key
        soil = self.reference_soil if site is None else self.reference_soil.scaled(site.soil_factor)
        slope, azimuth = (0.0, 0.0) if site is None else (site.slope_rad, site.slope_azimuth_rad)
        mass = rover.mass_kg
        weight = mass * self.world.body.gravity_m_s2
        self._weight_N = weight
        self._slope = (slope, azimuth)
        self._contact = wheel_contact(soil, self.geometry, weight * math.cos(slope) / self.geometry.wheels)
        self._turn_moment_Nm = turning_moment_Nm(soil, weight * math.cos(slope), self.geometry)
        thrust = self.geometry.wheels * self._contact.saturation_thrust_N
        self._a_max = thrust / mass
        self._alpha_max = thrust * self.geometry.track_m / 2.0 / self.geometry.yaw_inertia_kg_m2(mass)
        _LOGGER.debug(
            "drive terrain: site %s, soil x%.2f, slope %.1f deg, sinkage %.1f mm",
            None if site is None else site.index,
            1.0 if site is None else site.soil_factor,
            math.degrees(slope),
            1000.0 * self._contact.sinkage_m,
        )

    # -------------------------------------------------------------------------------- commands
    def _check_can_drive(self) -> None:
        """Latched faults are refused by the firmware's fault gate; here only the bus."""
        if not self.bus_powered:
            raise Nack(NackCode.BAD_STATE)

    def _set_targets(self, left: float, right: float) -> None:
        """Set commanded rim speeds, scaled down together if either exceeds the motors' top speed."""
        peak = max(abs(left), abs(right))
        if peak > MAX_RIM_SPEED_M_S:
            left, right = left * MAX_RIM_SPEED_M_S / peak, right * MAX_RIM_SPEED_M_S / peak
        self._target_l, self._target_r = left, right

    def _twist_to_rims(self, v: float, omega: float) -> tuple[float, float]:
        half = omega * self.chi * self.geometry.track_m / 2.0
        return v - half, v + half

    def cmd_wheels(self, left_m_s: float, right_m_s: float) -> None:
        """Set the left and right rim speeds, m/s (ends a running move or turn as STOPPED)."""
        if left_m_s or right_m_s:
            self._check_can_drive()
        self.end_motion(Completion.STOPPED)
        self._set_targets(left_m_s, right_m_s)
        self.set_mode(MODE_DRIVING if (left_m_s or right_m_s) else MODE_IDLE)

    def cmd_twist(self, v_m_s: float, omega_rad_s: float) -> None:
        """Set the body speed (m/s) and turn rate (rad/s) as seen by odometry."""
        if v_m_s or omega_rad_s:
            self._check_can_drive()
        self.end_motion(Completion.STOPPED)
        self._set_targets(*self._twist_to_rims(v_m_s, omega_rad_s))
        self.set_mode(MODE_DRIVING if (v_m_s or omega_rad_s) else MODE_IDLE)

    def cmd_move(self, distance_m: float, speed_m_s: float) -> AckResult:
        """Drive straight for ``distance_m`` (signed, odometry) at up to ``speed_m_s``, then stop."""
        self._check_can_drive()
        result = self.begin_motion("move", MODE_MOVING)
        self._goal, self._progress, self._limit = float(distance_m), 0.0, float(speed_m_s)
        self._target_l = self._target_r = 0.0
        return result

    def cmd_turn(self, angle_rad: float, rate_rad_s: float) -> AckResult:
        """Turn in place by ``angle_rad`` (signed, odometry heading) at up to ``rate_rad_s``, then stop."""
        self._check_can_drive()
        result = self.begin_motion("turn", MODE_TURNING)
        self._goal, self._progress, self._limit = float(angle_rad), 0.0, float(rate_rad_s)
        self._target_l = self._target_r = 0.0
        return result

    def cmd_clear_fault(self) -> None:
        """Clear latched faults whose cause is gone: a jammed wheel keeps ``wheel_stall``, an active short
        keeps ``overcurrent``."""
        keep = 0
        if self._jam[0] or self._jam[1]:
            keep |= self.spec.fault_bit("wheel_stall")
        if self._short_A and self.world.t < self._short_until:
            keep |= self.spec.fault_bit("overcurrent")
        self.faults &= keep
        if not self.all_faults:
            self.emit_event(EventId.FAULT_CLEARED, Severity.INFO, 0, 0.0)

    # ------------------------------------------------------------------------------ device API
    def stop_actuators(self) -> None:
        """Motors off and brakes on: commanded and rim speeds to zero at once."""
        self._target_l = self._target_r = 0.0
        self._rim_l = self._rim_r = 0.0

    def is_actuating(self) -> bool:
        """True while a wheel is commanded or turning, or a motion runs (the dead-man rule watches this)."""
        return bool(self._target_l or self._target_r or self._rim_l or self._rim_r or self.motion)

    def power_W(self) -> float:
        """Controller electronics plus both motors, W (0 with the bus off)."""
        if not self.bus_powered:
            return 0.0
        if not (self.current_left_A or self.current_right_A):
            return self.motor.electronics_W
        motor, r = self.motor, self.geometry.wheel_radius_m
        return (
            motor.electronics_W
            + motor.power_W(self.current_left_A, self._rim_l, r)
            + motor.power_W(self.current_right_A, self._rim_r, r)
        )

    def telemetry_values(self) -> dict[str, float]:
        return {
            "x_m": self.odo_x_m,
            "y_m": self.odo_y_m,
            "heading_rad": self.odo_heading_rad,
            "v_m_s": self.v_odo_m_s,
            "omega_rad_s": self.omega_odo_rad_s,
            "current_left_A": self.current_left_A,
            "current_right_A": self.current_right_A,
            "slip": self.slip,
            "odometer_m": self.odometer_m,
        }

    @property
    def pinned(self) -> bool:
        """True while anchors or the drill string hold the rover in place."""
        rover = self.world.rover
        return rover.anchored or rover.anchor_holding_N > 0.0 or rover.drill_depth_m > PINNING_DRILL_DEPTH_M

    # -------------------------------------------------------------------------------- physics
    def step(self, dt: float) -> None:
        """Advance wheels, slip, true and odometry poses by ``dt`` seconds."""
        if dt <= 0.0:
            return
        t = self.world.t
        if self._jam_until <= t:
            self._jam = [False, False]
            self._jam_until = math.inf
        if not self.bus_powered and (self.mode or self.is_actuating()):
            self.stop_actuators()
            self.end_motion(Completion.STOPPED)
            self.set_mode(MODE_IDLE)
        if not (self.is_actuating() or self._v or self._omega):
            if self.current_left_A or self.current_right_A or self.slip or self.v_odo_m_s or self.omega_odo_rad_s:
                self._at_rest()
            return
        self._update_terrain()
        want_l, want_r = self._desired_rims()
        self._ramp_rims(want_l, want_r, dt)
        self._finish_approach(dt)
        self._move_body(want_l, want_r, dt)
        self._check_faults(want_l, want_r, dt)
        self._check_motion_done()

    def _at_rest(self) -> None:
        self.current_left_A = self.current_right_A = 0.0
        self.slip = self.v_odo_m_s = self.omega_odo_rad_s = 0.0
        rover = self.world.rover
        rover.speed_m_s = rover.yaw_rate_rad_s = 0.0
        self._stall_s = self._no_progress_s = self._overcurrent_s = 0.0

    def _desired_rims(self) -> tuple[float, float]:
        """Rim speeds the speed loop aims at this step: the command, or the move/turn profile."""
        motion = self.motion
        if motion is None:
            return self._target_l, self._target_r
        remaining = abs(self._goal) - self._progress * _sign(self._goal)
        if motion == "move":
            v = min(self._limit, MAX_RIM_SPEED_M_S, math.sqrt(2.0 * MOVE_DECEL_M_S2 * max(remaining, 0.0)))
            v *= _sign(self._goal)
            return v, v
        omega = _sign(self._goal) * min(self._limit, math.sqrt(2.0 * TURN_DECEL_RAD_S2 * max(remaining, 0.0)))
        left, right = self._twist_to_rims(0.0, omega)
        peak = max(abs(left), abs(right))
        if peak > MAX_RIM_SPEED_M_S:
            left, right = left * MAX_RIM_SPEED_M_S / peak, right * MAX_RIM_SPEED_M_S / peak
        return left, right

    def _ramp_rims(self, want_l: float, want_r: float, dt: float) -> None:
        step = WHEEL_ACCEL_M_S2 * dt
        rl, rr = self._rim_l, self._rim_r
        rl = min(want_l, rl + step) if want_l > rl else max(want_l, rl - step)
        rr = min(want_r, rr + step) if want_r > rr else max(want_r, rr - step)
        if self.motion == "move":
            rr = rl  # one profile for both sides
        self._rim_l = 0.0 if self._jam[0] else rl
        self._rim_r = 0.0 if self._jam[1] else rr

    def _finish_approach(self, dt: float) -> None:
        """On the last step of a move or turn, slow the rims so odometry lands on the goal."""
        motion = self.motion
        if motion is None:
            return
        remaining = abs(self._goal) - self._progress * _sign(self._goal)
        if motion == "move":
            reach = abs(self._rim_l + self._rim_r) / 2.0 * dt
        else:
            reach = abs(self._rim_r - self._rim_l) / (self.chi * self.geometry.track_m) * dt
        if reach > remaining > 0.0:
            scale = remaining / reach
            self._rim_l *= scale
            self._rim_r *= scale

    def _move_body(self, want_l: float, want_r: float, dt: float) -> None:
        """Slip, true motion, odometry, motor currents."""
        geometry = self.geometry
        track = geometry.track_m
        contact = self._contact
        rl, rr = self._rim_l, self._rim_r
        rover = self.world.rover
        # Forces each side must deliver (forward positive): rolling resistance against its motion, the
        # grade, and the turning resistance moment shared as a force couple.
        slope, azimuth = self._slope
        grade = grade_sine(slope, azimuth, rover.heading_rad) * self._weight_N / 2.0
        couple = self._turn_moment_Nm * math.tanh((rr - rl) / track / TURN_FRICTION_RATE_RAD_S) / track
        rolling = 2.0 * contact.rolling_resistance_N
        force_l = rolling * _sign(rl) + grade - couple
        force_r = rolling * _sign(rr) + grade + couple
        pinned = self.pinned
        ground_l, force_l = side_motion(self._contact, rl, force_l, pinned)
        ground_r, force_r = side_motion(self._contact, rr, force_r, pinned)
        if pinned:
            v_new = omega_new = 0.0
        else:
            v_qs = (ground_l + ground_r) / 2.0
            omega_qs = (ground_r - ground_l) / track
            dv_max, dw_max = self._a_max * dt, self._alpha_max * dt
            v_new = self._v + max(-dv_max, min(dv_max, v_qs - self._v))
            omega_new = self._omega + max(-dw_max, min(dw_max, omega_qs - self._omega))
        # True pose (midpoint heading), written to the shared rover state.
        heading = rover.heading_rad
        mid = heading + 0.5 * omega_new * dt
        rover.x_m += v_new * math.cos(mid) * dt
        rover.y_m += v_new * math.sin(mid) * dt
        rover.heading_rad = _wrap(heading + omega_new * dt)
        rover.speed_m_s = v_new
        rover.yaw_rate_rad_s = omega_new
        self._v, self._omega = v_new, omega_new
        # Odometry from the encoders.
        v_odo = (rl + rr) / 2.0
        omega_odo = (rr - rl) / (self.chi * track)
        mid = self.odo_heading_rad + 0.5 * omega_odo * dt
        self.odo_x_m += v_odo * math.cos(mid) * dt
        self.odo_y_m += v_odo * math.sin(mid) * dt
        self.odo_heading_rad = _wrap(self.odo_heading_rad + omega_odo * dt)
        self.odometer_m += abs(v_odo) * dt
        self.v_odo_m_s, self.omega_odo_rad_s = v_odo, omega_odo
        if self.motion == "move":
            self._progress += v_odo * dt
        elif self.motion == "turn":
            self._progress += omega_odo * dt
        # Slip estimate: body motion against rim motion.
        rim = (abs(rl) + abs(rr)) / 2.0
        if rim > 1e-3:
            body = abs(v_new) + abs(omega_new) * track / 2.0
            self.slip = min(1.0, max(0.0, 1.0 - body / rim))
        else:
            self.slip = 0.0 if not (self._target_l or self._target_r) else self.slip
        # Motor currents.
        cur_l = self._motor_current(0, force_l, rl, want_l)
        cur_r = self._motor_current(1, force_r, rr, want_r)
        if self._short_A and self.world.t < self._short_until and (want_l or want_r or rl or rr):
            cur_l += math.copysign(self._short_A, cur_l or 1.0)
        self.current_left_A, self.current_right_A = cur_l, cur_r

    def _motor_current(self, side: int, force: float, rim: float, want: float) -> float:
        """Signed current of one motor, A: the current limit against a jammed wheel that is commanded."""
        if self._jam[side]:
            return math.copysign(self.motor.current_limit_A, want) if want else 0.0
        if rim == 0.0:
            return 0.0
        return self.motor.current_A(force, rim, self.geometry.wheel_radius_m)

    # --------------------------------------------------------------------------------- faults
    def _check_faults(self, want_l: float, want_r: float, dt: float) -> None:
        commanded = abs(want_l) + abs(want_r) > 0.02
        stalled = any(
            abs(want) > 0.01 and abs(rim) < STALL_SPEED_FRACTION * abs(want)
            for want, rim in ((want_l, self._rim_l), (want_r, self._rim_r))
        )
        self._stall_s = self._stall_s + dt if stalled else 0.0
        self._no_progress_s = self._no_progress_s + dt if commanded and self.slip >= NO_PROGRESS_SLIP else 0.0
        peak = max(abs(self.current_left_A), abs(self.current_right_A))
        self._overcurrent_s = self._overcurrent_s + dt if peak > OVERCURRENT_A else 0.0
        if self._overcurrent_s > OVERCURRENT_TIME_S:
            self._trip("overcurrent", peak, Completion.FAULT)
        elif self._stall_s > STALL_TIME_S:
            self._trip("wheel_stall", peak, Completion.BLOCKED)
        elif self._no_progress_s > NO_PROGRESS_TIME_S:
            self._trip("wheel_stall", self.slip, Completion.BLOCKED)

    def _trip(self, fault: str, value: float, completion: Completion) -> None:
        _LOGGER.info("drive: %s (%.3f) at t=%.3f", fault, value, self.world.t)
        self.raise_fault(fault, value)
        self.stop_actuators()
        self.end_motion(completion)
        self.set_mode(MODE_IDLE)
        self._stall_s = self._no_progress_s = self._overcurrent_s = 0.0

    def _check_motion_done(self) -> None:
        if self.motion is None:
            return
        tolerance = MOVE_TOLERANCE_M if self.motion == "move" else TURN_TOLERANCE_RAD
        if abs(self._goal) - self._progress * _sign(self._goal) <= tolerance:
            self.stop_actuators()
            self.end_motion(Completion.OK)
            self.set_mode(MODE_IDLE)

    # -------------------------------------------------------------------------- fault injection
    @declares(side=choice(SIDES), duration_s=number(0.0, unit="s", above=True, forever=True))
    def inject_wheel_stall(self, side: str = "left", duration_s: float = math.inf) -> None:
        """Jam the ``side`` wheels (``left``, ``right`` or ``both``) for ``duration_s`` seconds: they stop
        turning and their motor draws its current limit while commanded."""
        self._jam = [side in ("left", "both"), side in ("right", "both")]
        self._jam_until = self.world.t + float(duration_s)

    @declares()
    def inject_wheel_free(self) -> None:
        """Release a jam injected with :meth:`inject_wheel_stall`."""
        self._jam = [False, False]
        self._jam_until = math.inf

    @declares(amps=number(0.0, unit="A", above=True), duration_s=number(0.0, unit="s", above=True, forever=True))
    def inject_overcurrent(self, amps: float = 20.0, duration_s: float = math.inf) -> None:
        """Add a ``amps`` short to the left motor's current whenever the motors are enabled, for
        ``duration_s`` seconds (the controller trips ``overcurrent`` after 0.2 s)."""
        self._short_A = float(amps)
        self._short_until = self.world.t + float(duration_s)


FIRMWARE = DriveFirmware
