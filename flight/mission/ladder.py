"""The recovery ladder for a step that failed: retry, then hold for the ground with the reason; SAFE only when
hardware safety needs it.

The phases climb their own rungs first (a stall re-bitten, then another hole or the scoop; anchoring retried,
then another site; heating that stops held). What reaches the machine as a failed step (a motion that ended
in a fault, a command refused, a device that stopped answering) is classified here:

* **SAFE** when hardware safety needs it: an interlock refused the step (``interlock:<name>``: the drill
  unanchored, the e-stop, a bus shed) or is enforcing itself on the hardware (a heater that did not switch
  off has had its bus cut), so the hardware is in a state the mission must not work in;
* **retry** once per step and cycle: the device's clearable faults are cleared and the step starts again
  (a transient overcurrent, a motion cut short);
* **HOLD** for the ground with the reason when the retry failed too: the hardware is stopped where it is,
  nothing is lost, and ``mission.resume`` picks the step up once the cause is fixed.
"""

from __future__ import annotations

from flight.errors import CommandRejected
from flight.mission.context import MissionContext, UnrecoverableFailure
from flight.mission.readiness import needed_by
from hal.errors import HalError

#: Retries of a failed step per cycle before it holds for the ground.
STEP_RETRIES = 1


def needs_safe(exc: Exception, acting: frozenset[str]) -> bool:
    """The failure means the hardware is unsafe to work with: an interlock refused the step, one is enforcing
    itself on the hardware now (``acting``: a heater that did not switch off has had its bus cut), or the
    activity says no retry can mend it (:class:`UnrecoverableFailure`: a rover lost off the surface)."""
    return (
        bool(acting)
        or isinstance(exc, UnrecoverableFailure)
        or (isinstance(exc, CommandRejected) and exc.reason.startswith("interlock:"))
    )


class StepRetries:
    """How often each step has been retried in this cycle (reset when a cycle is booked: a step that
    completes only to be entered again, as anchoring retried, keeps its count)."""

    def __init__(self) -> None:
        self._tries: dict[str, int] = {}

    def may_retry(self, leaf: str) -> bool:
        """``leaf`` has retries left; counts this one."""
        tries = self._tries.get(leaf, 0)
        if tries >= STEP_RETRIES:
            return False
        self._tries[leaf] = tries + 1
        return True

    def new_cycle(self) -> None:
        """A cycle was booked: every step gets its retry again."""
        self._tries.clear()


def clear_for_retry(ctx: MissionContext, leaf: str) -> None:
    """Stop what ``leaf`` drives and clear the latched faults whose cause is gone on the devices it needs
    (failures reported, not raised: the retry itself will show what persists)."""
    for name in needed_by(leaf):
        if name not in ctx.io.rig:
            continue
        try:
            ctx.io.command(name, "stop")
            ctx.io.rig.device(name).clear_fault()
        except (HalError, CommandRejected) as exc:
            ctx.events.warning("mission", "retry_clear_failed", f"{name}: {exc}")
