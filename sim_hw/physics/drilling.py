"""Rotary-percussive auger drilling: loads, motor, feed, bit heating, cuttings and the volatiles sensor.

The bit cuts with the drag-bit model of Detournay & Defourny (1992): at a depth of cut per revolution
``delta = u / n`` the cutting face needs torque ``T_c = eps a^2 delta / 2`` and thrust
``F_c = zeta eps a delta`` (``a`` bit radius, ``eps`` the specific energy of the material: the
material's UCS over the drilling efficiency, after Teale 1965), plus the friction of the wear flats.
The hammer supplies part of the breaking power, the auger flights rub on the borehole wall, and the
spindle has its own drag. The motor delivers at most ``min(T_max, P_max / omega)``; asking for more is a
stall. Heat goes into the bit; the cuttings, the ground and sublimating ice carry it away, and ice that
sublimates at a hot bit never reaches the volatiles sensor. Equations and sources: ``docs/sim/mechanics.md``.

Everything is plain float arithmetic (the step runs thousands of times per simulated minute).
SI units: metres, seconds, newtons, newton-metres, watts, kelvin, kilograms; speeds in rpm where named.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from sim_hw.physics.icy_ground import GroundCache, sublimation_flux_kg_m2_s
from sim_hw.physics.thermal import latent_sublimation
from sim_hw.terrain import Layer

_LOGGER = logging.getLogger(__name__)

TWO_PI = 2.0 * math.pi

# Step outcomes (bit set returned by DrillMechanics.step).
STALL = 0x01
OVERTEMP = 0x02
OVERCURRENT = 0x04
FEED_DONE = 0x08
FEED_BLOCKED = 0x10
RETRACT_DONE = 0x20
RETRACT_BLOCKED = 0x40


@dataclass(frozen=True)
class DrillDesign:
    """Design parameters of the drill (SI). Values and sources: ``docs/sim/mechanics.md``, "Drill"."""

    bit_radius_m: float = 0.025
    drilling_efficiency: float = 0.25  # eps = UCS / efficiency (Teale 1965: practical SE several x UCS)
    thrust_ratio: float = 0.6  # zeta, Detournay & Defourny 1992 (0.5..0.9 for drag bits)
    wear_flat_area_m2: float = 6.0e-6
    contact_friction: float = 0.6  # mu*gamma of the wear flats
    wall_friction: float = 0.5
    packing_pressure_Pa: float = 1000.0
    lateral_coefficient: float = 0.35  # Jaky K0 = 1 - sin(phi) for phi ~ 40 deg
    flight_pitch_m: float = 0.02
    shaft_radius_ratio: float = 0.6
    conveying_efficiency: float = 0.3
    bulking_factor: float = 1.3
    choke_length_m: float = 0.1
    choke_base_Pa: float = 1.0e5
    spindle_torque_Nm: float = 0.3
    spindle_drag_Nm_per_rpm: float = 0.002
    torque_limit_Nm: float = 40.0
    power_limit_W: float = 450.0  # shaft power, the Apollo Lunar Surface Drill's class (430-450 W)
    torque_constant_Nm_A: float = 1.5  # referred to the auger (after the gearbox)
    no_load_current_A: float = 0.5
    winding_resistance_ohm: float = 0.15
    motor_efficiency: float = 0.75
    overcurrent_A: float = 30.0
    jam_current_A: float = 45.0
    jam_spike_s: float = 0.3
    hammer_energy_J: float = 2.0
    hammer_rate_Hz: float = 30.0
    hammer_transfer: float = 0.3
    hammer_electrical_W: float = 80.0
    max_hammer_share: float = 0.85
    hammer_piston_kg: float = 0.3
    feed_thrust_limit_N: float = 600.0
    feed_efficiency: float = 0.3
    feed_idle_W: float = 1.0
    avionics_W: float = 2.0
    rpm_time_constant_s: float = 0.25
    stall_decay_s: float = 0.05
    refusal_s: float = 5.0
    bit_heat_capacity_J_K: float = 30.0
    bit_heat_share: float = 0.4
    cuttings_heat_share: float = 0.5
    contact_time_s: float = 60.0
    bit_length_m: float = 0.05
    sink_conductance_W_K: float = 0.003
    sublimation_area_factor: float = 2.0
    overtemp_K: float = 353.0
    sensor_window_kg: float = 0.005
    rotation_vibration_m_s2: float = 0.05
    max_stroke_m: float = 3.0

    @property
    def face_area_m2(self) -> float:
        """Area of the bit face, m^2."""
        return math.pi * self.bit_radius_m**2


DEFAULT_DESIGN = DrillDesign()


# ----------------------------------------------------------------------------------- load equations
def specific_energy_Pa(ucs_Pa: float, design: DrillDesign = DEFAULT_DESIGN) -> float:
    """Specific energy of drilling ``eps`` (J/m^3 = Pa) for a material of this UCS."""
    return ucs_Pa / design.drilling_efficiency


def face_loads(eps_Pa: float, rpm: float, rate_m_s: float, design: DrillDesign = DEFAULT_DESIGN) -> tuple[float, float]:
    """Cutting-face torque (N*m) and thrust (N) at ``rpm`` and penetration ``rate_m_s`` (Detournay &
    Defourny 1992): delta = u/n, T = eps a^2 delta / 2, F = zeta eps a delta. Zero without rotation or
    advance."""
    if rpm <= 0.0 or rate_m_s <= 0.0:
        return 0.0, 0.0
    a = design.bit_radius_m
    delta = rate_m_s * 60.0 / rpm
    return 0.5 * eps_Pa * a * a * delta, design.thrust_ratio * eps_Pa * a * delta


def hammer_share(eps_Pa: float, rate_m_s: float, design: DrillDesign = DEFAULT_DESIGN) -> float:
    """Share of the breaking power the hammer supplies (0..max_hammer_share): its useful power
    (transfer x blow energy x rate) over the power the face needs (eps x face area x u)."""
    hammer = design.hammer_transfer * design.hammer_energy_J * design.hammer_rate_Hz
    need = eps_Pa * design.face_area_m2 * rate_m_s
    if need <= hammer / design.max_hammer_share:
        return design.max_hammer_share
    return hammer / need


def contact_loads(ucs_Pa: float, design: DrillDesign = DEFAULT_DESIGN) -> tuple[float, float]:
    """Wear-flat friction torque (N*m) and thrust (N) while the bit advances: F_f = UCS x flat area,
    T_f = mu gamma a F_f / 2 (Detournay & Defourny 1992)."""
    force = ucs_Pa * design.wear_flat_area_m2
    return 0.5 * design.contact_friction * design.bit_radius_m * force, force


def auger_torque_Nm(depth_m: float, bulk_density: float, gravity: float, design: DrillDesign = DEFAULT_DESIGN) -> float:
    """Torque of the auger flights rubbing on the borehole wall down to ``depth_m``: wall friction x
    (cuttings packing pressure + K0 x mean overburden stress) x wall area x radius."""
    if depth_m <= 0.0:
        return 0.0
    a = design.bit_radius_m
    pressure = design.packing_pressure_Pa + design.lateral_coefficient * bulk_density * gravity * depth_m * 0.5
    return design.wall_friction * pressure * TWO_PI * a * depth_m * a


def auger_fill_ratio(rpm: float, rate_m_s: float, design: DrillDesign = DEFAULT_DESIGN) -> float:
    """Cuttings production over the flights' conveying capacity: bulked volume rate B pi a^2 u over
    pi (a^2 - r_s^2) p n eta. Above 1 the auger chokes."""
    if rpm <= 0.0:
        return math.inf if rate_m_s > 0.0 else 0.0
    ratio = design.shaft_radius_ratio
    capacity = (1.0 - ratio * ratio) * design.flight_pitch_m * design.conveying_efficiency * rpm / 60.0
    return design.bulking_factor * rate_m_s / capacity


def choke_torque_Nm(fill_ratio: float, ucs_Pa: float, design: DrillDesign = DEFAULT_DESIGN) -> float:
    """Torque of cuttings packed into a choked auger: the excess fill (f - 1) compresses the cuttings in the
    lowest flights against the wall with a pressure (p_base + UCS)(f - 1) over the choke length."""
    if fill_ratio <= 1.0:
        return 0.0
    a = design.bit_radius_m
    pressure = (design.choke_base_Pa + ucs_Pa) * (fill_ratio - 1.0)
    return design.wall_friction * pressure * TWO_PI * a * design.choke_length_m * a


def spindle_torque_Nm(rpm: float, design: DrillDesign = DEFAULT_DESIGN) -> float:
    """No-load drag of the spindle, gearbox and seals, N*m (zero at rest)."""
    if rpm <= 0.0:
        return 0.0
    return design.spindle_torque_Nm + design.spindle_drag_Nm_per_rpm * rpm


def available_torque_Nm(rpm: float, design: DrillDesign = DEFAULT_DESIGN) -> float:
    """Most torque the motor holds at ``rpm``: min(current limit, shaft power limit / omega)."""
    omega = rpm * TWO_PI / 60.0
    if omega <= 1e-9:
        return design.torque_limit_Nm
    return min(design.torque_limit_Nm, design.power_limit_W / omega)


def motor_current_A(torque_Nm: float, design: DrillDesign = DEFAULT_DESIGN) -> float:
    """Motor current for an auger torque, A: no-load current + T / k_t."""
    return design.no_load_current_A + max(0.0, torque_Nm) / design.torque_constant_Nm_A


def hammer_vibration_m_s2(rover_mass_kg: float, design: DrillDesign = DEFAULT_DESIGN) -> float:
    """RMS body acceleration the running hammer causes, m/s^2: blow impulse sqrt(2 m_p E) x blow rate
    over the rover's mass."""
    impulse = math.sqrt(2.0 * design.hammer_piston_kg * design.hammer_energy_J)
    return impulse * design.hammer_rate_Hz / max(rover_mass_kg, 1.0)


