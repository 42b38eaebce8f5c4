"""The mission state machine: prospect → anchor → extract → process, cycle after cycle.

States and transitions are declared as tables (:data:`STATES`, :func:`transition_table`) and run by
``transitions``' hierarchical machine. Each leaf state has an *activity*: a generator method
``_do_<leaf>`` that issues device commands through :class:`~flight.interlocks.Interlocks` (the only path
to the actuators) and yields once per tick while it waits. When an activity returns, it names the
trigger to fire and the reason, and the machine moves on. Nothing here sleeps or uses a timer: time comes
from the clock, checked on every tick, so a three-hour extraction runs in seconds on a virtual clock.

Operator controls: ``hold`` (freeze; ``resume`` re-enters the exact leaf, whose activity continues from
the hardware's present state), ``abort`` (orderly retract, then SAFE), ``fault`` (straight to SAFE), and
``recover`` (SAFE → IDLE, explicit). The emergency stop is not here: it lives in the interlocks and only
*tells* the machine afterwards.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from transitions.core import MachineError
from transitions.extensions import HierarchicalMachine

from flight.commands import ArgSpec, command
from flight.errors import CommandRejected, FlightError
from flight.events import EventLog
from flight.interlocks import ALL_ANCHORS, Interlocks
from flight.mission_config import MissionConfig
from flight.telemetry import TelemetryTable
from hal.device import Motion
from hal.errors import HalError
from hal.icd import POWER_BUSES, Completion

_LOGGER = logging.getLogger(__name__)

Activity = Generator[None, None, tuple[str, str]]

#: The state tree. Leaves are what the machine is ever "in"; parents group them.
STATES: list[Any] = [
    "idle",
    {"name": "prospect", "children": ["drive", "probe", "rank", "travel"]},
    {"name": "anchor", "children": ["deploy", "preload", "verify"]},
    {"name": "extract", "children": ["drill", "scoop"]},
    {"name": "process", "children": ["seal", "heat", "vent", "dump", "transfer"]},
    "stow",
    "hold",
    "aborting",
    "safe",
]

#: Leaves in which the rover works; HOLD and ABORT apply to them.
OPERATIONAL = (
    "prospect_drive",
    "prospect_probe",
    "prospect_rank",
    "prospect_travel",
    "anchor_deploy",
    "anchor_preload",
    "anchor_verify",
    "extract_drill",
    "extract_scoop",
    "process_seal",
    "process_heat",
    "process_vent",
    "process_dump",
    "process_transfer",
    "stow",
)

TOP_LEVEL = ("idle", "prospect", "anchor", "extract", "process", "stow", "hold", "aborting", "safe")


def transition_table(held_is: Callable[[str], bool] | None = None) -> list[dict[str, Any]]:
    """The machine's transitions. ``held_is(leaf)`` guards ``resume`` back into ``leaf``."""
    table: list[dict[str, Any]] = [
        {"trigger": "start", "source": "idle", "dest": "prospect_drive", "conditions": "will_prospect"},
        {"trigger": "start", "source": "idle", "dest": "anchor_deploy"},
        {"trigger": "reached", "source": "prospect_drive", "dest": "prospect_probe"},
        {"trigger": "probed", "source": "prospect_probe", "dest": "prospect_drive", "conditions": "more_sites"},
        {"trigger": "probed", "source": "prospect_probe", "dest": "prospect_rank"},
        {"trigger": "ranked", "source": "prospect_rank", "dest": "prospect_travel"},
        {"trigger": "arrived", "source": "prospect_travel", "dest": "anchor_deploy"},
        {"trigger": "deployed", "source": "anchor_deploy", "dest": "anchor_preload"},
        {"trigger": "preloaded", "source": "anchor_preload", "dest": "anchor_verify"},
        {"trigger": "verified", "source": "anchor_verify", "dest": "extract_drill"},
        {"trigger": "retry", "source": "anchor_verify", "dest": "anchor_deploy"},
        {"trigger": "relocate", "source": "anchor_verify", "dest": "prospect_travel"},
        {"trigger": "drilled", "source": "extract_drill", "dest": "extract_scoop"},
        {"trigger": "exhausted", "source": "extract_drill", "dest": "prospect_travel"},
        {"trigger": "hopper_full", "source": "extract_scoop", "dest": "process_seal"},
        {"trigger": "sealed", "source": "process_seal", "dest": "process_heat"},
        {"trigger": "heated", "source": "process_heat", "dest": "process_vent"},
        {"trigger": "vented", "source": "process_vent", "dest": "process_dump"},
        {"trigger": "dumped", "source": "process_dump", "dest": "process_transfer"},
        {"trigger": "cycle_done", "source": "process_transfer", "dest": "extract_drill", "conditions": "more_cycles"},
        {"trigger": "cycle_done", "source": "process_transfer", "dest": "stow"},
        {"trigger": "stowed", "source": "stow", "dest": "idle"},
        {"trigger": "hold", "source": list(OPERATIONAL), "dest": "hold", "before": "remember_held"},
        {"trigger": "abort", "source": [*OPERATIONAL, "hold"], "dest": "aborting"},
        {"trigger": "aborted", "source": "aborting", "dest": "safe"},
        {"trigger": "fault", "source": [s for s in _leaves() if s != "safe"], "dest": "safe"},
        {"trigger": "recover", "source": "safe", "dest": "idle"},
    ]
    for leaf in OPERATIONAL:
        entry: dict[str, Any] = {"trigger": "resume", "source": "hold", "dest": leaf}
        if held_is is not None:
            entry["conditions"] = functools.partial(held_is, leaf)
        table.append(entry)
    return table


def _leaves() -> list[str]:
    out = []
    for state in STATES:
        if isinstance(state, str):
            out.append(state)
        else:
            out.extend(f"{state['name']}_{child}" for child in state["children"])
    return out


