"""Emulator of the four screw anchors (ICD device ``anchor``) and of the rover body's uplift.

Commands: ``deploy`` screws the selected anchors in at a speed set by the installation torque (which the
ground's strength sets); an anchor that reaches the drive's torque limit is seated at refusal (accepted
if at least 5 cm and 30 % of the commanded depth in, as helical-pile practice accepts a torque criterion);
short of that, in ice-cemented ground, its rotary-percussive pilot tip hammers on until it is.
``retract`` unscrews them; ``preload`` tensions deployed anchors, and an anchor asked for more than its
pull-out capacity slips. Physics: :mod:`sim_hw.physics.anchoring`.

Every step the anchors write ``rover.anchor_holding_N`` (total pull-out capacity) and ``rover.anchored``
(all four deployed, preloaded to at least 90 % of the command, nothing slipping), and move the body when
the drill's thrust exceeds the rover's weight plus that capacity: ``rover.body_velocity_m_s`` and
``rover.body_lift_m`` (the IMU feels it). Modes: 0 idle, 1 deploying, 2 retracting, 3 preloading,
4 holding (after a complete preload, until the anchors move or slip; passive, so the dead-man leaves it).
Fault to inject: :meth:`AnchorFirmware.inject_slip`.
"""

from __future__ import annotations

import logging
import math
import random

from hal.icd import ANCHOR, ANCHOR_COUNT, Completion
from hal.protocol import AckResult, NackCode
from sim_hw.errors import Nack
from sim_hw.fault_params import declares, flag
from sim_hw.firmware import Firmware
from sim_hw.physics.anchoring import (
    AnchorSet,
    advance_speed_m_s,
    anchor_drive_power_W,
    body_step,
    installation_torque_Nm,
    pilot_speed_m_s,
)
from sim_hw.physics.icy_ground import default_layer
from sim_hw.terrain import Layer, Site
from sim_hw.world_view import WorldView

_LOGGER = logging.getLogger(__name__)

MODE_IDLE, MODE_DEPLOYING, MODE_RETRACTING, MODE_PRELOADING, MODE_HOLDING = range(5)
#: Anchored when every preload is at least this share of its command.
ANCHORED_PRELOAD_SHARE = 0.9
#: Seated at refusal if at least this share of the commanded depth is in.
SEATED_SHARE = 0.3
#: Lift above which the body counts as pushed off the ground, m.
LIFT_SLIP_M = 1.0e-4
#: Preload load-cell noise, a fraction of the reading (1 sigma; assumption).
LOAD_CELL_NOISE = 0.002
_DEPTH_FIELDS = tuple(f"depth{i}_m" for i in range(ANCHOR_COUNT))
_PRELOAD_FIELDS = tuple(f"preload{i}_N" for i in range(ANCHOR_COUNT))
#: Spread of the local ground strength from anchor to anchor (uniform +/-, engineering assumption).
ANCHOR_SPREAD = 0.1