# ----------------------------------------------------------------------------------- the drill state
@dataclass
class DrillEnvironment:
    """What the drill feels this step (filled in by the firmware, reused every step)."""

    layer_at: Callable[[float], Layer]
    powered: bool = True
    gravity_m_s2: float = 1.62
    rover_mass_kg: float = 120.0
    body_lift_m: float = 0.0
    body_velocity_m_s: float = 0.0
    holding_N: float = 0.0
    ambient_K: float = 250.0


class DrillMechanics:
    """The drill's physical state and its time step.

    Commands set :attr:`rpm_cmd`, :attr:`percussion`, and start or stop the feed and retract axes;
    :meth:`step` advances everything by ``dt`` and returns a bit set of outcomes (:data:`STALL`,
    :data:`OVERTEMP`, :data:`OVERCURRENT`, :data:`FEED_DONE`, :data:`FEED_BLOCKED`, :data:`RETRACT_DONE`).
    ``stroke_m`` is the feed axis position (bit below the rover's ground reference), ``hole_m`` the depth
    of the hole the bit has cut, ``depth_m`` the bit's depth below the surface (stroke less body lift).
    """

    def __init__(
        self,
        design: DrillDesign = DEFAULT_DESIGN,
        *,
        ambient_K: float = 250.0,
        ambient_pressure_Pa: float = 0.0,
        body: str = "moon",
    ) -> None:
        self.design = design
        self.ground = GroundCache(ambient_pressure_Pa, body)
        self.ambient_pressure_Pa = ambient_pressure_Pa
        self.rpm_cmd = 0.0
        self.percussion = False
        self.feed_target_m = 0.0
        self.feed_rate_m_s = 0.0
        self.feeding = False
        self.retract_rate_m_s = 0.0
        self.retracting = False
        self.jammed = False
        self.forced_torque_Nm = 0.0
        self.stalled = False
        # state
        self.rpm = 0.0
        self.stroke_m = 0.0
        self.hole_m = 0.0
        self.bit_temp_K = ambient_K
        self.cuttings_kg = 0.0
        self.cuttings_water_kg = 0.0
        self.sensed_ice_fraction = 0.0
        # outputs of the last step
        self.depth_m = 0.0
        self.torque_Nm = 0.0
        self.thrust_N = 0.0
        self.wob_N = 0.0
        self.feed_speed_m_s = 0.0
        self.current_A = 0.0
        self.power_W = 0.0
        self.vibration_m_s2 = 0.0
        self.sublimated_kg = 0.0
        self._spike_s = 0.0
        self._refusal_s = 0.0
        self._overcurrent = False
        self._overtemp = False

    # ------------------------------------------------------------------------------------ commands
    def start_feed(self, target_m: float, rate_m_s: float) -> None:
        """Advance the bit to ``target_m`` below the surface at ``rate_m_s``."""
        self.feed_target_m = min(target_m, self.design.max_stroke_m)
        self.feed_rate_m_s = rate_m_s
        self.feeding = True
        self.retracting = False
        self._refusal_s = 0.0

    def start_retract(self, rate_m_s: float) -> None:
        """Withdraw the bit to the stowed position at ``rate_m_s``."""
        self.retract_rate_m_s = rate_m_s
        self.retracting = True
        self.feeding = False

    def halt(self) -> None:
        """Stop rotation, hammer and both axes now."""
        self.rpm_cmd = 0.0
        self.percussion = False
        self.feeding = False
        self.retracting = False

    def reset_cuttings(self) -> None:
        """Forget the cuttings (they fall off the auger when it is withdrawn)."""
        self.cuttings_kg = 0.0
        self.cuttings_water_kg = 0.0
        self.sensed_ice_fraction = 0.0

    def forget_hole(self) -> None:
        """The rover moved: the next feed starts a new hole."""
        if self.stroke_m <= 0.0:
            self.hole_m = 0.0

    @property
    def active(self) -> bool:
        """True while anything moves or heats (the firmware's dead-man rule watches this)."""
        return self.rpm_cmd > 0.0 or self.percussion or self.feeding or self.retracting

    # -------------------------------------------------------------------------------------- step
    def step(self, dt: float, env: DrillEnvironment) -> int:
        """Advance the drill by ``dt`` seconds in ``env``; returns the outcome bits of this step."""
        d = self.design
        if dt <= 0.0:
            return 0
        outcome = 0
        if not env.powered:
            self.halt()
        lift = env.body_lift_m
        v_body = env.body_velocity_m_s
        depth = self.stroke_m - lift
        in_contact = depth >= self.hole_m - 1e-6 and depth >= 0.0
        depth = depth if depth > 0.0 else 0.0
        layer = env.layer_at(self.hole_m if in_contact else depth)
        props = self.ground.props(layer)
        weight = env.rover_mass_kg * env.gravity_m_s2

        # --- rotation
        rpm = self.rpm
        target = 0.0 if self.stalled or self.jammed or self.rpm_cmd <= 0.0 else self.rpm_cmd
        tau = d.stall_decay_s if (self.stalled or self.jammed) else d.rpm_time_constant_s
        rpm += (target - rpm) * (dt / tau if dt < tau else 1.0)
        if rpm < 0.05 and target == 0.0:
            rpm = 0.0
        self.rpm = rpm

        # --- feed and cutting
        u_cut = 0.0
        face_t = face_f = contact_t = contact_f = choke_t = 0.0
        thrust = 0.0
        eps = 0.0
        stroke_speed = 0.0
        hammer_on = self.percussion and env.powered
        if self.feeding:
            # the feed controller keeps the commanded bite per revolution while the auger comes up to speed
            u_cmd = self.feed_rate_m_s
            if 0.0 < rpm < self.rpm_cmd:
                u_cmd *= rpm / self.rpm_cmd
            if in_contact and rpm > 0.5:
                eps = specific_energy_Pa(props.ucs_Pa, d)
                u_rel = u_cmd - (v_body if v_body > 0.0 else 0.0)
                u_rel = u_rel if u_rel > 0.0 else 0.0
                share = hammer_share(eps, u_rel, d) if hammer_on else 0.0
                face_t, face_f = face_loads(eps * (1.0 - share), rpm, u_rel, d)
                # the hammer's blows break the ground under the wear flats as under the cutters
                contact_t, contact_f = contact_loads(props.ucs_Pa * (1.0 - share), d)
                if u_rel <= 0.0:
                    contact_t = contact_f = 0.0
                demand = face_f + contact_f
                limit = d.feed_thrust_limit_N
                reaction = env.holding_N + weight
                u_cut = u_rel
                if demand > limit:  # the feed motor cannot push harder: the bit advances slower
                    u_cut = u_rel * max(0.0, limit - contact_f) / face_f if face_f > 0.0 else 0.0
                    demand = limit
                if demand > reaction:  # the ground cannot hold the rover down: it is pushed up
                    u_cut = min(u_cut, u_rel * max(0.0, reaction - contact_f) / face_f if face_f > 0.0 else 0.0)
                    push = reaction + env.rover_mass_kg * max(0.0, (u_cmd - u_cut) - v_body) / dt
                    demand = min(demand, push)
                if u_cut < u_rel:
                    face_t, face_f = face_loads(eps * (1.0 - share), rpm, u_cut, d)
                choke_t = choke_torque_Nm(auger_fill_ratio(rpm, u_cut, d), props.ucs_Pa, d)
                thrust = demand
                stroke_speed = min(u_cmd, u_cut + (v_body if v_body > 0.0 else 0.0))
                self.hole_m += u_cut * dt
                self._refusal_s = self._refusal_s + dt if u_cut < 0.05 * u_cmd and v_body <= 0.0 else 0.0
            elif in_contact:  # pressing without rotation: the firmware refuses this; nothing advances
                stroke_speed = 0.0
            else:
                stroke_speed = u_cmd
            self.stroke_m += stroke_speed * dt
            if self.stroke_m >= self.feed_target_m:
                self.stroke_m = max(self.feed_target_m, self.stroke_m - stroke_speed * dt)
                self.feeding = False
                reached = self.stroke_m - lift >= self.feed_target_m - 0.002
                outcome |= FEED_DONE if reached else FEED_BLOCKED
            elif self._refusal_s > d.refusal_s:
                self.feeding = False
                outcome |= FEED_BLOCKED
        elif self.retracting:
            stroke_speed = -self.retract_rate_m_s
            if self.jammed:
                self.retracting = False
                outcome |= RETRACT_BLOCKED
            else:
                self.stroke_m += stroke_speed * dt
                if self.stroke_m <= 0.0:
                    self.stroke_m = 0.0
                    self.retracting = False
                    self.reset_cuttings()
                    outcome |= RETRACT_DONE
        elif in_contact and lift > 0.0 and self.stroke_m > 0.0:
            # the lifted rover rests on its drill string (the feed axis does not back-drive)
            thrust = min(d.feed_thrust_limit_N, weight + env.rover_mass_kg * max(0.0, -v_body) / dt)

        depth = self.stroke_m - lift
        depth = depth if depth > 0.0 else 0.0
        self.depth_m = depth
        self.feed_speed_m_s = stroke_speed
        self.thrust_N = thrust
        self.wob_N = thrust

        # --- torque, stall, motor
        torque = 0.0
        if rpm > 0.0 or (self.rpm_cmd > 0.0 and not self.stalled):
            torque = (
                spindle_torque_Nm(max(rpm, 1.0), d)
                + face_t
                + contact_t
                + choke_t
                + auger_torque_Nm(depth, layer.bulk_density_kg_m3, env.gravity_m_s2, d)
                + self.forced_torque_Nm
            )
            if (
                self.rpm_cmd > 0.0
                and not self.stalled
                and (self.jammed or torque > available_torque_Nm(self.rpm_cmd, d))
            ):
                self.stalled = True
                outcome |= STALL
                if self.jammed:
                    self._spike_s = d.jam_spike_s
            if torque > d.torque_limit_Nm:
                torque = d.torque_limit_Nm
        if self.stalled and rpm <= 0.0:
            torque = 0.0
        self.torque_Nm = torque
        omega = rpm * TWO_PI / 60.0
        current = motor_current_A(torque, d) if (rpm > 0.0 or torque > 0.0) else 0.0
        if self._spike_s > 0.0:
            current = d.jam_current_A
            self._spike_s -= dt
        self.current_A = current
        if current > d.overcurrent_A and not self._overcurrent:
            outcome |= OVERCURRENT
        self._overcurrent = current > d.overcurrent_A
        power = d.avionics_W if env.powered else 0.0
        if current > 0.0:
            power += omega * torque / d.motor_efficiency + current * current * d.winding_resistance_ohm
        if hammer_on:
            power += d.hammer_electrical_W
        if self.feeding or self.retracting:
            power += d.feed_idle_W + thrust * abs(stroke_speed) / d.feed_efficiency
        self.power_W = power
        vibration = d.rotation_vibration_m_s2 * (rpm / 600.0) ** 2
        if hammer_on:
            vibration += hammer_vibration_m_s2(env.rover_mass_kg, d)
        self.vibration_m_s2 = vibration

        # --- cuttings, sublimation and the bit's heat balance
        area = d.face_area_m2
        mass_rate = layer.bulk_density_kg_m3 * area * u_cut
        water_rate = mass_rate * layer.ice_fraction
        bit_T = self.bit_temp_K
        loss = 0.0
        face_loss = 0.0
        if depth > 0.0 and props.ice_saturation > 0.0 and in_contact:
            flux = sublimation_flux_kg_m2_s(bit_T, self.ambient_pressure_Pa)
            if flux > 0.0:
                loss = min(water_rate, flux * area * d.sublimation_area_factor)
                face_loss = flux * area * props.ice_saturation
        if mass_rate > 0.0:
            kept = mass_rate - loss
            self.cuttings_kg += kept * dt
            self.cuttings_water_kg += (water_rate - loss) * dt
            fraction_in = (water_rate - loss) / kept if kept > 0.0 else 0.0
            alpha = kept * dt / d.sensor_window_kg
            self.sensed_ice_fraction += (fraction_in - self.sensed_ice_fraction) * (alpha if alpha < 1.0 else 1.0)
        self.sublimated_kg += (loss + face_loss) * dt
        heat_in = 0.0
        if in_contact and depth > 0.0:
            heat_in = omega * (face_t + contact_t)
            if hammer_on:
                heat_in += d.hammer_energy_J * d.hammer_rate_Hz
        heat_in *= d.bit_heat_share
        layer_T = layer.temperature_K if depth > 0.0 else env.ambient_K
        conductance = 0.0
        if depth > 0.0:
            a = d.bit_radius_m
            length = depth if depth < d.bit_length_m else d.bit_length_m
            contact_area = TWO_PI * a * length + area
            conductance = props.thermal_inertia * contact_area / math.sqrt(math.pi * d.contact_time_s)
        conductance += mass_rate * props.cp_J_kgK * d.cuttings_heat_share
        sink = d.sink_conductance_W_K
        cooling = (loss + face_loss) * latent_sublimation(bit_T) if (loss + face_loss) > 0.0 else 0.0
        k = dt / d.bit_heat_capacity_J_K
        bit_T = (bit_T + k * (heat_in - cooling + conductance * layer_T + sink * env.ambient_K)) / (
            1.0 + k * (conductance + sink)
        )
        self.bit_temp_K = bit_T
        hot = bit_T > d.overtemp_K
        if hot and not self._overtemp:
            outcome |= OVERTEMP
        self._overtemp = hot
        return outcome
