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
    tried_sites: list[int] = field(default_factory=list)
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

    def _motion(self, device: str, name: str, **args: Any) -> Generator[None, None, Completion]:
        """Issue a command through the interlocks and wait (yielding) until its motion ends."""
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

    def _drive_to(self, x: float, y: float) -> Generator[None, None, None]:
        dx, dy = x - self._get("drive.x_m"), y - self._get("drive.y_m")
        distance = math.hypot(dx, dy)
        if distance < 0.05:
            return
        bearing = math.atan2(dy, dx)
        turn = math.remainder(bearing - self._get("drive.heading_rad"), math.tau)
        if abs(turn) > 0.02:
            yield from self._require("drive", "turn", angle_rad=turn, rate_rad_s=0.2)
        yield from self._require(
            "drive", "move", distance_m=min(distance, 100.0), speed_m_s=self.config.drive_speed_m_s
        )

    def _try_anchor(self) -> Generator[None, None, bool]:
        """Deploy and preload every anchor; True if the rover is anchored afterwards.

        A deploy that ends BLOCKED in strong ground may still hold (anchors seated at refusal), so the
        preload decides; a slip or failed preload leaves the rover unanchored (faults cleared).
        """
        cfg = self.config
        deployed = yield from self._motion("anchor", "deploy", mask=ALL_ANCHORS, depth_m=cfg.anchor_depth_m)
        if deployed in (Completion.OK, Completion.BLOCKED):
            yield from self._motion("anchor", "preload", mask=ALL_ANCHORS, force_N=cfg.anchor_preload_N)
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
        index = self.progress.probe_index
        self.progress.probe_index += 1
        anchored = yield from self._try_anchor()
        if not anchored:
            # A site the rover cannot anchor on cannot be drilled either: rank it last.
            yield from self._anchor_out()
            self.progress.scores[index] = -math.inf
            self.events.warning("mission", "probe", f"site {index}: cannot anchor; not workable")
            return "probed", f"site {index} not workable"
        self.io.command("drill", "spin", rpm=self.config.drill_rpm)
        feed = self.io.command("drill", "feed", depth_m=self.config.probe_depth_m, rate_m_s=self.config.feed_rate_m_s)
        ice, torque = [], []
        while isinstance(feed, Motion) and not feed.done:
            ice.append(self._get("drill.volatiles_ice_fraction"))
            torque.append(self._get("drill.torque_Nm"))
            yield
        stalled = isinstance(feed, Motion) and feed.completion != Completion.OK
        yield from self._drill_out()
        if stalled:
            self.io.rig.device("drill").clear_fault()
        yield from self._anchor_out()
        # The volatiles sensor averages over the cuttings it has seen: its peak says the richest layer reached.
        ice_mean = max(ice) if ice else 0.0
        torque_max = max(torque) if torque else 0.0
        # Ice pays; hard ground costs drilling energy and stall risk; a stall at probe depth rules it out.
        score = -math.inf if stalled else ice_mean - 0.0002 * torque_max
        self.progress.scores[index] = score
        self.events.info(
            "mission",
            "probe",
            f"site {index}: ice {ice_mean:.4f}, peak torque {torque_max:.1f} N*m, "
            f"{'stalled, ' if stalled else ''}score {score:.4f}",
            site=index,
            ice=ice_mean,
            torque=torque_max,
        )
        return "probed", f"site {index} probed"

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
        if self.config.sites:
            site = self.config.sites[self.progress.site]
            yield from self._drive_to(site.x_m, site.y_m)
        return "arrived", f"at site {self.progress.site}"

    def _do_anchor_deploy(self) -> Activity:
        if self.progress.site < 0:
            self.progress.site = 0
        completion = yield from self._motion("anchor", "deploy", mask=ALL_ANCHORS, depth_m=self.config.anchor_depth_m)
        if completion not in (Completion.OK, Completion.BLOCKED):
            raise MissionFailure(f"anchor.deploy ended {completion.name}")
        return "deployed", f"anchors in ({completion.name.lower()})"

    def _do_anchor_preload(self) -> Activity:
        completion = yield from self._motion(
            "anchor", "preload", mask=ALL_ANCHORS, force_N=self.config.anchor_preload_N
        )
        return "preloaded", f"preload to {self.config.anchor_preload_N:g} N ended {completion.name.lower()}"

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

    def _do_extract_drill(self) -> Activity:
        cfg = self.config
        stalls = 0
        rate = cfg.feed_rate_m_s
        # Each cycle deepens the same hole by drill_depth_m (fresh cuttings come only from new depth).
        deepest = self.io.rig.device("drill").limits.get("max_depth_m", 3.0)
        target = min(cfg.drill_depth_m * (self.progress.cycle + 1), deepest)
        if self._get("extractor.lid", 0) != 0:
            yield from self._require("extractor", "lid", sealed=0)
        while True:
            self.io.command("drill", "spin", rpm=cfg.drill_rpm)
            feed = self.io.command("drill", "feed", depth_m=target, rate_m_s=rate)
            while isinstance(feed, Motion) and not feed.done:
                if self._get("drill.torque_Nm") > cfg.torque_limit_Nm and rate > 2 * 0.0001:
                    rate = max(rate / 2, 0.0001)
                    self.events.info(
                        "mission", "feed_slowed", f"torque above {cfg.torque_limit_Nm:g} N*m: feed {rate:g} m/s"
                    )
                    feed = self.io.command("drill", "feed", depth_m=target, rate_m_s=rate)
                yield
            if not isinstance(feed, Motion) or feed.completion == Completion.OK:
                break
            stalls += 1
            self.events.warning("mission", "drill_stall", f"drill stopped ({feed.completion.name}), stall {stalls}")
            yield from self._drill_out()
            self.io.rig.device("drill").clear_fault()
            if stalls > cfg.stall_retries:
                self.events.error("mission", "drilling_abandoned", f"gave up drilling after {stalls} stalls")
                return "drilled", f"drilling abandoned after {stalls} stalls; extracting by scoop"
            rate = max(rate / 2, 0.0001)
        depth = self._get("drill.depth_m")
        yield from self._drill_out()
        return "drilled", f"drilled to {depth:.2f} m"

    def _do_extract_scoop(self) -> Activity:
        cfg = self.config
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
        return "hopper_full", f"{loaded:.2f} kg loaded in {passes} scoop passes"

    def _do_process_seal(self) -> Activity:
        yield from self._require("extractor", "lid", sealed=1)
        return "sealed", "lid sealed"

    def _do_process_heat(self) -> Activity:
        cfg = self.config
        self.io.command("extractor", "heater_setpoint", kelvin=cfg.heater_setpoint_K)
        start = self._now()
        window_t, window_w = start, self._get("extractor.water_kg")
        rate_kg_h = math.inf
        while True:
            yield
            now = self._now()
            if now - window_t >= 300.0:
                water = self._get("extractor.water_kg")
                rate_kg_h = (water - window_w) / (now - window_t) * 3600.0
                window_t, window_w = now, water
            if now - start >= cfg.heat_min_s and rate_kg_h < cfg.yield_stop_kg_h:
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
        return {"state": self.state, "progress": progress}

    def restore(self, snapshot: dict[str, Any], policy: str) -> None:
        """Continue from a snapshot taken before a restart. The hardware is made safe first; then the
        mission holds in the leaf it was in (``policy`` ``hold``) or resumes it (``resume``)."""
        progress = dict(snapshot.get("progress", {}))
        progress["scores"] = {int(k): v for k, v in progress.get("scores", {}).items()}
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
