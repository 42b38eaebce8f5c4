"""Is the hopper fit to hop? Checked before every hop, and watched while the rover sits still.

A hop commits the rover to a ballistic arc nothing can stop, so a fault in the hopper must be found before a
launch, not by losing the rover. The hopper is *fit* when its line is up, its telemetry is fresh (no older
than the interlocks' ``max_age_s``, or four of its streaming periods on quiet rates), no fault is latched,
it sits settled and upright, its position estimate can be trusted, and its built-in test passes. The
estimate is trusted when it is a number that has not moved while the rover sat still (more than
:data:`STILL_TOLERANCE_M`) and that moved by the last hop's length (to within :data:`FOLLOW_SHARE` of it): a
stuck, dropped or noisy estimate would aim the next hop wrong. A suspect estimate is trusted again only once
it has agreed with where the rover sat for :data:`STEADY_S`. A seized flywheel shows in no telemetry while it
is at rest: the hopper's built-in test (``self_test``, which pulses the flywheel motor and latches
``flywheel_stuck`` when the rotor does not turn) finds it.

* :meth:`HopperWatch.tick` runs on every mission tick while no hop or righting is under way (anchored,
  drilling, processing, idle, held): it runs the built-in test every :data:`CHECK_PERIOD_S` (not in SAFE or
  under the e-stop) and reports a problem that has lasted :data:`PERSIST_S` as a warning event
  ``mission.hopper_unfit`` naming it (once per episode; ``hopper_fit`` when it clears). The rover keeps
  working where it is: a hopper that cannot hop does not stop the drill or the extractor, only the next hop.
* :func:`ready_to_hop` runs before each leg (is a hop needed? only the estimate must be trusted) and before
  each launch (everything, then the built-in test), judged on a telemetry sample taken after it was asked. A
  problem that has not cleared within :data:`READY_WAIT_S` (a line restored, a sample refreshed) refuses the
  hop with :class:`~flight.mission.context.MissionFailure` (``hop refused: <problems>``, or ``position
  unknown, no hop: <problems>``), which the recovery ladder retries once and then holds for the ground with.
  A hop the hopper reports still under way (its line came back in the middle of one) is waited for. A hopper
  that reports the rover ``lost``, or a hop still under way after :func:`airborne_limit_s`, is
  :class:`~flight.mission.context.UnrecoverableFailure` (SAFE).

Times in seconds, distances in metres.
"""

from __future__ import annotations

import math
from collections.abc import Generator

from flight.mission.context import MissionContext, MissionFailure, UnrecoverableFailure
from flight.mission.motion import wait
from hal.errors import HalError

#: Between built-in tests while the rover sits still, s.
CHECK_PERIOD_S = 120.0
#: A problem seen by the watch is reported once it has lasted this long (one dropped sample is no fault), s.
PERSIST_S = 5.0
#: How long the check before a launch waits for a problem to clear, s, and how often it looks again.
READY_WAIT_S = 60.0
READY_POLL_S = 5.0
#: A position estimate that moves more than this with no hop made is suspect, m.
STILL_TOLERANCE_M = 0.1
#: Over a hop the estimate must move by the hop's length (its launch-to-rest distance, as the hopper reports
#: it) to within this share of it plus STILL_TOLERANCE_M (the estimate's own error is 3 % of a hop, 1 sigma
#: per axis).
FOLLOW_SHARE = 0.25
#: Time allowed after the longest arc the interlock allows for bouncing and sliding to rest, s.
SETTLE_ALLOWANCE_S = 900.0
#: A suspect estimate is trusted again once it has agreed with where the rover sat for this long, s.
STEADY_S = 10.0
#: Telemetry older than this many streaming periods is stale (when that is longer than ``max_age_s``).
STALE_PERIODS = 4.0


