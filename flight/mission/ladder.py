"""The recovery ladder for a step that failed: retry, then hold for the ground with the reason; SAFE only when
hardware safety needs it.

The phases climb their own rungs first (a stall re-bitten, then another hole or the scoop; anchoring retried,
then another site; heating that stops held). What reaches the machine as a failed step (a motion that ended
in a fault, a command refused, a device that stopped answering) is classified here:

* **SAFE** when hardware safety needs it: an interlock refused the step (``interlock:<name>``: the drill
  unanchored, the e-stop, a bus shed) or is enforcing itself on the hardware (a heater that did not switch
  off has had its bus cut), so the hardware is in a state the mission must not work in;
* **retry** once per step and cycle, once the devices the step needs have settled (:func:`settle`): each
  line up again and no fault latched — the faults are cleared every :data:`CLEAR_EVERY_S` while their cause
  lasts — for up to :data:`SETTLE_S`; then the step starts again (a transient overcurrent, a motion cut
  short, a line that dropped for a few seconds). A device that does not settle in time holds the mission
  naming what persists (the fault bits, a line down);
* **HOLD** for the ground with the reason when the retry failed too: the hardware is stopped where it is,
  nothing is lost, and ``mission.resume`` picks the step up once the cause is fixed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator

from flight.errors import CommandRejected
from flight.mission.context import MissionContext, UnrecoverableFailure
from flight.mission.readiness import device_problems, needed_by
from hal.errors import HalError

#: Retries of a failed step per cycle before it holds for the ground.
STEP_RETRIES = 1
#: Longest wait (clock s) for the devices a failed step needs to settle before its retry: a wheel short, a
#: drill bit cooling 10 K, a cable re-seated.
SETTLE_S = 90.0
#: Clock seconds between attempts to clear latched faults while the devices settle.
CLEAR_EVERY_S = 2.0


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


def settle(ctx: MissionContext, leaf: str) -> Generator[None, None, list[str]]:
    """Wait, a mission tick per ``yield``, until every device ``leaf`` needs that the rover has is up with no
    latched fault (clearing them every :data:`CLEAR_EVERY_S`: a fault latched while its cause lasted clears
    once it is gone); returns ``[]`` then, or the ``<device>: <problem>`` texts left after :data:`SETTLE_S`."""
    needed = needed_by(leaf)
    deadline = ctx.now() + SETTLE_S
    next_clear = ctx.now() + CLEAR_EVERY_S  # clear_for_retry has just tried
    while True:
        problems = device_problems(ctx.io, needed)
        if not problems:
            return []
        now = ctx.now()
        if now >= deadline:
            return problems
        if now >= next_clear:
            next_clear = now + CLEAR_EVERY_S
            _clear_latched(ctx, needed)
        yield


def _clear_latched(ctx: MissionContext, devices: tuple[str, ...]) -> None:
    """Ask each of ``devices`` that is up with a latched fault to clear it (quietly: settling reports)."""
    for name in devices:
        if name not in ctx.io.rig:
            continue
        device = ctx.io.rig.device(name)
        snapshot = device.telemetry
        if device.link_up and snapshot is not None and snapshot.faults:
            with contextlib.suppress(HalError):  # the line dropped meanwhile: the next look sees it
                device.clear_fault()


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
