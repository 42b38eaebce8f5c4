"""The mission state machine: prospect → anchor → extract → process, cycle after cycle.

States and transitions are declared as tables (:mod:`flight.mission.states`) and run by ``transitions``'
hierarchical machine. Each leaf state has an *activity*, supplied by its phase (:mod:`~flight.mission.prospect`,
:mod:`~flight.mission.anchor`, :mod:`~flight.mission.extract`, :mod:`~flight.mission.process`,
:mod:`~flight.mission.stow`): a generator that issues device commands through
:class:`~flight.interlocks.Interlocks` (the only path to the actuators) and yields once per tick while it
waits. When an activity returns, it names the trigger to fire and the reason, and the machine moves on.
Nothing here sleeps or uses a timer: time comes from the clock, checked on every tick, so a three-hour
extraction runs in seconds on a virtual clock.

Operator controls: ``hold`` (freeze; ``resume`` re-enters the exact leaf, whose activity continues from
the hardware's present state), ``abort`` (orderly retract, then SAFE), ``fault`` (straight to SAFE), and
``recover`` (SAFE → IDLE, explicit). The emergency stop is not here: it lives in the interlocks and only
*tells* the machine afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from transitions.core import MachineError
from transitions.extensions import HierarchicalMachine

from flight.commands import ArgSpec, command
from flight.errors import CommandRejected
from flight.events import EventLog
from flight.interlocks import Interlocks
from flight.mission import safing
from flight.mission.anchor import Anchor
from flight.mission.buses import switch_buses
from flight.mission.campaign import CampaignLog
from flight.mission.context import Activity, MissionContext, MissionFailure, MissionSettings, Phase
from flight.mission.energy import EnergyPlanner, SolarForecast
from flight.mission.extract import Extract
from flight.mission.heating import heater_off
from flight.mission.hop_readiness import HopperWatch
from flight.mission.hopping import hopping
from flight.mission.ladder import (
    StepRetries,
    SymptomFailure,
    clear_for_retry,
    needs_safe,
    pause_for,
    retry_when_settled,
)
from flight.mission.mission_channels import mission_channels
from flight.mission.navigation import Navigator
from flight.mission.process import LedgerSink, Process
from flight.mission.progress import MissionProgress, progress_from_json, progress_to_json
from flight.mission.prospect import Prospect
from flight.mission.readiness import device_problems, needed_by
from flight.mission.recharge import PARKED_OFF, recharge
from flight.mission.recovery import deployed_note, first_step, resume_gap, resume_plan, still_deployed
from flight.mission.states import OPERATIONAL, STATES, WORKING, transition_table
from flight.mission.stow import Stow
from flight.telemetry import ChannelSpec, TelemetryTable
from hal.errors import HalError

#: Triggers that are recoveries (counted per cycle in the campaign log): parking to recharge, anchoring
#: retried or moved to another site, a worked-out hole left for another, heating that stalled held.
RECOVERIES = ("park", "retry", "relocate", "exhausted", "hold", "reanchor")
#: Recoveries the phases report as events: a drill stall re-bitten, a hole ended by stalls, drilling given up
#: for the scoop, a drive to the sun to recharge, a short batch topped up from another hole.
RECOVERY_EVENTS = (
    "drill_stall",
    "hole_ended",
    "drilling_abandoned",
    "charge_away",
    "batch_short",
    "trench_ended",
    "dry_hole",
)


class Mission:
    """The autonomous mining mission over :class:`~flight.interlocks.Interlocks`."""

    def __init__(
        self,
        io: Interlocks,
        table: TelemetryTable,
        events: EventLog,
        config: MissionSettings,
        *,
        ledger: LedgerSink | None = None,
        on_change: Callable[[Mission], None] | None = None,
        solar: SolarForecast | None = None,
    ) -> None:
        self.io = io
        self.table = table
        self.events = events
        self.clock = events.clock
        self.config = config
        self._ctx = MissionContext(io, table, events, config, MissionProgress(cycles_target=config.cycles))
        self.campaign = CampaignLog(lambda channel: float(self._ctx.get(channel)), self._ctx.now)
        events.subscribe(self._note_recovery_event)
        self._on_change = on_change
        #: The hopper's fitness to hop, watched between hops (:mod:`flight.mission.hop_readiness`).
        self.hopper_watch = HopperWatch(self._ctx)
        phases: tuple[Phase, ...] = (
            Prospect(self._ctx, Navigator(self._ctx, self.hopper_watch)),
            Anchor(self._ctx),
            Extract(self._ctx),
            Process(self._ctx, self._book(ledger)),
            Stow(self._ctx),
        )
        self._activities: dict[str, Callable[[], Activity]] = {
            leaf: start for phase in phases for leaf, start in phase.activities().items()
        }
        self._activities["aborting"] = lambda: safing.orderly_retract(self._ctx, self._reason)
        self.energy = EnergyPlanner(
            lambda channel: float(self._ctx.get(channel)),
            self._ctx.now,
            lambda: io.settings.low_battery_soc,
            lambda: (
                bool(config.energy_planning) and "power" in io.rig,
                config.battery_capacity_Wh,
                config.energy_reserve_Wh,
            ),
            solar,
        )
        #: What the rover is doing about energy: working, parking, recharging or hibernating (one-item list,
        #: shared with the recharge activity).
        self.energy_mode = ["working"]
        self._activities["recharge"] = lambda: recharge(
            self._ctx, self.energy, lambda: self.progress.parked, self.energy_mode
        )
        self._activity: Activity | None = None
        self._retries = StepRetries()
        self._reason = "start-up"
        self.state = "idle"
        self.machine = HierarchicalMachine(
            model=self,
            states=STATES,
            transitions=transition_table(self._held_is, self._parked_is),
            initial="idle",
            auto_transitions=False,
            send_event=True,
            after_state_change="_entered",
            ignore_invalid_triggers=False,
        )

    @property
    def progress(self) -> MissionProgress:
        """What the mission has done and where it is (replaced by :meth:`restore`)."""
        return self._ctx.progress

    # --------------------------------------------------------------------------- conditions
    def will_prospect(self, _event: Any = None) -> bool:
        """Prospecting is configured and there are sites to probe."""
        return bool(self.config.prospect) and len(self.config.sites) > 1

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

    def hardware_out(self, _event: Any = None) -> bool:
        """Some hardware is out of its stowed state (:func:`~flight.mission.recovery.still_deployed`)."""
        return bool(still_deployed(self._ctx))

    def remember_parked(self, _event: Any) -> None:
        """Keep the leaf RECHARGE came from, to resume it exactly once charged."""
        self.progress.parked = self.state

    def _parked_is(self, leaf: str, _event: Any = None) -> bool:
        return self.progress.parked == leaf

    # --------------------------------------------------------------------------------- core
    @property
    def top_state(self) -> str:
        """The top-level state (``extract`` for ``extract_drill``)."""
        return self.state.split("_", 1)[0]

    def _book(self, ledger: LedgerSink | None) -> LedgerSink:
        """The ledger sink that first closes the cycle's record in the campaign log."""

        def book(cycle: int, site: int, water_kg: float, regolith_kg: float, energy_Wh: float) -> None:
            self.campaign.close_cycle(cycle, site, water_kg, regolith_kg, energy_Wh)
            self._retries.new_cycle()
            if ledger is not None:
                ledger(cycle, site, water_kg, regolith_kg, energy_Wh)

        return book

    def _note_recovery_event(self, event: Any) -> None:
        """Recoveries the phases report as events (a drill stall re-bitten, a hole ended by stalls, drilling
        given up for the scoop, a tumbled hop righted)."""
        if event.source == "mission" and (event.name in RECOVERY_EVENTS or event.name == "hop_tumbled"):
            self.campaign.recovery(event.name)
        if event.source == "mission" and event.name == "hop":
            self.campaign.hopped()

    def _category(self) -> str | None:
        """Where the campaign's time goes now: working, recharging, hibernating, held (None: not running)."""
        if self.state in ("idle", "safe"):
            return None
        if self.state == "hold":
            return "held"
        if self.state == "recharge":
            return "hibernating" if self.energy_mode[0] == "hibernating" else "recharging"
        return "working"

    def fire(self, trigger: str, reason: str) -> bool:
        """Fire ``trigger`` with ``reason``; returns False (with an event) if it is not valid now."""
        if trigger in RECOVERIES and not reason.startswith("operator"):
            self.campaign.recovery(trigger)
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
        self.energy.abandon()
        self.progress.held = self.progress.held if self.state == "hold" else ""  # '' once left (mission.held)
        if previous == "recharge" and self.state == "aborting":
            switch_buses(self._ctx, PARKED_OFF, on=True)  # parked with its buses off: the retract needs them
        if self.state != "recharge":
            self.energy_mode[0] = "working"
        start = self._activities.get(self.state)
        if start is not None:
            self._activity = self._gated(self.state, start) if self.state in WORKING else start()
        elif self.state == "safe":
            safing.make_safe(self._ctx, reason)
        elif self.state == "hold":
            safing.freeze(self._ctx)
        if self._on_change is not None:
            self._on_change(self)

    def _gated(self, leaf: str, start: Callable[[], Activity]) -> Activity:
        """``leaf``'s activity, started only if the energy it needs is there (else ``park``), and measured."""
        shortfall = self.energy.shortfall(leaf)
        if shortfall:
            return "park", f"energy: {shortfall}"
        self.energy.begin(leaf)
        result = yield from start()
        self.energy.end()
        return result

    def tick(self, _now: float = 0.0) -> None:
        """Advance the current activity once (the executive calls this at the mission rate)."""
        self.campaign.sample(self._category(), self.top_state)
        if hopping(self._ctx):
            self.hopper_watch.tick(self_test=self.state != "safe" and not self.io.estopped)
        else:
            self._ctx.gyro.tick()
        activity = self._activity
        if activity is None:
            return
        self.energy.sample()
        if self.state in WORKING and self.energy.exhausted(self.state):
            activity.close()
            self._activity = None
            self.fire("park", f"energy: only the {self.config.energy_reserve_Wh:g} Wh reserve is left")
            return
        try:
            next(activity)
        except StopIteration as done:
            self._activity = None
            trigger, reason = done.value
            self.fire(trigger, reason)
        except (MissionFailure, CommandRejected, HalError) as exc:
            self._activity = None
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        """The step failed: climb the ladder (:mod:`flight.mission.ladder`): SAFE where hardware safety needs
        it, else retry the step once, then hold for the ground with the reason."""
        reason = getattr(exc, "reason", "") or type(exc).__name__
        leaf = self.state
        # a stow that fails names what is still out, and the commands that bring it in
        what = f"{exc}{deployed_note(self._ctx)}" if leaf == "stow" else str(exc)
        self.events.error("mission", "activity_failed", f"{leaf}: {what}")
        if leaf == "aborting":
            self.fire("aborted", f"abort incomplete: {what}")
        elif needs_safe(exc, self.io.acting):
            self.fire("fault", f"{leaf} failed: {reason}: {what}")
        elif self._retries.may_retry(leaf):
            self.campaign.recovery("retry_step")
            self.events.warning(
                "mission", "step_retried", f"{leaf} failed ({what}): clearing faults, retrying once its devices settle"
            )
            clear_for_retry(self._ctx, leaf)
            start = self._activities[leaf]
            again = (lambda: self._gated(leaf, start)) if leaf in WORKING else start
            self._activity = retry_when_settled(self._ctx, leaf, what, again, pause_for(exc))
        else:
            self.fire("hold", f"{leaf} failed again: {reason}: {what}: hold for the ground")

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
            what = "the mission already holds" if self.state == "hold" else f"nothing to hold in {self.state}"
            raise CommandRejected("bad_state", what)
        self.fire("hold", "operator hold")

    @command(
        "mission.resume",
        "Resume the sub-state the mission was held in (re-anchoring first if a drilling step finds the anchors up).",
        hazardous=True,
        hazard="Autonomous motion and heating resume.",
    )
    def cmd_resume(self) -> None:
        """RESUME."""
        if self.state != "hold":
            raise CommandRejected("bad_state", f"mission.resume needs HOLD, the mission is in {self.state}")
        problems = device_problems(self.io, needed_by(self.progress.held))
        if problems:
            raise CommandRejected(
                "bad_state",
                f"{self.progress.held} needs devices that have failed: {'; '.join(problems)} "
                "(<device>.clear_fault once the cause is fixed, or mission.abort)",
            )
        self.progress.held, reason = resume_plan(self._ctx, self.progress.held)
        self.fire("resume", reason)

    @command("mission.abort", "Orderly retract: heater off, drill out, scoop stowed, then SAFE.")
    def cmd_abort(self) -> None:
        """ABORT."""
        if self.state not in (*OPERATIONAL, "hold"):
            raise CommandRejected("bad_state", f"nothing to abort in {self.state}")
        self.fire("abort", "operator abort")

    @command(
        "mission.recover",
        "Leave SAFE for IDLE once the operator has checked the rover; hardware left out is stowed first (STOW).",
        hazardous=True,
        hazard="The rover can be commanded again; make sure the cause of SAFE is understood.",
    )
    def cmd_recover(self) -> None:
        """SAFE → IDLE."""
        if self.state != "safe":
            raise CommandRejected("bad_state", f"mission.recover needs SAFE, the mission is in {self.state}")
        if self.io.estopped:
            raise CommandRejected("interlock:estop", "release the emergency stop first (estop.reset)")
        problems = device_problems(self.io, self.io.rig.devices)
        if problems:
            raise CommandRejected(
                "bad_state",
                f"faults are latched: {'; '.join(problems)} (<device>.clear_fault once the cause is fixed)"
                f"{deployed_note(self._ctx)}",
            )
        left = still_deployed(self._ctx)
        self.fire("recover", f"operator recovery: stowing first: {'; '.join(left)}" if left else "operator recovery")

    # ----------------------------------------------------------------------- fault responses
    def respond(self, response: str, reason: str) -> None:
        """Carry out a fault-protection response: ``hold``, ``safe``, ``retract``, ``abort`` or ``fail_step`` (the
        running step fails with ``reason`` and climbs the recovery ladder, :mod:`flight.mission.ladder`)."""
        if response == "fail_step" and self.state in OPERATIONAL and self._activity is not None:
            self._activity.close()
            self._activity = None
            self._failed(SymptomFailure(reason))
        elif response == "hold" and self.state in OPERATIONAL:
            self.fire("hold", reason)
        elif response == "safe" and self.state != "safe":
            self.fire("fault", reason)
        elif response in ("retract", "abort") and self.state in (*OPERATIONAL, "hold"):
            self.fire("abort", reason)

    # ---------------------------------------------------------------------------- safe stops
    def stop_hardware(self) -> None:
        """Switch the heater off, then stop every actuator where it is, without changing the mission state
        (errors reported, not raised); the flight app's make-safe calls this at shutdown and restart."""
        heater_off(self._ctx)
        safing.freeze(self._ctx)

    # -------------------------------------------------------------------------- persistence
    def snapshot(self) -> dict[str, Any]:
        """Everything needed to pick the mission up after a restart (JSON-serialisable)."""
        return {"state": self.state, "progress": progress_to_json(self.progress)}

    def restore(self, snapshot: dict[str, Any], policy: str) -> None:
        """Continue from a snapshot taken before a restart. The hardware is made safe first; then the
        mission holds in the leaf it was in (``policy`` ``hold``) or resumes it (``resume``)."""
        self._ctx.progress = progress_from_json(snapshot.get("progress", {}))
        state = snapshot.get("state", "idle")
        heater_off(self._ctx)
        safing.freeze(self._ctx)
        if state in OPERATIONAL or state == "hold":
            leaf = state if state in OPERATIONAL else self.progress.held
            problems = device_problems(self.io, needed_by(leaf))
            refusal = ""
            try:  # the leaf's preconditions on fresh telemetry: an extraction needs the anchors holding
                target, _ = resume_plan(self._ctx, leaf)
            except CommandRejected as exc:
                target, refusal = leaf, exc.message
            gap = resume_gap(self._ctx, leaf) if target != leaf else ""
            if policy == "resume" and leaf in OPERATIONAL and not problems and not refusal:
                self.progress.held = ""
                self.machine.set_state(target)
                self._activity = self._activities[target]()
                message = f"restart: hardware made safe, resuming {leaf}"
                message += f", entering {target} first: {gap}" if gap else ""
            else:
                self.progress.held = leaf
                self.machine.set_state("hold")
                message = f"restart: hardware made safe, holding in {leaf} (mission.resume to continue)"
                message += f"; mission.resume {first_step(target)} first: {gap}" if gap else ""
                if problems:
                    message += f"; {leaf} needs devices that have failed: {'; '.join(problems)}"
                if refusal:
                    message += f"; {refusal}"
        elif state in ("aborting", "safe"):
            self.machine.set_state("safe")
            message = "restart: hardware made safe, in SAFE as before (mission.recover to leave it)"
        else:
            message = "restart: hardware made safe, idle"
        self.events.warning("mission", "restored", message, state=self.state)
        if self._on_change is not None:
            self._on_change(self)

    # ---------------------------------------------------------------------------- telemetry
    @staticmethod
    def channels() -> list[ChannelSpec]:
        """Dictionary entries of :meth:`telemetry`."""
        return mission_channels()

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
            "mission.parked": p.parked,
            "mission.energy_mode": self.energy_mode[0],
            "mission.energy_available_Wh": self.energy.available_Wh(),
        }
