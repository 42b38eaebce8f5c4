"""The recovery ladder for a step that failed: retry, then hold for the ground with the reason; SAFE only when
hardware safety needs it.

The phases climb their own rungs first (a stall re-bitten, then another hole or the scoop; anchoring retried,
then another site; heating that stops held). What reaches the machine as a failed step (a motion that ended
in a fault, a command refused, a device that stopped answering) is classified here:

* **SAFE** when hardware safety needs it: an interlock refused the step (``interlock:<name>``: the drill
  unanchored, the e-stop, a bus shed) or is enforcing itself on the hardware (a heater that did not switch
  off has had its bus cut), so the hardware is in a state the mission must not work in;
* **retry** once per step and cycle, once the devices the step needs have settled (:func:`settle`): each
  line up again, its power bus on and no fault latched — the faults are cleared every :data:`CLEAR_EVERY_S`
  while their cause lasts, a bus whose electronic fuse tripped is switched on again once — for up to
  :data:`SETTLE_S`, or up to :data:`COOL_MAX_S` while an over-temperature passes with its reading still
  falling; then the step starts again (a transient overcurrent, a motion cut short, a line that dropped for
  a few seconds, a fuse tripped by a short that has passed, a drill bit cooling). A device that does not
  settle in time holds the mission naming what persists (the fault bits, a line down, a bus off). A step
  fault protection failed on a symptom it saw in telemetry (``fail_step``: a jammed wheel's current) waits at
  least :data:`SYMPTOM_PAUSE_S` first: such a cause may leave no latched fault at rest to wait on;
* **HOLD** for the ground with the reason when the retry failed too: the hardware is stopped where it is,
  nothing is lost, and ``mission.resume`` picks the step up once the cause is fixed.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Generator

from flight.errors import CommandRejected
from flight.mission.buses import fuse_tripped, switch_buses
from flight.mission.context import Activity, MissionContext, MissionFailure, UnrecoverableFailure
from flight.mission.readiness import device_problems, needed_by
from hal.errors import HalError
from hal.icd import POWER_BUSES

#: Retries of a failed step per cycle before it holds for the ground.
STEP_RETRIES = 1
#: Longest wait (clock s) for the devices a failed step needs to settle before its retry: a wheel short, a
#: drill bit cooling 10 K, a cable re-seated.
SETTLE_S = 90.0
#: Clock seconds between attempts to clear latched faults while the devices settle.
CLEAR_EVERY_S = 2.0
#: The needed devices must stay settled this long (s; two samples at the quiet telemetry period) before the retry:
#: a device latches its fault a moment after flight's fault protection saw the symptom (a stalled wheel's
#: current), and a retry at the first clean look was refused by the fault about to be reported.
SETTLED_FOR_S = 2.0
#: Least wait (s) before retrying a step fault protection failed on a symptom (:class:`SymptomFailure`): a jam
#: of the wheels shows only while they are driven, and a retry 2 s later drove into the same jam and held.
SYMPTOM_PAUSE_S = 30.0
#: Latched faults that pass as a part cools, and the reading (K) that shows it cooling.
COOLING: dict[tuple[str, str], str] = {
    ("drill", "overtemp"): "drill.bit_temp_K",
    ("extractor", "overtemp"): "extractor.chamber_temp_K",
}
#: Longest wait (clock s) for a part that is still cooling: the settle goes on past :data:`SETTLE_S` a window
#: at a time while every fault left is one of :data:`COOLING` and each reading fell over the last window.
COOL_MAX_S = 1800.0
#: Window (clock s) over which a cooling reading must fall by at least :data:`COOL_MIN_DROP_K` (K).
COOL_WINDOW_S = 60.0
COOL_MIN_DROP_K = 0.5


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


class SymptomFailure(MissionFailure):
    """A step failed by fault protection (``fail_step``) on a symptom it saw in telemetry, not by the hardware."""


def pause_for(exc: Exception) -> float:
    """Least settling (s) before retrying a step that failed with ``exc``: :data:`SYMPTOM_PAUSE_S` for a
    :class:`SymptomFailure`, else none."""
    return SYMPTOM_PAUSE_S if isinstance(exc, SymptomFailure) else 0.0


def retry_when_settled(
    ctx: MissionContext, leaf: str, what: str, start: Callable[[], Activity], pause_s: float = 0.0
) -> Activity:
    """Step ``leaf`` again (``start()``), which failed with ``what``, once the devices it needs have settled
    (:func:`settle`), and not before ``pause_s`` seconds; hold for the ground naming what persists if they do
    not settle."""
    if pause_s > 0.0:
        ctx.events.info(
            "mission", "retry_pause", f"{what}: a symptom that may not show at rest: retrying after {pause_s:g} s"
        )
    persisting, allowed_s = yield from settle(ctx, leaf, pause_s)
    if persisting:
        left = "; ".join(persisting)
        return "hold", f"{leaf} failed ({what}) and {left} after {round(allowed_s):g} s: hold for the ground"
    return (yield from start())


def settle(ctx: MissionContext, leaf: str, at_least_s: float = 0.0) -> Generator[None, None, tuple[list[str], float]]:
    """Wait, a mission tick per ``yield``, until every device ``leaf`` needs that the rover has is up, powered
    and has no latched fault, for :data:`SETTLED_FOR_S` on end and ``at_least_s`` in all; returns ``([], s)``
    then, or the ``<device>: <problem>`` texts left and the seconds allowed for settling: :data:`SETTLE_S`,
    more (up to :data:`COOL_MAX_S`) while only a part still cooling was left.

    While waiting it clears latched faults every :data:`CLEAR_EVERY_S` (a fault latched while its cause lasted
    clears once it is gone) and switches on, once, each needed bus an electronic fuse switched off (the
    power unit reports ``overcurrent``): a short that has passed leaves the bus off until someone does."""
    needed = needed_by(leaf)
    began = ctx.now()
    deadline = began + SETTLE_S
    give_up = began + COOL_MAX_S
    next_clear = began + CLEAR_EVERY_S  # clear_for_retry has just tried
    restored: set[str] = set()
    window: dict[str, float] | None = None  # the cooling readings at the current window's start
    clean_since: float | None = None  # since when no needed device has had a problem
    while True:
        _restore_tripped_buses(ctx, needed, restored)
        problems = device_problems(ctx.io, needed) + _unpowered(ctx, needed)
        now = ctx.now()
        if not problems:
            clean_since = now if clean_since is None else clean_since
            if now - clean_since >= SETTLED_FOR_S and now - began >= at_least_s:
                return [], deadline - began
            yield
            continue
        clean_since = None
        if now >= deadline:
            readings = _cooling_readings(ctx, needed)
            if readings is None or now >= give_up or not _cooled(window, readings):
                return problems, deadline - began
            if window is None:
                ctx.events.info("mission", "settle_cooling", f"waiting for {_cooling_text(readings)} to cool")
            window, deadline = readings, now + COOL_WINDOW_S
        if now >= next_clear:
            next_clear = now + CLEAR_EVERY_S
            _clear_latched(ctx, needed)
        yield


def _cooled(window: dict[str, float] | None, readings: dict[str, float]) -> bool:
    """True at the first look (``window`` None), else when every reading fell :data:`COOL_MIN_DROP_K` since."""
    if window is None:
        return True
    return all(channel in window and window[channel] - value >= COOL_MIN_DROP_K for channel, value in readings.items())


def _cooling_readings(ctx: MissionContext, devices: tuple[str, ...]) -> dict[str, float] | None:
    """The :data:`COOLING` readings of the devices with latched faults, when every such fault is one that
    passes as the part cools and its reading is a number; else None (a fault no wait can mend)."""
    readings: dict[str, float] = {}
    for name in devices:
        if name not in ctx.io.rig:
            continue
        device = ctx.io.rig.device(name)
        snapshot = device.telemetry
        if not device.link_up or snapshot is None:
            return None
        for fault in snapshot.faults:
            channel = COOLING.get((name, fault))
            value = ctx.get(channel, math.nan) if channel else math.nan
            if channel is None or not isinstance(value, int | float) or not math.isfinite(value):
                return None
            readings[channel] = float(value)
    return readings or None


def _cooling_text(readings: dict[str, float]) -> str:
    return ", ".join(f"{channel} {value:.1f} K" for channel, value in readings.items())


def _unpowered(ctx: MissionContext, devices: tuple[str, ...]) -> list[str]:
    """``<device>: bus off`` for each of ``devices`` on a power bus the power unit reports switched off."""
    if "power" not in ctx.io.rig:
        return []
    return [f"{name}: bus off" for name in devices if name in POWER_BUSES and not ctx.io.bus_on(name)]


def _restore_tripped_buses(ctx: MissionContext, devices: tuple[str, ...], restored: set[str]) -> None:
    """Switch on, once per settle, each of ``devices``' buses that is off while the power unit reports an
    ``overcurrent`` (its electronic fuse tripped); a bus switched off by the interlocks or the operator has no
    such fault and stays off (the settle then holds naming it)."""
    for name in devices:
        if name not in restored and fuse_tripped(ctx, name):
            restored.add(name)
            ctx.events.warning("mission", "bus_restore", f"{name} bus was off after a fuse trip; switching it on")
            with contextlib.suppress(HalError):  # a fault that stays latched refuses the switch, which reports it
                ctx.io.rig.device("power").clear_fault()
            switch_buses(ctx, (name,), on=True)


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