class MissionFailure(FlightError):
    """An activity could not go on; the machine goes to SAFE with this reason."""


@dataclass
class MissionProgress:
    """What the mission has done and where it is; persisted on every transition."""

    cycle: int = 0
    cycles_target: int = 1
    site: int = -1
    probe_index: int = 0
    scores: dict[int, float] = field(default_factory=dict)
    probes: dict[int, dict[str, float]] = field(default_factory=dict)
    tried_sites: list[int] = field(default_factory=list)
    pose: list[float] = field(default_factory=list)
    hole_site: int = -1
    hole_offset: int = 0
    hole_m: float = 0.0
    anchor_attempts: int = 0
    water_kg: float = 0.0
    regolith_kg: float = 0.0
    energy_Wh: float = 0.0
    held: str = ""
    visited: list[str] = field(default_factory=lambda: ["idle"])


LedgerSink = Callable[[int, int, float, float, float], None]


class Mission:
    """The autonomous mining mission over :class:`~flight.interlocks.Interlocks`."""

    def __init__(
        self,
        io: Interlocks,
        table: TelemetryTable,
        events: EventLog,
        config: MissionConfig | Any,
        *,
        ledger: LedgerSink | None = None,
        on_change: Callable[[Mission], None] | None = None,
    ) -> None:
        self.io = io
        self.table = table
        self.events = events
        self.clock = events.clock
        self.config = config
        self.progress = MissionProgress(cycles_target=config.cycles)
        self._ledger = ledger
        self._on_change = on_change
        self._activity: Activity | None = None
        self._last_odometry: tuple[float, float] | None = None
        self._reason = "start-up"
        self.state = "idle"
        self.machine = HierarchicalMachine(
            model=self,
            states=STATES,
            transitions=transition_table(self._held_is),
            initial="idle",
            auto_transitions=False,
            send_event=True,
            after_state_change="_entered",
            ignore_invalid_triggers=False,
        )

    # --------------------------------------------------------------------------- conditions
    def will_prospect(self, _event: Any = None) -> bool:
        """Prospecting is configured and there are sites to probe."""
        return self.config.prospect and len(self.config.sites) > 1

    def more_sites(self, _event: Any = None) -> bool:
        """Candidate sites remain to be probed."""
        return self.progress.probe_index < len(self.config.sites)

    def more_cycles(self, _event: Any = None) -> bool:
        """Extraction cycles remain."""
        return self.progress.cycle < self.progress.cycles_target

    def remember_held(self, _event: Any) -> None:
        """Keep the leaf HOLD came from, to resume it exactly."""
        self.progress.held = self.state

    def _held_is(self, leaf: str, _event: Any = None) -> bool:
        return self.progress.held == leaf

    # --------------------------------------------------------------------------------- core
    @property
    def top_state(self) -> str:
        """The top-level state (``extract`` for ``extract_drill``)."""
        return self.state.split("_", 1)[0]

    def fire(self, trigger: str, reason: str) -> bool:
        """Fire ``trigger`` with ``reason``; returns False (with an event) if it is not valid now."""
        try:
            return bool(getattr(self, trigger)(reason=reason))
        except MachineError:
            self.events.warning("mission", "invalid_trigger", f"{trigger} is not possible in {self.state}: {reason}")
            return False

    def _entered(self, event: Any) -> None:
        previous = event.transition.source
        reason = event.kwargs.get("reason", "")
        self._reason = reason
        top = self.top_state
        if not self.progress.visited or self.progress.visited[-1] != top:
            self.progress.visited.append(top)
        self.events.info(
            "mission", "transition", f"{previous} → {self.state}: {reason}", origin=previous, dest=self.state
        )
        self._activity = None
        starter = getattr(self, f"_do_{self.state}", None)
        if starter is not None:
            self._activity = starter()
        elif self.state == "safe":
            self._make_safe(reason)
        elif self.state == "hold":
            self._freeze()
        if self._on_change is not None:
            self._on_change(self)

    def tick(self, _now: float = 0.0) -> None:
        """Advance the current activity once (the executive calls this at the mission rate)."""
        activity = self._activity
        if activity is None:
            return
        try:
            next(activity)
        except StopIteration as done:
            self._activity = None
            trigger, reason = done.value
            self.fire(trigger, reason)
        except (MissionFailure, CommandRejected, HalError) as exc:
            self._activity = None
            reason = getattr(exc, "reason", "") or type(exc).__name__
            self.events.error("mission", "activity_failed", f"{self.state}: {exc}")
            if self.state == "aborting":
                self.fire("aborted", f"abort incomplete: {exc}")
            else:
                self.fire("fault", f"{self.state} failed: {reason}: {exc}")

    # ------------------------------------------------------------------------------ commands
    @command(
        "mission.start",
        "Start the mining campaign from IDLE: prospect, anchor, then extraction cycles.",
        ArgSpec("cycles", "int", "", 1, 10_000, description="extraction cycles before stowing", default=0),
        hazardous=True,
        hazard="The rover drives, anchors, drills and heats on its own until the cycles are done.",
        resource="mission",
    )
    def cmd_start(self, cycles: int) -> None:
        """Start from IDLE."""
        if self.state != "idle":
            raise CommandRejected("bad_state", f"mission.start needs IDLE, the mission is in {self.state}")
        self.progress.cycles_target = self.progress.cycle + (cycles or self.config.cycles)
        self.fire("start", f"operator start: {cycles or self.config.cycles} cycle(s)")

    @command("mission.hold", "Freeze the mission where it is; motion stops, the heater holds its set point.")
    def cmd_hold(self) -> None:
        """HOLD."""
        if self.state not in OPERATIONAL:
            raise CommandRejected("bad_state", f"nothing to hold in {self.state}")
        self.fire("hold", "operator hold")

    @command(
        "mission.resume",
        "Resume the exact sub-state the mission was held in.",
        hazardous=True,
        hazard="Autonomous motion and heating resume.",
    )
    def cmd_resume(self) -> None:
        """RESUME."""
        if self.state != "hold":
            raise CommandRejected("bad_state", f"mission.resume needs HOLD, the mission is in {self.state}")
        self.fire("resume", f"operator resume into {self.progress.held}")

    @command("mission.abort", "Orderly retract: heater off, drill out, scoop stowed, then SAFE.")
    def cmd_abort(self) -> None:
        """ABORT."""
        if self.state not in (*OPERATIONAL, "hold"):
            raise CommandRejected("bad_state", f"nothing to abort in {self.state}")
        self.fire("abort", "operator abort")

    @command(
        "mission.recover",
        "Leave SAFE for IDLE once the operator has checked the rover.",
        hazardous=True,
        hazard="The rover can be commanded again; make sure the cause of SAFE is understood.",
    )
    def cmd_recover(self) -> None:
        """SAFE → IDLE."""
        if self.state != "safe":
            raise CommandRejected("bad_state", f"mission.recover needs SAFE, the mission is in {self.state}")
        if self.io.estopped:
            raise CommandRejected("interlock:estop", "release the emergency stop first (estop.reset)")
        self.fire("recover", "operator recovery")

    # ----------------------------------------------------------------------- fault responses
    def respond(self, response: str, reason: str) -> None:
        """Carry out a fault-protection response: ``hold``, ``safe``, ``retract`` or ``abort``."""
        if response == "hold" and self.state in OPERATIONAL:
            self.fire("hold", reason)
        elif response == "safe" and self.state != "safe":
            self.fire("fault", reason)
        elif response in ("retract", "abort") and self.state in (*OPERATIONAL, "hold"):
            self.fire("abort", reason)

    # ------------------------------------------------------------------------------ helpers
    def _get(self, channel: str, default: Any = 0.0) -> Any:
        value = self.table.get(channel, default)
        return default if value is None else value

    def _now(self) -> float:
        return self.clock.monotonic()

    def _motion(
        self, device: str, name: str, *, on_tick: Callable[[], None] | None = None, **args: Any
    ) -> Generator[None, None, Completion]:
        """Issue a command through the interlocks and wait (yielding) until its motion ends; ``on_tick`` runs
        on every tick while it does."""
        result = self.io.command(device, name, **args)
        if not isinstance(result, Motion):
            return Completion.OK
        deadline = self._now() + self.config.motion_timeout_s
        while not result.done:
            if result.lost_reason is not None:
                raise MissionFailure(f"{device}.{name}: link lost during the motion ({result.lost_reason})")
            if self._now() > deadline:
                self.io.command(device, "stop")
                raise MissionFailure(f"{device}.{name} did not finish within {self.config.motion_timeout_s:g} s")
            yield
            if on_tick is not None:
                on_tick()
        assert result.completion is not None
        return result.completion

    def _require(self, device: str, name: str, **args: Any) -> Generator[None, None, None]:
        completion = yield from self._motion(device, name, **args)
        if completion != Completion.OK:
            raise MissionFailure(f"{device}.{name} ended {completion.name}")

    def _wait(self, seconds: float) -> Generator[None, None, None]:
        end = self._now() + seconds
        while self._now() < end:
            yield

    def _odometry(self) -> tuple[float, float]:
        return self._get("drive.x_m"), self._get("drive.y_m")

    def _pose(self) -> list[float]:
        """The rover's estimated pose [x m, y m, heading rad] in the odometry frame; it starts from odometry
        (exact at boot)."""
        pose = self.progress.pose
        if len(pose) != 3:
            pose[:] = [*self._odometry(), self._get("drive.heading_rad")]
        return pose

    def _track_pose(self) -> None:
        """Advance the pose estimate by one tick: heading by the IMU's yaw rate (the gyro sees the turn the
        wheels mis-measure on slopes and soft soil), position by the odometry step times (1 - measured
        slip) along that heading (wheel odometry counts the rims' travel; the slip estimate, visual odometry
        on a real rover, says how much of it the body made good)."""
        pose = self._pose()
        now_t = self._now()
        odo = self._odometry()
        last_t, last = self._last_odometry if self._last_odometry is not None else (now_t, odo)
        self._last_odometry = (now_t, odo)
        dt = max(0.0, now_t - last_t)
        pose[2] = math.remainder(pose[2] + float(self._get("imu.gz")) * dt, math.tau)
        step = math.hypot(odo[0] - last[0], odo[1] - last[1])
        if step <= 0.0:
            return
        slip = min(max(float(self._get("drive.slip")), 0.0), 1.0)
        forward = 1.0 if float(self._get("drive.v_m_s")) >= 0.0 else -1.0
        pose[0] += forward * step * (1.0 - slip) * math.cos(pose[2])
        pose[1] += forward * step * (1.0 - slip) * math.sin(pose[2])

    def _drive_to(self, x: float, y: float) -> Generator[None, None, None]:
        """Drive to (``x``, ``y``) in legs, each aimed from the pose estimate (:meth:`_track_pose`), until
        within ``arrive_tolerance_m``."""
        cfg = self.config
        self._pose()
        pose = self._pose()
        if math.hypot(x - pose[0], y - pose[1]) < cfg.arrive_tolerance_m:
            return
        if "imu" in self.io.rig:  # at rest: measure the gyro's bias, which dead reckoning integrates
            yield from self._motion("imu", "calibrate", duration_s=cfg.gyro_calibration_s)
        for _ in range(cfg.approach_legs):
            pose = self._pose()
            dx, dy = x - pose[0], y - pose[1]
            distance = math.hypot(dx, dy)
            if distance < cfg.arrive_tolerance_m:
                return
            turn = math.remainder(math.atan2(dy, dx) - pose[2], math.tau)
            if abs(turn) > 0.02:
                yield from self._tracked("turn", angle_rad=turn, rate_rad_s=0.2)
                pose = self._pose()
                dx, dy = x - pose[0], y - pose[1]
                distance = math.hypot(dx, dy)
            yield from self._tracked("move", distance_m=min(distance, 100.0), speed_m_s=cfg.drive_speed_m_s)
        pose = self._pose()
        miss = math.hypot(x - pose[0], y - pose[1])
        if miss >= cfg.arrive_tolerance_m:
            self.events.warning("mission", "approach", f"{miss:.2f} m short of ({x:.1f}, {y:.1f}) m after the legs")

    def _tracked(self, name: str, **args: Any) -> Generator[None, None, None]:
        """A drive motion with the pose estimate tracked on every tick, and for a moment after it ends."""
        self._last_odometry = None
        self._track_pose()
        completion = yield from self._motion("drive", name, on_tick=self._track_pose, **args)
        settle = self._now() + 0.5
        while self._now() < settle:  # the last odometry, slip and gyro samples of the motion
            yield
            self._track_pose()
        if completion != Completion.OK:
            raise MissionFailure(f"drive.{name} ended {completion.name}")

    def _preload_N(self) -> float:
        """Preload per anchor: a share of the holding capacity the anchors report after deployment (their
        installation torque measures the ground's strength), at least what the drill interlock counts as
        anchored, never above 90 % of the capacity nor ``anchor_preload_N``."""
        cfg = self.config
        per_anchor = self._get("anchor.holding_N") / 4.0
        floor = 1.05 * self.io.settings.min_preload_N  # what the drill interlock counts as anchored
        want = max(floor, cfg.anchor_preload_share * per_anchor)
        return max(1.0, min(want, 0.9 * per_anchor, cfg.anchor_preload_N))

    def _deployed_all(self) -> bool:
        return int(self._get("anchor.deployed_mask", 0)) & ALL_ANCHORS == ALL_ANCHORS

    def _try_anchor(self) -> Generator[None, None, bool]:
        """Deploy and preload every anchor; True if the rover is anchored afterwards.

        A deploy that ends BLOCKED in strong ground may still hold (anchors seated at refusal), so the
        preload decides; it is chosen from the capacity the anchors report. A slip or failed preload leaves
        the rover unanchored (faults cleared).
        """
        cfg = self.config
        deployed = yield from self._motion("anchor", "deploy", mask=ALL_ANCHORS, depth_m=cfg.anchor_depth_m)
        yield from self._wait(0.5)
        if deployed in (Completion.OK, Completion.BLOCKED) and self._deployed_all():
            yield from self._motion("anchor", "preload", mask=ALL_ANCHORS, force_N=self._preload_N())
        yield from self._wait(0.5)
        if self.io.anchored:
            return True
        self._recover("anchor")
        return False

    def _anchor_out(self) -> Generator[None, None, None]:
        """Withdraw every anchor, recovering the anchor's bus and faults between up to three attempts."""
        for attempt in range(3):
            if not self._get("anchor.deployed_mask", 0) and all(
                self._get(f"anchor.depth{i}_m") <= 0.005 for i in range(4)
            ):
                return
            if attempt:
                self._recover("anchor")
                yield from self._wait(1.0)
            completion = yield from self._motion("anchor", "retract", mask=ALL_ANCHORS)
            if completion == Completion.OK:
                return
            self.events.warning("mission", "anchor_retract", f"anchor retract ended {completion.name}")
        raise MissionFailure("anchors could not be withdrawn after 3 attempts")

    def _recover(self, device: str) -> None:
        """Switch ``device``'s bus back on if a fuse tripped, and clear latched faults."""
        if "power" in self.io.rig and not self.io.bus_on(device):
            self.events.warning("mission", "bus_restore", f"{device} bus was off; switching it back on")
            self.io.command("power", "bus", index=POWER_BUSES.index(device), on=1)
            self.io.rig.device("power").clear_fault()
        self.io.rig.device(device).clear_fault()

    def _drill_out(self) -> Generator[None, None, None]:
        """Withdraw the drill and wait until the auger has stopped turning."""
        if self._get("drill.depth_m") > 0.001:
            yield from self._motion("drill", "retract", rate_m_s=0.01)
        self.io.command("drill", "spin", rpm=0.0)
        deadline = self._now() + 30.0
        while self._get("drill.rpm") > self.io.settings.drill_turning_rpm and self._now() < deadline:
            yield

    # ---------------------------------------------------------------------------- activities
    def _do_prospect_drive(self) -> Activity:
        site = self.config.sites[self.progress.probe_index]
        yield from self._drive_to(site.x_m, site.y_m)
        return "reached", f"at candidate site {self.progress.probe_index}"

    def _do_prospect_probe(self) -> Activity:
        cfg = self.config
        index = self.progress.probe_index
        self.progress.probe_index += 1
        anchored = yield from self._try_anchor()
        if not anchored:
            # A site the rover cannot anchor on cannot be drilled either: rank it last.
            yield from self._anchor_out()
            self.progress.scores[index] = -math.inf
            self.events.warning("mission", "probe", f"site {index}: cannot anchor; not workable")
            return "probed", f"site {index} not workable"
        if self._get("extractor.lid", 0) != 1:
            # probe cuttings are not a batch: with the lid shut they fall beside the collar
            yield from self._require("extractor", "lid", sealed=1)
        self.io.command("drill", "spin", rpm=cfg.drill_rpm)
        yield from self._wait(2.0)
        idle_torque = self._get("drill.torque_Nm")
        feed = self.io.command("drill", "feed", depth_m=cfg.probe_depth_m, rate_m_s=cfg.feed_rate_m_s)
        samples: list[tuple[float, float]] = []  # (depth m, sensed water fraction)
        energy_J = torque_max = 0.0
        last = self._now()
        while isinstance(feed, Motion) and not feed.done:
            yield
            now = self._now()
            torque = self._get("drill.torque_Nm")
            omega = self._get("drill.rpm") * math.tau / 60.0
            energy_J += max(0.0, torque - idle_torque) * omega * (now - last)  # cutting work at the bit
            last = now
            torque_max = max(torque_max, torque)
            samples.append((self._get("drill.depth_m"), self._get("drill.volatiles_ice_fraction")))
        stalled = isinstance(feed, Motion) and feed.completion != Completion.OK
        mass_kg = self._get("drill.cuttings_kg")
        yield from self._drill_out()
        if stalled:
            self.io.rig.device("drill").clear_fault()
        yield from self._anchor_out()
        self.progress.probes[index] = probe = self._assess(samples, energy_J, mass_kg, torque_max)
        score = self.progress.scores[index] = probe["kg_per_kWh"]
        self.events.info(
            "mission",
            "probe",
            f"site {index}: water {probe['ice']:.4f} (surface {probe['ice_top']:.4f}), "
            f"drilling {probe['drill_J_kg']:.0f} J/kg ({'cemented' if probe['cemented'] else 'loose'}), "
            f"peak torque {torque_max:.1f} N*m, {'stalled, ' if stalled else ''}"
            f"expected {score:.4f} kg water per kWh",
            site=index,
            ice=probe["ice"],
            torque=torque_max,
        )
        return "probed", f"site {index} probed"

    def _assess(
        self, samples: list[tuple[float, float]], energy_J: float, mass_kg: float, torque_max: float
    ) -> dict[str, float]:
        """What a probe says about a site: water fraction of the deeper half and of the top (the volatiles
        sensor's median, robust to its noise), drilling energy per kg, whether the ground is cemented, and
        the expected water per energy of mining it (kg per kWh: water over drilling plus heating energy)."""
        cfg = self.config
        deep = [ice for depth, ice in samples if depth >= 0.5 * cfg.probe_depth_m]
        top = [ice for depth, ice in samples if 0.0 < depth <= 2.0 * cfg.scoop_depth_m]
        ice = _median(deep)
        drill_J_kg = energy_J / mass_kg if mass_kg > 1e-6 else math.inf
        cemented = drill_J_kg > cfg.cemented_J_kg
        per_kg_J = (drill_J_kg if math.isfinite(drill_J_kg) else 1.0e9) + cfg.process_J_kg
        return {
            "ice": ice,
            "ice_top": _median(top),
            "drill_J_kg": drill_J_kg if math.isfinite(drill_J_kg) else -1.0,
            "cemented": 1.0 if cemented else 0.0,
            "torque_max": torque_max,
            "kg_per_kWh": ice / per_kg_J * 3.6e6,
        }

    def _do_prospect_rank(self) -> Activity:
        ranked = sorted(self.progress.scores, key=lambda i: self.progress.scores[i], reverse=True)
        if not ranked or self.progress.scores[ranked[0]] == -math.inf:
            raise MissionFailure("no candidate site is workable (none could be anchored and drilled)")
        self.progress.site = ranked[0]
        self.progress.tried_sites = []
        yield
        return "ranked", f"best site {ranked[0]} (ranking {ranked})"

    def _do_prospect_travel(self) -> Activity:
        if self.progress.site < 0:
            self.progress.site = 0
        progress = self.progress
        if self.config.sites:
            site = self.config.sites[progress.site]
            # a fresh hole beside the worked-out ones: alternate sides, hole_spacing_m apart, across the site
            offset = progress.hole_offset if progress.hole_site == progress.site else 0
            side = (offset + 1) // 2 * self.config.hole_spacing_m * (1.0 if offset % 2 else -1.0)
            yield from self._drive_to(site.x_m, site.y_m + side)
        return "arrived", f"at site {progress.site}"

    def _do_anchor_deploy(self) -> Activity:
        if self.progress.site < 0:
            self.progress.site = 0
        completion = yield from self._motion("anchor", "deploy", mask=ALL_ANCHORS, depth_m=self.config.anchor_depth_m)
        if completion not in (Completion.OK, Completion.BLOCKED):
            raise MissionFailure(f"anchor.deploy ended {completion.name}")
        yield from self._wait(0.5)
        return "deployed", f"anchors in ({completion.name.lower()}), holding {self._get('anchor.holding_N'):.0f} N"

    def _do_anchor_preload(self) -> Activity:
        if not self._deployed_all():
            return "preloaded", "preload skipped: not every anchor is seated"
        force = self._preload_N()
        completion = yield from self._motion("anchor", "preload", mask=ALL_ANCHORS, force_N=force)
        return "preloaded", f"preload to {force:.0f} N per anchor ended {completion.name.lower()}"

    def _do_anchor_verify(self) -> Activity:
        yield from self._wait(2.0)
        ax, ay, az = (self._get(f"imu.{a}") for a in ("ax", "ay", "az"))
        rate = math.sqrt(sum(self._get(f"imu.{g}") ** 2 for g in ("gx", "gy", "gz")))
        g = math.sqrt(ax * ax + ay * ay + az * az)
        tilt = math.degrees(math.atan2(math.hypot(ax, ay), az)) if g > 0.05 else 0.0  # no tilt reading in microgravity
        problems = []
        if not self.io.anchored:
            problems.append("anchors not holding")
        if tilt > self.config.max_tilt_deg:
            problems.append(f"tilt {tilt:.1f} deg > {self.config.max_tilt_deg:g}")
        if rate > self.config.max_rate_rad_s:
            problems.append(f"body rate {rate:.3f} rad/s > {self.config.max_rate_rad_s:g}")
        if not problems:
            self.progress.anchor_attempts = 0
            return "verified", f"anchored: tilt {tilt:.1f} deg, rate {rate:.4f} rad/s"
        self.progress.anchor_attempts += 1
        yield from self._anchor_out()
        self._recover("anchor")  # a slip fault latched by this attempt must not fail the next one
        if self.progress.anchor_attempts < self.config.anchor_attempts:
            return "retry", f"anchoring attempt {self.progress.anchor_attempts} failed: {', '.join(problems)}"
        self.progress.anchor_attempts = 0
        self.progress.tried_sites.append(self.progress.site)
        remaining = [
            i
            for i in sorted(self.progress.scores, key=lambda i: -self.progress.scores[i])
            if i not in self.progress.tried_sites
        ]
        if not remaining:
            raise MissionFailure(f"no site could be anchored ({', '.join(problems)})")
        self.progress.site = remaining[0]
        return "relocate", f"cannot anchor ({', '.join(problems)}); relocating to site {remaining[0]}"

    def _site_probe(self) -> dict[str, float]:
        return self.progress.probes.get(self.progress.site, {})

    def _do_extract_drill(self) -> Activity:
        """Drill in bites, each retract carrying its cuttings up the auger into the hopper, until the hopper
        holds ``hopper_target_kg``, the hole is ``drill_depth_m`` deeper than at the cycle's start, or it is
        as deep as the drill reaches. Feed is torque-limited
        (halved above ``torque_limit_Nm``); a stall retracts, clears and retries at half the rate, and after
        ``stall_retries`` retries drilling is given up and reported."""
        cfg = self.config
        progress = self.progress
        deepest = float(self.io.rig.device("drill").limits.get("max_depth_m", 3.0))
        if progress.hole_site != progress.site:
            progress.hole_site, progress.hole_m, progress.hole_offset = progress.site, 0.0, 0
        if progress.hole_m >= deepest - 0.01:
            return (yield from self._next_hole(deepest))
        if self._get("extractor.lid", 0) != 0:
            yield from self._require("extractor", "lid", sealed=0)
        hammer = bool(self._site_probe().get("cemented", 0.0))
        rate = cfg.feed_rate_m_s
        stalls = bites = 0
        outcome = ""
        floor = min(progress.hole_m + cfg.drill_depth_m, deepest)  # this cycle drills at most drill_depth_m
        while self._get("extractor.loaded_mass_kg") < cfg.hopper_target_kg:
            if progress.hole_m >= deepest - 0.01:
                outcome = f"hole at its deepest ({progress.hole_m:.2f} m)"
                break
            if progress.hole_m >= floor - 0.001:
                outcome = f"drilled the cycle's {cfg.drill_depth_m:g} m"
                break
            goal = min(progress.hole_m + cfg.bite_m, floor)
            self.io.command("drill", "spin", rpm=cfg.drill_rpm)
            if hammer:
                self.io.command("drill", "percussion", on=1)
            completion, rate = yield from self._feed(goal, rate)
            progress.hole_m = max(progress.hole_m, self._get("drill.depth_m"))
            yield from self._drill_out()  # the retract delivers the bite's cuttings to the hopper
            yield from self._wait(1.0)
            if completion == Completion.OK:
                bites += 1
                continue
            if completion == Completion.BLOCKED and not self._get("drill.faults", 0):
                outcome = f"refusal at {progress.hole_m:.2f} m"  # the bit cannot advance: the hole ends here
                progress.hole_m = deepest
                break
            stalls += 1
            self.events.warning("mission", "drill_stall", f"drill stopped ({completion.name}), stall {stalls}")
            self.io.rig.device("drill").clear_fault()
            if stalls > cfg.stall_retries:
                self.events.error("mission", "drilling_abandoned", f"gave up drilling after {stalls} stalls")
                outcome = f"abandoned after {stalls} stalls"
                break
            rate = max(rate / 2, 0.0001)
        if hammer:
            self.io.command("drill", "percussion", on=0)
        loaded = self._get("extractor.loaded_mass_kg")
        summary = f"{bites} bite(s), hole {progress.hole_m:.2f} m, hopper {loaded:.2f} kg"
        return "drilled", f"{summary}; {outcome}" if outcome else summary

    def _next_hole(self, deepest: float) -> Generator[None, None, tuple[str, str]]:
        """The hole is as deep as the drill reaches: withdraw, and move to a fresh hole at this site, or to
        the next best site once ``holes_per_site`` holes are worked out."""
        progress = self.progress
        yield from self._drill_out()
        yield from self._anchor_out()
        progress.hole_offset += 1
        progress.hole_m = 0.0
        if progress.hole_offset < self.config.holes_per_site:
            return "exhausted", f"hole worked out at {deepest:.2f} m; moving to hole {progress.hole_offset + 1}"
        ranked = [i for i in sorted(progress.scores, key=lambda i: -progress.scores[i]) if progress.scores[i] > 0]
        later = ranked[ranked.index(progress.site) + 1 :] if progress.site in ranked else []
        if not later:
            raise MissionFailure(f"site {progress.site} is worked out and no other site holds water")
        progress.site, progress.hole_offset, progress.hole_site = later[0], 0, later[0]
        return "exhausted", f"site worked out ({self.config.holes_per_site} holes); moving to site {later[0]}"

    def _feed(self, goal_m: float, rate: float) -> Generator[None, None, tuple[Completion, float]]:
        """Feed the turning drill to ``goal_m``, halving the rate while the torque is above the limit;
        returns how the feed ended and the rate it ended at. In very strong ground a bite takes long: the
        watchdog is on progress (``motion_timeout_s`` without 5 mm of advance), not on the whole feed."""
        cfg = self.config
        feed = self.io.command("drill", "feed", depth_m=goal_m, rate_m_s=rate)
        deadline = self._now() + cfg.motion_timeout_s
        mark = self._get("drill.depth_m")
        while isinstance(feed, Motion) and not feed.done:
            if feed.lost_reason is not None:
                raise MissionFailure(f"drill.feed: link lost during the motion ({feed.lost_reason})")
            depth = self._get("drill.depth_m")
            if depth >= mark + 0.005:
                mark, deadline = depth, self._now() + cfg.motion_timeout_s
            if self._now() > deadline:
                self.io.command("drill", "stop")
                raise MissionFailure(f"drill.feed made no progress for {cfg.motion_timeout_s:g} s")
            if self._get("drill.torque_Nm") > cfg.torque_limit_Nm and rate > 2 * 0.0001:
                rate = max(rate / 2, 0.0001)
                self.events.info(
                    "mission", "feed_slowed", f"torque above {cfg.torque_limit_Nm:g} N*m: feed {rate:g} m/s"
                )
                feed = self.io.command("drill", "feed", depth_m=goal_m, rate_m_s=rate)
            yield
        if not isinstance(feed, Motion):
            return Completion.OK, rate
        assert feed.completion is not None
        return feed.completion, rate

    def _do_extract_scoop(self) -> Activity:
        """Top the hopper up with the scoop where the ground is loose and icy near the surface (dry or
        ice-cemented ground is not scooped: dry fill only costs heater energy, cemented ground overloads
        the scoop)."""
        cfg = self.config
        probe = self._site_probe()
        loaded = self._get("extractor.loaded_mass_kg")
        if loaded >= cfg.hopper_target_kg:
            return "hopper_full", f"{loaded:.2f} kg loaded by the drill"
        loose = not probe.get("cemented", 0.0)
        icy_top = probe.get("ice_top", 0.0) >= cfg.scoop_min_ice_fraction
        if probe and not (loose and icy_top):
            if loaded <= 0.0:
                raise MissionFailure(f"nothing excavated at site {self.progress.site} (drill gave nothing)")
            why = "cemented" if not loose else "dry near the surface"
            return "hopper_full", f"{loaded:.2f} kg loaded by the drill; not scooping ({why} ground)"
        if self._get("extractor.lid", 0) != 0:
            yield from self._require("extractor", "lid", sealed=0)
        passes = 0
        while self._get("extractor.loaded_mass_kg") < cfg.hopper_target_kg:
            if passes >= cfg.scoop_passes_max:
                if self._get("extractor.loaded_mass_kg") > 0:
                    break
                raise MissionFailure(f"hopper still empty after {passes} scoop passes")
            passes += 1
            yield from self._require("scoop", "dig", depth_m=cfg.scoop_depth_m)
            yield from self._require("scoop", "lift")
            yield from self._require("scoop", "dump")
            yield from self._wait(1.0)
        loaded = self._get("extractor.loaded_mass_kg")
        return "hopper_full", f"{loaded:.2f} kg loaded ({passes} scoop passes)"

    def _do_process_seal(self) -> Activity:
        yield from self._require("extractor", "lid", sealed=1)
        return "sealed", "lid sealed"

    def _do_process_heat(self) -> Activity:
        """Heat under temperature control until the water yield rate (over 5-minute windows) has fallen
        below ``yield_stop_kg_h`` — once the yield has risen above it or the chamber has reached its set
        point, so a cold batch still warming up toward sublimation is not stopped before it yields."""
        cfg = self.config
        self.io.command("extractor", "heater_setpoint", kelvin=cfg.heater_setpoint_K)
        start = self._now()
        window_t, window_w = start, self._get("extractor.water_kg")
        rate_kg_h = math.inf
        yielding = False
        while True:
            yield
            now = self._now()
            if now - window_t >= 300.0:
                water = self._get("extractor.water_kg")
                rate_kg_h = (water - window_w) / (now - window_t) * 3600.0
                window_t, window_w = now, water
                hot = self._get("extractor.chamber_temp_K") >= cfg.heater_setpoint_K - 10.0
                yielding = yielding or rate_kg_h >= cfg.yield_stop_kg_h or hot
            if now - start >= cfg.heat_min_s and yielding and rate_kg_h < cfg.yield_stop_kg_h:
                reason = f"yield rate {rate_kg_h:.4f} kg/h below {cfg.yield_stop_kg_h:g} kg/h"
                break
            if now - start >= cfg.heat_max_s:
                reason = f"heating time limit {cfg.heat_max_s:g} s reached"
                break
        self.io.command("extractor", "heater_setpoint", kelvin=0.0)
        self.io.command("extractor", "heater_power", watts=0.0)
        return "heated", reason

    def _do_process_vent(self) -> Activity:
        self.io.command("extractor", "vent", open=1)
        yield from self._wait(self.config.vent_s)
        self.io.command("extractor", "vent", open=0)
        return "vented", f"vented for {self.config.vent_s:g} s"

    def _do_process_dump(self) -> Activity:
        self._batch_regolith_kg = self._get("extractor.loaded_mass_kg")
        self._batch_energy_Wh = self._get("extractor.heater_energy_J") / 3600.0
        yield from self._require("extractor", "lid", sealed=0)
        yield from self._require("extractor", "dump")
        return "dumped", f"{self._batch_regolith_kg:.2f} kg of tailings dumped"

    def _do_process_transfer(self) -> Activity:
        before = self._get("extractor.tank_kg")
        yield from self._require("extractor", "transfer_water")
        yield from self._wait(0.5)
        water = max(0.0, self._get("extractor.tank_kg") - before)
        regolith = getattr(self, "_batch_regolith_kg", 0.0)
        energy = getattr(self, "_batch_energy_Wh", 0.0)
        progress = self.progress
        progress.cycle += 1
        progress.water_kg += water
        progress.regolith_kg += regolith
        progress.energy_Wh += energy
        if self._ledger is not None:
            self._ledger(progress.cycle, progress.site, water, regolith, energy)
        self.events.info(
            "mission",
            "cycle_complete",
            f"cycle {progress.cycle}: {water:.3f} kg water from {regolith:.2f} kg regolith, {energy:.0f} Wh",
            cycle=progress.cycle,
            water_kg=water,
            regolith_kg=regolith,
            energy_Wh=energy,
        )
        return "cycle_done", f"cycle {progress.cycle} of {progress.cycles_target} complete"

    def _do_stow(self) -> Activity:
        yield from self._drill_out()
        yield from self._require("scoop", "move", angle_rad=1.5, speed_rad_s=0.3)
        yield from self._anchor_out()
        return "stowed", "stowed"

    def _do_aborting(self) -> Activity:
        self._heater_off()
        for device in ("drive", "scoop", "anchor"):
            self._quiet_stop(device)
        yield from self._drill_out()
        return "aborted", f"orderly retract done ({self._reason})"

    def _make_safe(self, reason: str) -> None:
        self._heater_off()
        for device in ("drill", "scoop", "drive", "anchor"):
            self._quiet_stop(device)
        self.events.critical("mission", "safe", f"SAFE: {reason}")

    def _freeze(self) -> None:
        for device in ("drill", "scoop", "drive", "anchor"):
            self._quiet_stop(device)

    def _heater_off(self) -> None:
        try:
            self.io.command("extractor", "heater_setpoint", kelvin=0.0)
            self.io.command("extractor", "heater_power", watts=0.0)
        except (HalError, CommandRejected, KeyError) as exc:
            self.events.error("mission", "heater_off_failed", str(exc))

    def _quiet_stop(self, device: str) -> None:
        if device not in self.io.rig:
            return
        try:
            self.io.command(device, "stop")
        except (HalError, CommandRejected) as exc:
            self.events.error("mission", "stop_failed", f"{device}: {exc}")

    # -------------------------------------------------------------------------- persistence
    def snapshot(self) -> dict[str, Any]:
        """Everything needed to pick the mission up after a restart (JSON-serialisable)."""
        progress = dataclasses.asdict(self.progress)
        progress["scores"] = {str(k): v for k, v in self.progress.scores.items()}
        progress["probes"] = {str(k): v for k, v in self.progress.probes.items()}
        return {"state": self.state, "progress": progress}

    def restore(self, snapshot: dict[str, Any], policy: str) -> None:
        """Continue from a snapshot taken before a restart. The hardware is made safe first; then the
        mission holds in the leaf it was in (``policy`` ``hold``) or resumes it (``resume``)."""
        progress = dict(snapshot.get("progress", {}))
        progress["scores"] = {int(k): v for k, v in progress.get("scores", {}).items()}
        progress["probes"] = {int(k): v for k, v in progress.get("probes", {}).items()}
        known = {f.name for f in dataclasses.fields(MissionProgress)}
        self.progress = MissionProgress(**{k: v for k, v in progress.items() if k in known})
        state = snapshot.get("state", "idle")
        self._heater_off()
        self._freeze()
        if state in OPERATIONAL or state == "hold":
            leaf = state if state in OPERATIONAL else self.progress.held
            if policy == "resume" and leaf in OPERATIONAL:
                self.machine.set_state(leaf)
                self._activity = getattr(self, f"_do_{leaf}")()
                message = f"restart: hardware made safe, resuming {leaf}"
            else:
                self.progress.held = leaf
                self.machine.set_state("hold")
                message = f"restart: hardware made safe, holding in {leaf} (mission.resume to continue)"
        elif state in ("aborting", "safe"):
            self.machine.set_state("safe")
            message = "restart: hardware made safe, in SAFE as before (mission.recover to leave it)"
        else:
            message = "restart: hardware made safe, idle"
        self.events.warning("mission", "restored", message, state=self.state)
        if self._on_change is not None:
            self._on_change(self)

    # ---------------------------------------------------------------------------- telemetry
    def telemetry(self) -> dict[str, Any]:
        """Mission channels."""
        p = self.progress
        return {
            "mission.state": self.state,
            "mission.top_state": self.top_state,
            "mission.cycle": p.cycle,
            "mission.cycles_target": p.cycles_target,
            "mission.site": p.site,
            "mission.water_kg": p.water_kg,
            "mission.regolith_kg": p.regolith_kg,
            "mission.energy_Wh": p.energy_Wh,
            "mission.held": p.held,
        }


def _median(values: list[float]) -> float:
    """Median of ``values`` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else 0.5 * (ordered[mid - 1] + ordered[mid])


def export_diagram(title: str = "isru mission") -> str:
    """The mission state diagram as Mermaid text, generated from :data:`STATES` and the transition table."""
    from transitions.extensions.diagrams import HierarchicalGraphMachine

    class _Model:
        def will_prospect(self, *_: Any) -> bool:
            return True

        more_sites = more_cycles = will_prospect

        def remember_held(self, *_: Any) -> None:
            return None

    machine = HierarchicalGraphMachine(
        model=_Model(),
        states=STATES,
        transitions=transition_table(),
        initial="idle",
        auto_transitions=False,
        graph_engine="mermaid",
        title=title,
        show_conditions=True,
    )
    return machine.get_graph().draw(None)
