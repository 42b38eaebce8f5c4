"""The one clock: every module reads time and sleeps through a :class:`Clock`.

Three implementations share one interface:

* :class:`RealClock` — wall time, for the rig.
* :class:`ScaledClock` — wall time sped up by a warp factor, for simulations across processes.
* :class:`VirtualClock` — time that moves only when advanced, for tests and in-process simulation.
  It runs hours of simulated operation in seconds, the same way every run.
* :class:`PacedClock` — lock-step simulated time for a live stack: it moves only when its owner sleeps,
  and never faster than ``warp`` times the wall, so a starved process slows the run instead of tripping
  the dead-men of the devices simulated on the same clock.

All values are seconds (float). ``monotonic()`` never goes backwards; ``now()`` is UTC seconds since the
Unix epoch, for timestamps only. Nothing outside this module may call ``time.time``, ``time.sleep``,
``time.monotonic`` or ``threading.Timer``.
"""

from __future__ import annotations

import abc
import functools
import heapq
import itertools
import operator
import threading
import time
from collections.abc import Callable

__all__ = [
    "Clock",
    "PacedClock",
    "RealClock",
    "ScaledClock",
    "VirtualClock",
    "cpu_seconds",
    "make_clock",
    "work_seconds",
]

#: Default epoch for a virtual clock: 2030-01-01T00:00:00Z, so virtual timestamps look like dates.
VIRTUAL_EPOCH_S = 1_893_456_000.0


class Clock(abc.ABC):
    """Source of time and of waiting. Seconds throughout."""

    @abc.abstractmethod
    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (origin arbitrary)."""

    @abc.abstractmethod
    def now(self) -> float:
        """UTC seconds since the Unix epoch, for timestamps."""

    @abc.abstractmethod
    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time (non-positive values return at once)."""

    def sleep_until(self, deadline: float) -> None:
        """Wait until ``monotonic()`` reaches ``deadline`` (seconds)."""
        self.sleep(deadline - self.monotonic())

    @property
    def warp(self) -> float:
        """Clock seconds per wall second (1.0 for real time; informational for virtual time)."""
        return 1.0

    def wall_timeout(self, seconds: float) -> float:
        """Convert a duration of clock time to wall seconds for a blocking OS call (e.g. a port read)."""
        return seconds / self.warp

    def wait_io(self, seconds: float, wait: Callable[[float], object]) -> None:
        """Block in ``wait(wall_seconds)`` (a socket poll that returns early when something arrives) for at
        most ``seconds`` of this clock's time. On clocks that run by themselves, time passes meanwhile."""
        wait(self.wall_timeout(seconds))


class RealClock(Clock):
    """Wall time."""

    def __init__(self) -> None:
        if type(self).monotonic is RealClock.monotonic:
            # The OS clock itself, without a Python frame per reading: the executive and every poll read it.
            self.monotonic = time.monotonic  # type: ignore[method-assign]

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ScaledClock(Clock):
    """Wall time multiplied by ``warp`` (> 0): with ``warp=10`` one wall second is ten clock seconds."""

    def __init__(self, warp: float, epoch: float | None = None) -> None:
        if not warp > 0:
            raise ValueError(f"ScaledClock warp must be > 0, got {warp!r}")
        self._warp = float(warp)
        self._wall0 = time.monotonic()
        self._epoch0 = time.time() if epoch is None else float(epoch)

    @property
    def warp(self) -> float:
        return self._warp

    def monotonic(self) -> float:
        return (time.monotonic() - self._wall0) * self._warp

    def now(self) -> float:
        return self._epoch0 + self.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self._warp)


