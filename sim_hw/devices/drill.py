"""Emulator of the rotary-percussive auger drill (ICD device ``drill``).

The firmware part — commands, modes, faults, motion completion — lives here; the physics (loads, motor,
feed, bit heating, cuttings and the volatiles sensor) is :mod:`sim_hw.physics.drilling`. Each step the
drill writes what it does to the rover: the weight on bit pushing the body up (``drill_thrust_N``), the
reaction torque, the bit depth and the vibration it shakes the body with.

Modes: 0 idle, 1 spinning, 2 feeding, 3 retracting, 4 stalled. ``feed`` needs the auger turning
(NACK BAD_STATE otherwise). Latched faults refuse actuator commands with DEVICE_FAULT by the fault gates of
``hal/icd.toml`` (checked by :class:`~sim_hw.firmware.Firmware`); ``retract`` is the way out of a stall, an
over-temperature or an over-current and is accepted with those latched (not with ``deadman`` or ``sensor``).
Faults to inject: :meth:`DrillFirmware.inject_stall`, :meth:`DrillFirmware.inject_jam`,
:meth:`DrillFirmware.inject_overtemp`; sensor symptoms come from the base class.
"""

from __future__ import annotations

import logging

from hal.icd import DRILL, Completion
from hal.protocol import AckResult, NackCode
from sim_hw.errors import Nack
from sim_hw.fault_params import declares, flag, number
from sim_hw.firmware import Firmware
from sim_hw.physics.drilling import (
    FEED_BLOCKED,
    FEED_DONE,
    OVERCURRENT,
    OVERTEMP,
    RETRACT_BLOCKED,
    RETRACT_DONE,
    STALL,
    DrillEnvironment,
    DrillMechanics,
)
from sim_hw.physics.icy_ground import default_layer
from sim_hw.terrain import Layer, Site
from sim_hw.world_view import WorldView

_LOGGER = logging.getLogger(__name__)

MODE_IDLE, MODE_SPINNING, MODE_FEEDING, MODE_RETRACTING, MODE_STALLED = range(5)
#: Hysteresis below the over-temperature limit before the fault may be cleared, K.
OVERTEMP_CLEAR_MARGIN_K = 10.0
#: Hottest bit ``overtemp`` may set, K: well past any limit, below where the steel would glow (a typo, not a test).
OVERTEMP_HIGHEST_K = 1000.0
#: Volatiles sensor noise: absolute floor and share of the reading (engineering assumption).
VOLATILES_SIGMA = 0.003
VOLATILES_REL_SIGMA = 0.05


