"""Emulator of the microgravity hopping mobility (ICD device ``hopper``): flywheel torquer, hop, bounce,
settle, self-righting, and the faults of each.

A ``hop`` spins the flywheel up to the speed the launch needs, brakes it (the reaction against the ground
launches the rover, as MINERVA-II's torquer did) and the rover flies the ballistic arc of
:mod:`sim_hw.physics.hopping` under the body's gravity, bounces and slides to rest. The emulator moves the
rover's true position (``world.rover``); its telemetry reports a dead-reckoned estimate that drifts by
:data:`ESTIMATE_ERROR` of each hop's length (inertial navigation between hops; assumption). Completion:
OK settled upright; FAULT after a tumble (fault ``tumbled``: ``upright`` rights the rover, as MASCOT's
mobility mechanism does) or when the rover never comes back (fault ``lost``, declared when it is still
climbing three quarters of the way through the arc the command asked for, or airborne
:data:`LOST_AFTER_ARCS` times that arc: a launch at or above the body's escape speed); BLOCKED when it
did not launch (``failed_hop``: anchored, the drill in the ground, or the feet slipped) or the flywheel
did not spin up (``flywheel_stuck``). The built-in test (``self_test``) pulses the flywheel at rest and latches
``flywheel_stuck`` when it is seized.

Faults to inject (``isru demo --inject hopper.<kind>``): ``failed_hop`` (the next launch slips),
``bad_landing`` (the next hop ends tumbled), ``stuck_flywheel`` (the flywheel seizes until released with
``stuck=false``), ``runaway_launch`` (the next launch goes off at ``speed_m_s``, 0.3 m/s unless told: above
Bennu's escape speed, the rover is lost). The hopper draws on the drive bus (the mobility bus). SI units.
"""

from __future__ import annotations

import logging
import math

from hal.icd import HOPPER, Completion, EventId, Severity
from hal.protocol import AckResult, NackCode
from sim_hw.errors import Nack
from sim_hw.fault_params import declares, flag, number
from sim_hw.firmware import Firmware
from sim_hw.physics.hopping import Hop, launch, step, time_of_flight_s
from sim_hw.world_view import WorldView

_LOGGER = logging.getLogger(__name__)

MODE_SETTLED, MODE_SPINNING, MODE_BALLISTIC, MODE_BOUNCING, MODE_SETTLING, MODE_RIGHTING, MODE_LOST = range(7)

#: Flywheel speed for the fastest launch of the ICD (0.5 m/s), rpm, and its spin-up rate, rpm/s (assumptions).
MAX_RPM = 6000.0
SPINUP_RPM_S = 1000.0
#: A flywheel that has not reached its speed after this long is stuck, s.
SPINUP_TIMEOUT_S = 15.0
#: Electrical power: electronics (power-gated while settled), flywheel spin-up, righting pulses, W
#: (assumptions).
STANDBY_W = 2.0
SPINUP_W = 30.0
RIGHTING_W = 15.0
#: Duration of a self-righting manoeuvre, s (assumption).
RIGHTING_S = 30.0
#: Dead-reckoning error per hop, as a fraction of its length (1 sigma per axis; assumption).
ESTIMATE_ERROR = 0.03
#: Airborne this many times the commanded arc's time of flight, or still climbing after this share of it
#: (an arc under gravity is past its apex at half its time): the rover is declared lost.
LOST_AFTER_ARCS = 4.0
CLIMB_LIMIT_ARCS = 0.75
#: Chance that a hop whose hardest impact exceeds TUMBLE_IMPACT_M_S ends tumbled (assumptions).
TUMBLE_CHANCE = 0.2
TUMBLE_IMPACT_M_S = 0.1
#: An anchor or the drill this deep in the ground pins the rover: the launch fails, m.
PINNING_DEPTH_M = 0.02