class VirtualClock(Clock):
    """Time that moves only when advanced.

    Two ways to use it:

    * ``auto_advance=True`` (the default): a discrete-event clock. ``sleep(dt)`` *is* the advance — the
      single thread that owns the simulation never waits on the wall, and the same inputs give the
      same run every time.
    * ``auto_advance=False``: a test steps time with :meth:`advance`; other threads that call ``sleep``
      block on a condition variable (no busy-waiting) until the clock passes their deadline.

    Callbacks scheduled with :meth:`call_at` run, in deadline order, inside :meth:`advance` as the
    clock passes them.
    """

    def __init__(self, start: float = 0.0, *, epoch: float = VIRTUAL_EPOCH_S, auto_advance: bool = True) -> None:
        self._t = float(start)
        self._epoch = float(epoch)
        self.auto_advance = auto_advance
        self._cond = threading.Condition()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._sleepers = 0  # threads blocked in sleep() (auto_advance=False), to be woken by advance
        if type(self).monotonic is VirtualClock.monotonic:
            # Read ``_t`` without a Python frame per reading (thousands per simulated second).
            self.monotonic = functools.partial(_READ_T, self)  # type: ignore[method-assign]

    def monotonic(self) -> float:
        return self._t

    def now(self) -> float:
        return self._epoch + self._t

    def step_wall(self, seconds: float) -> None:
        """Step the wall clock (:meth:`now`) by ``seconds`` (negative: backwards), the monotonic clock untouched,
        as NTP correcting a bad start or an operator setting the date does."""
        self._epoch += float(seconds)

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (>= 0), running due callbacks and waking sleepers."""
        if seconds < 0:
            raise ValueError(f"cannot advance a clock backwards by {seconds!r} s")
        self.advance_to(self._t + seconds)

    def advance_to(self, deadline: float) -> None:
        """Move time forward to ``deadline`` seconds (no-op if already past)."""
        if not self._timers and not self._sleepers:
            # Nothing to run and nobody to wake: the executive's every step on virtual time comes here.
            if deadline > self._t:
                self._t = deadline
            return
        while True:
            with self._cond:
                if self._timers and self._timers[0][0] <= deadline:
                    when, _, callback = heapq.heappop(self._timers)
                    self._t = max(self._t, when)
                else:
                    callback = None
                    self._t = max(self._t, deadline)
                self._cond.notify_all()
            if callback is None:
                return
            callback()

    def call_at(self, when: float, callback: Callable[[], None]) -> None:
        """Run ``callback()`` when the clock passes ``when`` (monotonic seconds)."""
        with self._cond:
            heapq.heappush(self._timers, (when, next(self._order), callback))

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self.auto_advance:
            self.advance(seconds)
            return
        deadline = self._t + seconds
        with self._cond:
            self._sleepers += 1
            try:
                self._cond.wait_for(lambda: self._t >= deadline)
            finally:
                self._sleepers -= 1

    def sleep_until(self, deadline: float) -> None:
        """Wait until ``monotonic()`` reaches ``deadline`` (seconds); with ``auto_advance``, move there."""
        seconds = deadline - self._t
        if seconds > 0 and self.auto_advance:
            self.advance_to(self._t + seconds)  # the same arithmetic as sleep(), to the last bit
        else:
            self.sleep(seconds)


_READ_T = operator.attrgetter("_t")


class PacedClock(Clock):
    """Lock-step simulated time, as ArduPilot's SITL runs it: time moves only when its owner sleeps (or waits
    on I/O through :meth:`wait_io`), and at most ``warp`` clock seconds per wall second.

    One thread owns it: the loop that runs flight and the simulated devices in one process. When that loop
    falls behind the pace by more than ``max_lag_s`` wall seconds (a busy CPU), the pace is re-anchored
    instead of bursting to catch up: the run slows down, and nothing on the clock — a device's dead-man, a
    time-out — sees a gap the loop did not see. :attr:`slowdowns` counts those re-anchorings.
    """

    def __init__(self, warp: float, epoch: float | None = None, *, max_lag_s: float = 0.25) -> None:
        if not warp > 0:
            raise ValueError(f"PacedClock warp must be > 0, got {warp!r}")
        self._warp = float(warp)
        self._t = 0.0
        self._epoch = time.time() if epoch is None else float(epoch)
        self.max_lag_s = max_lag_s
        self._anchor_wall = time.monotonic()
        self._anchor_t = 0.0
        self.slowdowns = 0
        if type(self).monotonic is PacedClock.monotonic:
            self.monotonic = functools.partial(_READ_T, self)  # type: ignore[method-assign]

    @property
    def warp(self) -> float:
        return self._warp

    def monotonic(self) -> float:
        return self._t

    def now(self) -> float:
        return self._epoch + self._t

    def _wall_due(self, t: float) -> float:
        return self._anchor_wall + (t - self._anchor_t) / self._warp

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        target = self._t + seconds
        wait = self._wall_due(target) - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        elif -wait > self.max_lag_s:
            self._reanchor(target)
        self._t = target

    def wait_io(self, seconds: float, wait: Callable[[float], object]) -> None:
        if seconds <= 0:
            return
        target = self._t + seconds
        remaining = self._wall_due(target) - time.monotonic()
        if remaining > 0:
            wait(remaining)
        wall = time.monotonic()
        paced = self._anchor_t + (wall - self._anchor_wall) * self._warp
        if paced - target > self.max_lag_s * self._warp:
            self._reanchor(target)
        self._t = max(self._t, min(target, paced))

    def _reanchor(self, t: float) -> None:
        self._anchor_wall, self._anchor_t = time.monotonic(), t
        self.slowdowns += 1


def make_clock(mode: str, warp: float = 1.0) -> Clock:
    """Build a clock from configuration: ``mode`` is ``real``, ``scaled``, ``paced`` or ``virtual``."""
    if mode == "real":
        return RealClock()
    if mode == "scaled":
        return ScaledClock(warp)
    if mode == "paced":
        return PacedClock(warp)
    if mode == "virtual":
        return VirtualClock()
    raise ValueError(f"unknown clock mode {mode!r}; expected one of: real, scaled, paced, virtual")


def cpu_seconds() -> float:
    """CPU time this process has used, seconds (user + system); for load telemetry, not for timing."""
    return time.process_time()


def work_seconds() -> float:
    """A stopwatch reading, wall seconds from an arbitrary origin, whatever the clock mode: for measuring how
    long a piece of work took (time budgets), never for timestamps or scheduling."""
    return time.perf_counter()