class HopperWatch:
    """The hopper's fitness to hop, and the position it last sat at (to check its estimate against)."""

    def __init__(self, ctx: MissionContext) -> None:
        self._ctx = ctx
        self._rest: tuple[int, float, float] | None = None  # (hops, x m, y m) where it last sat, trusted
        self._suspect = ""  # why the position estimate is not trusted ("" when it is)
        self._agreed: float | None = None  # since when a suspect estimate has agreed with where it sat, s
        self._next_check = 0.0  # when the next built-in test is due, s
        self._since: float | None = None  # when the present problems were first seen, s
        self._reported: tuple[str, ...] = ()  # the problem kinds reported in the present episode

    def problems(self, position_only: bool = False) -> list[str]:
        """What stops a hop now, in words (empty: fit). Hopper absent: nothing. ``position_only``: only what
        makes the position estimate untrustworthy (what deciding whether a hop is needed at all rests on)."""
        rig = self._ctx.io.rig
        if "hopper" not in rig:
            return []
        device = rig.device("hopper")
        if not device.link_up:
            return ["hopper: link down"]
        age = device.telemetry_age_s
        limit = max(self._ctx.io.settings.max_age_s, STALE_PERIODS * device.telemetry_period_s)
        snapshot = device.telemetry
        if snapshot is None or age is None or age > limit:
            found = "none yet" if age is None else f"{age:.1f} s old"
            return [f"hopper: telemetry stale ({found}; limit {limit:g} s)"]
        out = []
        at_rest = snapshot.mode == "settled" and snapshot.height_m == 0.0
        if not at_rest:
            out.append(f"hopper: not at rest (mode {snapshot.mode}, height {snapshot.height_m:g} m)")
        if not (math.isfinite(snapshot.x_m) and math.isfinite(snapshot.y_m)):
            out.append(f"hopper: position estimate not a number ({snapshot.x_m}, {snapshot.y_m})")
        elif at_rest:
            self._follow(snapshot.hops, snapshot.x_m, snapshot.y_m, snapshot.hop_m)
        if self._suspect:  # the first evidence, kept while it lasts (one report per episode)
            out.append(f"{self._suspect} (estimate suspect)")
        if position_only:
            return out
        if snapshot.faults:
            out.insert(0, f"hopper: fault {','.join(snapshot.faults)} latched")
        if at_rest and not snapshot.upright:
            out.append("hopper: on its side")
        return out

    def _follow(self, hops: int, x: float, y: float, hop_m: float) -> None:
        """Check the estimate (``x``, ``y``) m at rest after ``hops`` hops against where it last sat."""
        if self._rest is None:
            self._rest = (hops, x, y)
            return
        rest_hops, rest_x, rest_y = self._rest
        moved = math.hypot(x - rest_x, y - rest_y)
        if hops == rest_hops and moved > STILL_TOLERANCE_M:
            self._suspect = self._suspect or f"hopper: position estimate moved {moved:.2f} m with no hop made"
        elif hops == rest_hops + 1 and abs(moved - hop_m) > FOLLOW_SHARE * hop_m + STILL_TOLERANCE_M:
            self._suspect = self._suspect or f"hopper: position estimate moved {moved:.2f} m over a {hop_m:.1f} m hop"
        elif not self._suspect:
            self._rest = (hops, x, y)
        else:  # a suspect estimate is trusted again once it has agreed for STEADY_S (noise agrees by chance)
            now = self._ctx.now()
            if self._agreed is None:
                self._agreed = now
            if now - self._agreed >= STEADY_S:
                self._rest, self._suspect, self._agreed = (hops, x, y), "", None
            return
        self._agreed = None

    def built_in_test(self) -> list[str]:
        """Run the hopper's self-test; its failures as problems (the telemetry it latched read back)."""
        device = self._ctx.io.rig.device("hopper")
        try:
            failed = device.self_test()
            if not failed:
                return []
            device.refresh()
        except HalError as exc:
            return [f"hopper: self-test not answered ({exc})"]
        return self.problems() or [f"hopper: self-test failed ({', '.join(failed)})"]

    def tick(self, *, self_test: bool = True) -> None:
        """While the rover sits still: check, run the built-in test every :data:`CHECK_PERIOD_S` (unless
        ``self_test`` is False: in SAFE or under the e-stop the flywheel is not pulsed), report changes."""
        rig = self._ctx.io.rig
        if "hopper" not in rig or rig.device("hopper").motions:
            return  # no hopper, or a hop or righting under way: the hop's own code watches it
        now = self._ctx.now()
        problems = self.problems()
        if not problems and self_test and now >= self._next_check:
            self._next_check = now + CHECK_PERIOD_S
            problems = self.built_in_test()
        if not problems:
            if self._reported:
                self._ctx.events.info("mission", "hopper_fit", "hopper fit to hop again")
            self._since, self._reported = None, ()
            return
        if self._since is None:
            self._since = now
        kinds = tuple(p.split("(", 1)[0] for p in problems)
        if now - self._since >= PERSIST_S and kinds != self._reported:
            self._reported = kinds
            self._ctx.events.warning(
                "mission",
                "hopper_unfit",
                f"{'; '.join(problems)}: no hop is launched until this clears (work in place goes on)",
            )


def airborne_limit_s(ctx: MissionContext) -> float:
    """Longest a hop can take to come to rest, s: ``hop_lost_arcs`` times the arc of the fastest launch the
    interlock allows, plus :data:`SETTLE_ALLOWANCE_S`; airborne longer, the rover is lost."""
    cfg = ctx.config
    speed = ctx.io.settings.max_hop_speed_m_s
    return cfg.hop_lost_arcs * 2.0 * speed * math.sin(cfg.hop_elevation_rad) / cfg.gravity_m_s2 + SETTLE_ALLOWANCE_S


def ready_to_hop(ctx: MissionContext, watch: HopperWatch, *, launch: bool = True) -> Generator[None, None, None]:
    """Before a launch: the hopper fit and its built-in test passed, waiting up to :data:`READY_WAIT_S` for
    a problem to clear; else the hop is refused (:class:`MissionFailure`). A hop the hopper reports still
    under way (its line came back in the middle of one) is waited for, up to :func:`airborne_limit_s`.
    ``launch`` False: only the position estimate is to be trusted (no launch yet: is one needed?)."""
    asked = ctx.now()
    deadline = asked + READY_WAIT_S
    while True:
        snapshot = ctx.io.rig.device("hopper").telemetry
        if snapshot is not None and "lost" in snapshot.faults:
            raise UnrecoverableFailure("rover lost: the hopper reports it off the surface (no landing)")
        if snapshot is not None and snapshot.mode not in ("settled", "lost") and snapshot.t > asked:
            if ctx.now() - asked > airborne_limit_s(ctx):
                raise UnrecoverableFailure(
                    f"rover lost: the hopper still reports {snapshot.mode} {ctx.now() - asked:.0f} s on "
                    f"(height {snapshot.height_m:g} m)"
                )
            deadline = ctx.now() + READY_WAIT_S  # a hop under way: wait for its end, then judge
            yield
            continue
        if snapshot is not None and snapshot.t <= asked and ctx.now() < deadline and not watch.problems(True):
            yield  # judged on a sample taken after the hop was asked for, not on one from before
            continue
        problems = watch.problems(position_only=not launch)
        if launch and not problems:
            problems = watch.built_in_test()
        if not problems:
            return
        if ctx.now() >= deadline:
            what = "hop refused" if launch else "position unknown, no hop"
            raise MissionFailure(f"{what}: {'; '.join(problems)}")
        yield from wait(ctx, READY_POLL_S)