class DrillFirmware(Firmware):
    """The drill: rotation, feed, retract and hammer on top of :class:`DrillMechanics`."""

    spec = DRILL

    def __init__(self, world: WorldView, *, serial_number: int, seed: int = 0) -> None:
        body = world.body
        self._fallback = default_layer(body.surface_temp_K)
        self._site: Site | None = None
        self._site_key: tuple[float, float] | None = None
        self.mechanics = DrillMechanics(
            ambient_K=self._ambient_for(world.site, body.surface_temp_K),
            ambient_pressure_Pa=body.ambient_pressure_Pa,
            body=body.name,
        )
        self.env = DrillEnvironment(layer_at=self._layer_at, gravity_m_s2=body.gravity_m_s2)
        #: Cuttings put into the extractor hopper / spilled at the collar since boot, kg.
        self.delivered_kg = 0.0
        self.spilled_kg = 0.0
        super().__init__(world, serial_number=serial_number, seed=seed)

    # ------------------------------------------------------------------------------------ ground
    @staticmethod
    def _ambient_for(site: Site | None, surface_temp_K: float) -> float:
        return site.layers[0].temperature_K if site is not None else surface_temp_K

    def _current_site(self) -> Site | None:
        rover = self.world.rover
        key = (rover.x_m, rover.y_m)
        if key != self._site_key:
            if self._site_key is not None:
                self.mechanics.forget_hole()
            self._site_key = key
            self._site = self.world.site
        return self._site

    def _layer_at(self, depth_m: float) -> Layer:
        site = self._site
        return site.layer_at(depth_m) if site is not None else self._fallback

    # ----------------------------------------------------------------------------------- commands
    def _require_power(self) -> None:
        if not self.bus_powered:
            raise Nack(NackCode.BAD_STATE)

    def cmd_spin(self, rpm: float) -> None:
        """Set the auger speed (rpm); 0 stops rotation and ends a feed (a feed needs rotation)."""
        m = self.mechanics
        if rpm > 0.0:
            self._require_power()
            m.rpm_cmd = rpm
            if self.mode == MODE_IDLE:
                self.set_mode(MODE_SPINNING)
            return
        m.rpm_cmd = 0.0
        if self.motion == "feed":
            m.feeding = False
            self.end_motion(Completion.STOPPED)
        if self.mode in (MODE_SPINNING, MODE_FEEDING):
            self.set_mode(MODE_IDLE)

    def cmd_feed(self, depth_m: float, rate_m_s: float) -> AckResult:
        """Advance the bit to ``depth_m`` at ``rate_m_s``; completes at the depth, BLOCKED on a stall or
        when the bit cannot reach the depth (refusal, or the rover pushed off the ground)."""
        self._require_power()
        if self.motion == "retract":
            raise Nack(NackCode.BUSY)
        if self.mechanics.rpm_cmd <= 0.0:
            raise Nack(NackCode.BAD_STATE)  # pressing a still auger into the ground would jam it
        self.mechanics.start_feed(depth_m, rate_m_s)
        return self.begin_motion("feed", MODE_FEEDING)

    def cmd_retract(self, rate_m_s: float) -> AckResult:
        """Withdraw the bit to depth 0 at ``rate_m_s``; the cuttings are dropped when it arrives."""
        self._require_power()
        self.mechanics.start_retract(rate_m_s)
        return self.begin_motion("retract", MODE_RETRACTING)

    def cmd_percussion(self, on: int) -> None:
        """Hammer on (1) or off (0)."""
        if on:
            self._require_power()
        self.mechanics.percussion = bool(on)

    def cmd_clear_fault(self) -> None:
        """Clear latched faults whose cause is gone: a stall stays while the auger is jammed, an
        over-temperature until the bit has cooled 10 K below the limit."""
        m = self.mechanics
        keep = 0
        if m.jammed:
            keep |= self.spec.fault_bit("stall")
        if m.bit_temp_K > m.design.overtemp_K - OVERTEMP_CLEAR_MARGIN_K:
            keep |= self.spec.fault_bit("overtemp")
        self.faults &= self._forced_faults | keep
        if not self.faults & self.spec.fault_bit("stall"):
            m.stalled = False
            if self.mode == MODE_STALLED:
                self.set_mode(MODE_IDLE)
        if not self.all_faults:
            super().cmd_clear_fault()

    # -------------------------------------------------------------------------------------- physics
    def step(self, dt: float) -> None:
        """Advance the drill by ``dt`` seconds and write its reaction on the rover."""
        m = self.mechanics
        rover = self.world.rover
        site = self._current_site()
        env = self.env
        powered = self.bus_powered
        env.powered = powered
        env.rover_mass_kg = rover.mass_kg
        env.body_lift_m = rover.body_lift_m
        env.body_velocity_m_s = rover.body_velocity_m_s
        env.holding_N = rover.anchor_holding_N
        env.ambient_K = site.layers[0].temperature_K if site is not None else self.world.body.surface_temp_K
        if not powered and (m.active or self.motion is not None):
            m.halt()
            self.end_motion(Completion.FAULT)
            if self.mode != MODE_STALLED:
                self.set_mode(MODE_IDLE)
        carried = (m.cuttings_kg, m.cuttings_water_kg)
        outcome = m.step(dt, env)
        if outcome:
            if outcome & RETRACT_DONE:
                self._deliver_cuttings(*carried)
            self._on_outcome(outcome)
        rover.drill_thrust_N = m.thrust_N
        rover.drill_torque_Nm = m.torque_Nm
        rover.drill_depth_m = m.depth_m
        rover.vibration_m_s2 = m.vibration_m_s2

    def _deliver_cuttings(self, mass_kg: float, water_kg: float) -> None:
        """The auger's cuttings leave its flights at the collar, where a chute feeds the extractor hopper
        (the deep-flute auger of the Planetary Volatiles Extractor concept, Zacny et al. 2012): they go into
        the extractor if it is there with its lid open, and are spilled otherwise."""
        if mass_kg <= 0.0:
            return
        extractor = self.world.devices.get("extractor")
        accept = getattr(extractor, "accept_regolith", None)
        if accept is None or getattr(extractor, "lid_position", 0.0) > 0.0:
            # no hopper, or its lid is shut (a probe hole's cuttings are not meant for it): beside the collar
            self.spilled_kg += mass_kg
            _LOGGER.debug("drill: %.3f kg of cuttings left beside the collar", mass_kg)
            return
        site = self._current_site()
        temperature = site.layers[-1].temperature_K if site is not None else self.world.body.surface_temp_K
        taken = accept(mass_kg, min(max(water_kg / mass_kg, 0.0), 1.0), temperature)
        self.delivered_kg += taken
        self.spilled_kg += mass_kg - taken

    def _on_outcome(self, outcome: int) -> None:
        m = self.mechanics
        if outcome & STALL:
            self.raise_fault("stall", m.torque_Nm)
            m.halt()
            self.end_motion(Completion.BLOCKED)
            self.set_mode(MODE_STALLED)
        if outcome & OVERCURRENT:
            self.raise_fault("overcurrent", m.current_A)
            m.halt()
            self.end_motion(Completion.FAULT)
        if outcome & OVERTEMP:
            self.raise_fault("overtemp", m.bit_temp_K)
            m.halt()
            self.end_motion(Completion.FAULT)
        if outcome & (FEED_DONE | RETRACT_DONE):
            self.end_motion(Completion.OK)
        if outcome & (FEED_BLOCKED | RETRACT_BLOCKED):
            self.end_motion(Completion.BLOCKED)
        if self.mode != MODE_STALLED and self.motion is None:
            self.set_mode(MODE_SPINNING if m.rpm_cmd > 0.0 else MODE_IDLE)

    def stop_actuators(self) -> None:
        """Rotation, hammer and both axes off."""
        self.mechanics.halt()

    def is_actuating(self) -> bool:
        """True while rotation, the hammer or an axis is commanded (a spindle coasting down after a stop is
        not: nothing is powered)."""
        return self.mechanics.active

    def power_W(self) -> float:
        """Electrical power drawn now, W."""
        return self.mechanics.power_W

    def telemetry_values(self) -> dict[str, float]:
        """Every drill telemetry field (ICD units); sensors carry their noise."""
        m = self.mechanics
        gauss = self.rng.gauss
        ice = m.sensed_ice_fraction
        if self.bus_powered:
            reading = ice + gauss(0.0, VOLATILES_SIGMA + VOLATILES_REL_SIGMA * ice)
            reading = reading if reading > 0.0 else 0.0
        else:
            reading = 0.0
        torque = m.torque_Nm + gauss(0.0, 0.02) if m.torque_Nm > 0.0 else 0.0
        current = m.current_A + gauss(0.0, 0.02) if m.current_A > 0.0 else 0.0
        return {
            "rpm": m.rpm,
            "depth_m": m.depth_m,
            "feed_rate_m_s": m.feed_speed_m_s,
            "torque_Nm": torque,
            "current_A": current,
            "power_W": m.power_W,
            "bit_temp_K": m.bit_temp_K + gauss(0.0, 0.1),
            "wob_N": m.wob_N + gauss(0.0, 0.5) if m.wob_N > 0.0 else 0.0,
            "cuttings_kg": m.cuttings_kg,
            "volatiles_ice_fraction": reading,
            "percussion": 1 if m.percussion else 0,
        }

    # ----------------------------------------------------------------------------------- test hooks
    @declares(active=flag(), extra_Nm=number(0.0, unit="N m", above=True, none_ok=True))
    def inject_stall(self, active: bool = True, extra_Nm: float | None = None) -> None:
        """Force the torque demand above the motor's limit (by ``extra_Nm``, default 1.5 x the limit) while
        the auger turns: the next turning step stalls. ``active=False`` removes it."""
        limit = self.mechanics.design.torque_limit_Nm
        self.mechanics.forced_torque_Nm = (1.5 * limit if extra_Nm is None else extra_Nm) if active else 0.0

    @declares(active=flag())
    def inject_jam(self, active: bool = True) -> None:
        """Seize the auger: it cannot turn (rpm 0, a current spike, a stall fault on every attempt) and
        cannot be withdrawn, until ``active=False``."""
        self.mechanics.jammed = active

    @declares(kelvin=number(0.0, OVERTEMP_HIGHEST_K, unit="K", above=True, none_ok=True))
    def inject_overtemp(self, kelvin: float | None = None) -> None:
        """Heat the bit to ``kelvin`` (default 25 K above the limit): an over-temperature fault follows at
        the next step and the bit then cools by the physics."""
        m = self.mechanics
        m.bit_temp_K = m.design.overtemp_K + 25.0 if kelvin is None else float(kelvin)


FIRMWARE = DrillFirmware