class AnchorFirmware(Firmware):
    """Four screw anchors on top of :class:`~sim_hw.physics.anchoring.AnchorSet`."""

    spec = ANCHOR

    def __init__(self, world: WorldView, *, serial_number: int, seed: int = 0) -> None:
        super().__init__(world, serial_number=serial_number, seed=seed)
        spread_rng = random.Random(seed * 104729 + 0x5A)
        spread = tuple(1.0 + ANCHOR_SPREAD * (2.0 * spread_rng.random() - 1.0) for _ in range(ANCHOR_COUNT))
        self.anchors = AnchorSet(
            ANCHOR_COUNT, ambient_pressure_Pa=world.body.ambient_pressure_Pa, spread=spread, body=world.body.name
        )
        self._fallback: tuple[Layer, ...] = (default_layer(world.body.surface_temp_K),)
        self._site_key: tuple[float, float] | None = None
        self._layers: tuple[Layer, ...] = self._fallback
        self._op_mask = 0
        self._op = ""
        self._op_list: list[int] = []
        self._slip_mask = 0
        self._preload_slip = 0
        self._forced_slip = False
        self._speed = [0.0] * ANCHOR_COUNT
        self._power_W = 1.0
        self._current_A = 0.0

    # ------------------------------------------------------------------------------------ helpers
    def _column(self) -> tuple[Layer, ...]:
        rover = self.world.rover
        key = (rover.x_m, rover.y_m)
        if key != self._site_key:
            self._site_key = key
            site: Site | None = self.world.site
            self._layers = site.layers if site is not None else self._fallback
        return self._layers

    def _selected(self, mask: int) -> list[int]:
        return [i for i in range(ANCHOR_COUNT) if mask >> i & 1]

    def _require_power(self) -> None:
        if not self.bus_powered:
            raise Nack(NackCode.BAD_STATE)

    @property
    def deployed_mask(self) -> int:
        """Bit i set when anchor i is fully deployed (at its depth or seated at refusal)."""
        a = self.anchors
        return sum(1 << i for i in range(ANCHOR_COUNT) if a.deployed(i))

    # ----------------------------------------------------------------------------------- commands
    def cmd_deploy(self, mask: int, depth_m: float) -> AckResult:
        """Screw the selected anchors in to ``depth_m``."""
        self._require_power()
        a = self.anchors
        for i in self._selected(mask):
            a.target_m[i] = depth_m
            a.seated[i] = abs(a.extension_m[i] - depth_m) <= 1e-4
            a.refused[i] = a.piloting[i] = False
        self._start("deploy", mask)
        return self.begin_motion("deploy", MODE_DEPLOYING)

    def cmd_retract(self, mask: int) -> AckResult:
        """Unscrew the selected anchors; their preload is released."""
        self._require_power()
        a = self.anchors
        for i in self._selected(mask):
            a.preload_N[i] = a.preload_cmd_N[i] = 0.0
            a.seated[i] = False
            a.refused[i] = a.piloting[i] = False
            a.target_m[i] = 0.0
        self._preload_slip &= ~mask
        self._start("retract", mask)
        return self.begin_motion("retract", MODE_RETRACTING)

    def cmd_preload(self, mask: int, force_N: float) -> AckResult:
        """Tension the selected anchors to ``force_N`` each; every one of them must be in the ground."""
        self._require_power()
        a = self.anchors
        if any(a.embedment(i) <= 0.0 for i in self._selected(mask)):
            raise Nack(NackCode.BAD_STATE)
        for i in self._selected(mask):
            a.preload_cmd_N[i] = force_N
        self._preload_slip &= ~mask
        self._start("preload", mask)
        return self.begin_motion("preload", MODE_PRELOADING)

    def _start(self, op: str, mask: int) -> None:
        self._op, self._op_mask, self._op_list = op, mask, self._selected(mask)

    # -------------------------------------------------------------------------------------- physics
    def step(self, dt: float) -> None:
        """Advance anchor motions, their capacity and the body; write the coupling fields on the rover."""
        rover = self.world.rover
        a = self.anchors
        layers = self._column()
        gravity = self.world.body.gravity_m_s2
        if self._op:
            if not self.bus_powered:
                self._finish(Completion.FAULT)
            else:
                a.update_capacity(layers, gravity)
                self._advance(dt)
        holding = a.update_capacity(layers, gravity)
        if self._forced_slip:
            holding = 0.0
        body = a.body
        thrust = rover.drill_thrust_N
        if thrust <= 0.0 and body.velocity_m_s == 0.0 and body.lift_m == 0.0 and not self._forced_slip:
            self._slip_mask = self._preload_slip  # at rest: nothing to integrate
        else:
            weight = rover.mass_kg * gravity
            slipping = body_step(body, dt, thrust, weight, holding, rover.mass_kg)
            if body.lift_m > 0.0:
                for i in range(ANCHOR_COUNT):  # anchors pulled out with the body lose their tension
                    if a.preload_N[i] > a.capacity_N[i]:
                        a.preload_N[i] = a.capacity_N[i]
            self._slip_mask = self._preload_slip
            if slipping or body.lift_m > LIFT_SLIP_M or self._forced_slip:
                self._slip_mask |= sum(1 << i for i in range(ANCHOR_COUNT) if a.extension_m[i] > 0.0)
                self.raise_fault("slip", thrust)
                if self.mode == MODE_HOLDING:
                    self.set_mode(MODE_IDLE)
        rover.anchor_holding_N = holding
        rover.body_lift_m = body.lift_m
        rover.body_velocity_m_s = body.velocity_m_s
        rover.anchored = self._anchored()
        rover.anchor_depth_m = max(a.extension_m)

    def _anchored(self) -> bool:
        a = self.anchors
        if self._slip_mask or self._forced_slip:
            return False
        for i in range(ANCHOR_COUNT):
            cmd = a.preload_cmd_N[i]
            if not a.deployed(i) or cmd <= 0.0 or a.preload_N[i] < ANCHORED_PRELOAD_SHARE * cmd:
                return False
        return True

    def _advance(self, dt: float) -> None:
        a = self.anchors
        d = a.design
        selected = self._op_list
        current = power = 0.0
        done = True
        if self._op == "deploy":
            for i in selected:
                self._speed[i] = 0.0
                if a.seated[i] or a.refused[i]:
                    continue
                if a.extension_m[i] > a.target_m[i]:  # shallower than now: back out to the depth
                    done = False
                    a.extension_m[i] = max(a.target_m[i], a.extension_m[i] - d.retract_speed_m_s * dt)
                    a.seated[i] = a.extension_m[i] <= a.target_m[i]
                    continue
                torque = installation_torque_Nm(a.capacity_N[i], d)
                speed = advance_speed_m_s(torque, d)
                hammer_W = 0.0
                if speed < d.refusal_speed_share * d.full_speed_m_s:
                    if a.embedment(i) >= max(d.min_seated_m, SEATED_SHARE * a.target_m[i]):
                        a.seated[i] = True
                        continue
                    # short of seating: the percussive pilot hammers on through the cemented ground
                    speed = pilot_speed_m_s(a.tip_ucs_Pa(i), d)
                    if speed < d.pilot_min_speed_m_s:
                        a.refused[i] = True
                        continue
                    a.piloting[i] = True
                    torque = d.pilot_torque_Nm
                    hammer_W = d.pilot_electrical_W
                a.torque_Nm[i] = torque
                done = False
                a.extension_m[i] = min(a.target_m[i], a.extension_m[i] + speed * dt)
                if a.extension_m[i] >= a.target_m[i] - 1e-6:
                    a.seated[i] = True
                self._speed[i] = speed
                i_a, p_w = anchor_drive_power_W(torque, speed, d)
                current += i_a
                power += p_w + hammer_W
            if done:
                ok = all(a.seated[i] for i in selected)
                self._finish(Completion.OK if ok else Completion.BLOCKED)
        elif self._op == "retract":
            for i in selected:
                if a.extension_m[i] > 0.0:
                    done = False
                    a.extension_m[i] = max(0.0, a.extension_m[i] - d.retract_speed_m_s * dt)
                    torque = 0.3 * min(installation_torque_Nm(a.capacity_N[i], d), d.torque_limit_Nm)
                    a.torque_Nm[i] = torque
                    i_a, p_w = anchor_drive_power_W(torque, d.retract_speed_m_s, d)
                    current += i_a
                    power += p_w
                else:
                    a.torque_Nm[i] = 0.0
            if done:
                self._finish(Completion.OK)
        elif self._op == "preload":
            step_n = d.preload_rate_N_s * dt
            for i in selected:
                cmd = a.preload_cmd_N[i]
                p = a.preload_N[i]
                if abs(cmd - p) <= 1e-6:
                    continue
                p = min(cmd, p + step_n) if cmd > p else max(cmd, p - step_n)
                if p > a.capacity_N[i]:  # more tension than the ground holds: the anchor slips
                    a.preload_N[i] = a.capacity_N[i]
                    self._preload_slip |= 1 << i
                    continue
                done = False
                a.preload_N[i] = p
                torque = p * d.helix_pitch_m / (2.0 * math.pi * d.motor_efficiency)
                i_a, p_w = anchor_drive_power_W(torque, 0.0, d)
                current += i_a
                power += p_w
            if done:
                if self._preload_slip & self._op_mask:
                    # the measured tension the ground gave way at (its holding), not the one commanded
                    slipped = [a.preload_N[i] for i in selected if self._preload_slip >> i & 1]
                    self.raise_fault("slip", max(slipped, default=0.0))
                    self._finish(Completion.BLOCKED)
                else:
                    self._finish(Completion.OK, MODE_HOLDING)
        self._current_A = current
        self._power_W = d.idle_W + power

    def _finish(self, completion: Completion, mode: int = MODE_IDLE) -> None:
        self._op, self._op_mask = "", 0
        self._speed = [0.0] * ANCHOR_COUNT
        self._current_A = 0.0
        self._power_W = self.anchors.design.idle_W
        self.end_motion(completion)
        self.set_mode(mode)

    def stop_actuators(self) -> None:
        """Stop every anchor drive where it is (screws hold their position and tension)."""
        if self._op:
            self._op, self._op_mask = "", 0
            self._current_A = 0.0
            self._power_W = self.anchors.design.idle_W

    def max_step_s(self, fine_s: float) -> float:
        """``fine_s`` while an anchor drive turns or the body is loaded, lifted or moving (its dynamics are
        integrated explicitly); the quiet step at rest."""
        body = self.anchors.body
        if self.world.rover.drill_thrust_N > 0.0 or body.velocity_m_s != 0.0 or body.lift_m != 0.0:
            return fine_s
        return super().max_step_s(fine_s)

    def is_actuating(self) -> bool:
        """True while an anchor drive turns."""
        return bool(self._op)

    def power_W(self) -> float:
        """Electrical power drawn now, W."""
        return self._power_W if self.bus_powered else 0.0

    def cmd_clear_fault(self) -> None:
        """Clear latched faults; a slip stays while the body is still moving or an injected slip lasts."""
        if self.anchors.body.velocity_m_s > 0.0 or self._forced_slip:
            self.faults &= self._forced_faults | self.spec.fault_bit("slip")
            return
        self._preload_slip = 0
        self._slip_mask = 0
        super().cmd_clear_fault()

    def telemetry_values(self) -> dict[str, float]:
        """Every anchor telemetry field (ICD units); the preload load cells carry 0.2 % of their reading as
        noise (0.5 N at a lunar 250 N preload; a fraction of a newton on an asteroid)."""
        a = self.anchors
        gauss = self.rng.gauss
        values: dict[str, float] = dict(zip(_DEPTH_FIELDS, a.extension_m, strict=True))
        for name, p in zip(_PRELOAD_FIELDS, a.preload_N, strict=True):
            values[name] = p + gauss(0.0, LOAD_CELL_NOISE * p) if p > 0.0 else 0.0
        values["holding_N"] = self.world.rover.anchor_holding_N
        values["deployed_mask"] = self.deployed_mask
        values["slip_mask"] = self._slip_mask
        return values

    # ----------------------------------------------------------------------------------- test hooks
    @declares(active=flag())
    def inject_slip(self, active: bool = True) -> None:
        """The anchors lose their grip (holding 0, slip flags and fault) until ``active=False``."""
        self._forced_slip = active


FIRMWARE = AnchorFirmware