class HopperFirmware(Firmware):
    """The hopper's controller: flywheel, launch, the hop's physics and the position estimate."""

    spec = HOPPER

    def __init__(self, world: WorldView, *, serial_number: int, seed: int = 0) -> None:
        super().__init__(world, serial_number=serial_number, seed=seed)
        self.rpm = 0.0
        self.target_rpm = 0.0
        self.hop: Hop | None = None
        self.estimate = [world.rover.x_m, world.rover.y_m]
        self.hops = 0
        self.last_hop_m = 0.0
        self.upright = True
        self._command: tuple[float, float, float] = (0.0, 0.0, 0.0)  # heading, speed, elevation
        self._phase_t = 0.0  # time in the current spin-up, flight or righting, s
        self._fail_next = False
        self._tumble_next = False
        self._stuck = False
        self._runaway_m_s: float | None = None

    # ------------------------------------------------------------------------------ commands
    def cmd_hop(self, heading_rad: float, speed_m_s: float, elevation_rad: float) -> AckResult:
        """Start a hop; NACK ``BAD_STATE`` unless settled upright, not lost and powered."""
        if self.mode != MODE_SETTLED or not self.upright or self.hop is not None:
            raise Nack(NackCode.BAD_STATE, 0)
        if not self.bus_powered:
            raise Nack(NackCode.BAD_STATE, 0)
        self._command = (heading_rad, speed_m_s, elevation_rad)
        self.target_rpm = MAX_RPM * speed_m_s / 0.5
        self._phase_t = 0.0
        return self.begin_motion("hop", MODE_SPINNING)

    def cmd_upright(self) -> AckResult:
        """Start the self-righting manoeuvre; NACK ``BAD_STATE`` while flying or lost."""
        if self.mode not in (MODE_SETTLED,) or self.hop is not None or not self.bus_powered:
            raise Nack(NackCode.BAD_STATE, 0)
        self._phase_t = 0.0
        return self.begin_motion("upright", MODE_RIGHTING)

    def cmd_stop(self) -> None:
        """Spin the flywheel down; a rover in flight keeps flying (nothing can stop a ballistic arc)."""
        if self.hop is not None or self.mode == MODE_LOST:
            self.stop_actuators()
            return
        super().cmd_stop()

    def stop_actuators(self) -> None:
        """Flywheel and righting pulses off."""
        self.target_rpm = 0.0
        if self.mode == MODE_RIGHTING:
            self.set_mode(MODE_SETTLED)

    def is_actuating(self) -> bool:
        """Spinning up or righting (a flight is not an actuation the dead-man rule can stop)."""
        return self.mode in (MODE_SPINNING, MODE_RIGHTING)

    @property
    def bus_powered(self) -> bool:
        """The hopper hangs on the drive (mobility) bus."""
        return self.world.rover.bus_on.get("drive", True)

    # --------------------------------------------------------------------------------- physics
    def step(self, dt: float) -> None:
        """Flywheel, launch, flight, bounces, settling and righting."""
        self._phase_t += dt
        if not self.bus_powered:
            self.target_rpm = 0.0
            if self.mode in (MODE_SPINNING, MODE_RIGHTING):  # the motor lost its supply: the manoeuvre ends
                self.set_mode(MODE_SETTLED)
                self.end_motion(Completion.STOPPED)
        if self.mode == MODE_SPINNING:
            self._spin_up(dt)
        elif self.rpm > 0.0:
            self.rpm = max(0.0, self.rpm - SPINUP_RPM_S * dt)
        if self.hop is not None:
            self._fly(dt)
        elif self.mode == MODE_RIGHTING and self._phase_t >= RIGHTING_S:
            if self._stuck:
                self.raise_fault("flywheel_stuck")
                self.set_mode(MODE_SETTLED)
                self.end_motion(Completion.BLOCKED)
                return
            self.upright = True
            self.faults &= ~self.spec.fault_bit("tumbled")
            self.set_mode(MODE_SETTLED)
            self.end_motion(Completion.OK)

    def _spin_up(self, dt: float) -> None:
        if self._stuck:
            if self._phase_t >= SPINUP_TIMEOUT_S:
                self.raise_fault("flywheel_stuck")
                self.set_mode(MODE_SETTLED)
                self.end_motion(Completion.BLOCKED)
            return
        self.rpm = min(self.target_rpm, self.rpm + SPINUP_RPM_S * dt)
        if self.rpm < self.target_rpm:
            if self._phase_t >= SPINUP_TIMEOUT_S:  # the bus went off or the motor could not keep up
                self.raise_fault("flywheel_stuck")
                self.set_mode(MODE_SETTLED)
                self.end_motion(Completion.BLOCKED)
            return
        self.rpm = 0.0  # braked: the momentum went into the launch
        self.target_rpm = 0.0
        rover = self.world.rover
        held = rover.anchored or rover.anchor_depth_m > PINNING_DEPTH_M or rover.drill_depth_m > PINNING_DEPTH_M
        if self._fail_next or held:
            self._fail_next = False
            _LOGGER.warning("hopper: launch failed at t=%.1f (anchored %s)", self.world.t, rover.anchored)
            self.raise_fault("failed_hop", 0.0, Severity.WARNING)
            self.set_mode(MODE_SETTLED)
            self.end_motion(Completion.BLOCKED)
            return
        heading, speed, elevation = self._command
        if self._runaway_m_s is not None:
            speed, self._runaway_m_s = self._runaway_m_s, None
        body = self.world.body
        self.hop = launch(rover.x_m, rover.y_m, heading, speed, elevation, body.escape_speed_m_s, self.rng)
        self._phase_t = 0.0
        self.set_mode(MODE_BALLISTIC)

    def _fly(self, dt: float) -> None:
        hop = self.hop
        assert hop is not None
        g = self.world.body.gravity_m_s2
        step(hop, dt, g, self.rng)
        if hop.phase == "settling":
            self.set_mode(MODE_SETTLING)
        elif hop.phase != "settled":
            self.set_mode(MODE_BOUNCING if hop.bounces else MODE_BALLISTIC)
        rover = self.world.rover
        rover.x_m, rover.y_m = hop.x_m, hop.y_m
        rover.speed_m_s = hop.ground_speed_m_s
        _, speed, elevation = self._command
        arc_s = time_of_flight_s(speed, elevation, g)
        climbing = hop.vz > 0.0 and hop.bounces == 0 and self._phase_t > CLIMB_LIMIT_ARCS * arc_s
        if hop.z_m > 0.0 and (climbing or self._phase_t > LOST_AFTER_ARCS * arc_s):
            _LOGGER.error("hopper: no contact %.0f s after launch; the rover is off the surface", self._phase_t)
            self.set_mode(MODE_LOST)
            self.raise_fault("lost", hop.z_m, Severity.CRITICAL)
            self.end_motion(Completion.FAULT)
            self.hop = None
            return
        if hop.phase == "settled":
            self._settle(hop)

    def _settle(self, hop: Hop) -> None:
        self.hop = None
        self.hops += 1
        self.last_hop_m = hop.distance_m
        dx, dy = hop.x_m - hop.start[0], hop.y_m - hop.start[1]
        err = ESTIMATE_ERROR * hop.distance_m
        self.estimate[0] += dx + self.rng.gauss(0.0, err)
        self.estimate[1] += dy + self.rng.gauss(0.0, err)
        self.world.rover.speed_m_s = 0.0
        self.set_mode(MODE_SETTLED)
        hard = hop.peak_impact_m_s > TUMBLE_IMPACT_M_S
        if self._tumble_next or (hard and self.rng.random() < TUMBLE_CHANCE):
            self._tumble_next = False
            self.upright = False
            self.raise_fault("tumbled", float(hop.bounces))
            self.end_motion(Completion.FAULT)
            return
        self.end_motion(Completion.OK)

    # ------------------------------------------------------------------------------ telemetry
    def power_W(self) -> float:
        """Electronics while hopping; the flywheel motor while spinning up; the righting pulses."""
        if not self.bus_powered or self.mode == MODE_SETTLED:
            return 0.0
        return (
            STANDBY_W
            + (SPINUP_W if self.mode == MODE_SPINNING else 0.0)
            + (RIGHTING_W if self.mode == MODE_RIGHTING else 0.0)
        )

    def telemetry_values(self) -> dict[str, float]:
        """The ICD telemetry fields."""
        hop = self.hop
        lost = self.mode == MODE_LOST
        return {
            "flywheel_rpm": self.sensed("flywheel_rpm", self.rpm),
            "x_m": self.estimate[0],
            "y_m": self.estimate[1],
            "height_m": hop.z_m if hop is not None else (math.inf if lost else 0.0),
            "speed_m_s": hop.ground_speed_m_s if hop is not None else 0.0,
            "hop_m": self.last_hop_m,
            "power_W": self.power_W(),
            "hops": self.hops & 0xFFFF,
            "bounces": min(hop.bounces if hop is not None else 0, 255),
            "upright": 1 if self.upright else 0,
        }

    def self_test_failures(self) -> int:
        """The built-in test pulses the flywheel motor while at rest: a seized rotor does not turn, and
        ``flywheel_stuck`` is latched (bit 0 of the result, an active fault, reports it)."""
        if self._stuck and self.mode == MODE_SETTLED and self.bus_powered:
            self.raise_fault("flywheel_stuck")
        return super().self_test_failures()

    def cmd_clear_fault(self) -> None:
        """Clear latched faults whose cause is gone: ``tumbled`` stays until righted, ``lost`` for good,
        ``flywheel_stuck`` while the flywheel is seized."""
        keep = 0
        if not self.upright:
            keep |= self.spec.fault_bit("tumbled")
        if self.mode == MODE_LOST:
            keep |= self.spec.fault_bit("lost")
        if self._stuck:
            keep |= self.spec.fault_bit("flywheel_stuck")
        self.faults &= keep
        if not self.all_faults:
            self.emit_event(EventId.FAULT_CLEARED, Severity.INFO, 0, 0.0)

    # ------------------------------------------------------------------------------- faults
    @declares()
    def inject_failed_hop(self) -> None:
        """The next launch slips: the flywheel brakes but the rover does not leave the ground."""
        self._fail_next = True

    @declares()
    def inject_bad_landing(self) -> None:
        """The next hop ends tumbled (on its side, ``upright`` needed)."""
        self._tumble_next = True

    @declares(speed_m_s=number(0.0, unit="m/s"))
    def inject_runaway_launch(self, speed_m_s: float = 0.3) -> None:
        """The next launch goes off at ``speed_m_s`` whatever was commanded (the flywheel brake's controller
        failed); above the escape speed the rover is lost."""
        self._runaway_m_s = float(speed_m_s)

    @declares(stuck=flag())
    def inject_stuck_flywheel(self, stuck: bool = True) -> None:
        """Seize the flywheel (``stuck=false`` releases it)."""
        self._stuck = bool(stuck)


FIRMWARE = HopperFirmware
