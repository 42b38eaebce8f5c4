"""The executive: rate groups driven by the clock.

Each :class:`RateGroup` runs its tasks every ``period_s``. The executive sleeps on the clock until the
next group is due and runs every due group, fastest first. A group that starts late or runs longer than
its period has *slipped*: the slip is counted and reported as an event, and the schedule realigns rather
than bursting to catch up. Lateness, duration and CPU use are kept as telemetry.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from base.clock import Clock, cpu_seconds, work_seconds
from flight.events import EventLog
from link.schema import ChannelSpec

_LOGGER = logging.getLogger(__name__)

Task = Callable[[float], None]

#: Samples kept per group for the lateness percentiles.
LATENESS_WINDOW = 2000


@dataclass
class RateGroup:
    """Tasks run together every ``period_s`` seconds; ``tasks`` receive the scheduled time (s)."""

    name: str
    period_s: float
    tasks: list[tuple[str, Task]] = field(default_factory=list)
    runs: int = 0
    slips: int = 0
    task_errors: int = 0
    last_duration_s: float = 0.0
    max_duration_s: float = 0.0
    lateness_s: deque[float] = field(default_factory=lambda: deque(maxlen=LATENESS_WINDOW))
    next_due: float = 0.0

    def lateness_percentile(self, q: float) -> float:
        """The ``q`` quantile (0..1) of recent start lateness, seconds."""
        if not self.lateness_s:
            return 0.0
        ordered = sorted(self.lateness_s)
        return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


class Executive:
    """Runs rate groups on ``clock`` until stopped."""

    def __init__(self, clock: Clock, events: EventLog, groups: dict[str, float]) -> None:
        if not groups:
            raise ValueError("the executive needs at least one rate group")
        self.clock = clock
        self.events = events
        self.groups = [RateGroup(name, period) for name, period in sorted(groups.items(), key=lambda g: g[1])]
        self._by_name = {g.name: g for g in self.groups}
        self._stopping = False
        self._started = False
        self.cpu_pct = 0.0
        #: (CPU seconds, stopwatch seconds) at the start of the current CPU-use window.
        self._cpu_window: tuple[float, float] = (cpu_seconds(), work_seconds())
        self._late_t = -math.inf
        self._late_p99_ms: list[float] = []
        self._channel_names = [
            tuple(f"exec.{g.name}.{field}" for field in ("runs", "slips", "duration_ms", "late_p99_ms"))
            for g in self.groups
        ]
        self._waiter: Callable[[float], None] = clock.sleep_until

    def set_waiter(self, waiter: Callable[[float], None] | None) -> None:
        """Wait between groups with ``waiter(deadline)`` (clock monotonic s) instead of sleeping on the clock,
        so a link can service its socket while the loop is idle; None restores plain sleeping."""
        self._waiter = waiter or self.clock.sleep_until

    def group(self, name: str) -> RateGroup:
        """The rate group called ``name``."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no rate group {name!r}; expected one of {sorted(self._by_name)}") from None

    def set_period(self, group: str, period_s: float) -> None:
        """Run rate group ``group`` every ``period_s`` (> 0) seconds from now on: a faster period takes effect
        at once (the group is due within one new period), a slower one after the group's next run."""
        if not period_s > 0:
            raise ValueError(f"rate group {group!r}: period must be > 0 s, got {period_s!r}")
        target = self.group(group)
        if period_s == target.period_s:
            return
        target.period_s = period_s
        if self._started:
            target.next_due = min(target.next_due, self.clock.monotonic() + period_s)

    def add_task(self, group: str, name: str, task: Task) -> None:
        """Run ``task(scheduled_time)`` in rate group ``group`` (tasks run in the order added)."""
        self.group(group).tasks.append((name, task))

    def stop(self) -> None:
        """Make :meth:`run` return after the current iteration."""
        self._stopping = True

    def _start(self) -> None:
        now = self.clock.monotonic()
        for group in self.groups:
            group.next_due = now
        self._started = True

    def run_once(self) -> None:
        """Sleep until the next group is due, then run every due group once."""
        if not self._started:
            self._start()
        due = min(g.next_due for g in self.groups)
        self._waiter(due)
        for group in self.groups:
            if group.next_due <= due + 1e-9:
                self._run_group(group)

    def run(self, duration_s: float | None = None, until: Callable[[], bool] | None = None) -> None:
        """Run until :meth:`stop`, ``duration_s`` clock seconds, or ``until()`` is true."""
        if not self._started:
            self._start()
        end = math.inf if duration_s is None else self.clock.monotonic() + duration_s
        self._stopping = False
        groups = self.groups
        while not self._stopping:
            if until is not None and until():
                return
            # What run_once() does, without computing the next due time twice per iteration.
            due = min([g.next_due for g in groups])
            if due >= end - 1e-9:
                self._waiter(end)
                return
            self._waiter(due)
            for group in groups:
                if group.next_due <= due + 1e-9:
                    self._run_group(group)

    def _run_group(self, group: RateGroup) -> None:
        clock = self.clock
        scheduled = group.next_due
        start = clock.monotonic()
        lateness = max(0.0, start - scheduled)
        group.lateness_s.append(lateness)
        for name, task in group.tasks:
            try:
                task(scheduled)
            except Exception as exc:  # one failing task must not stop the others or the loop
                group.task_errors += 1
                _LOGGER.exception("task %s/%s failed", group.name, name)
                self.events.error("executive", "task_failed", f"{group.name}/{name}: {exc!r}")
        end = clock.monotonic()
        group.runs += 1
        group.last_duration_s = end - start
        group.max_duration_s = max(group.max_duration_s, group.last_duration_s)
        group.next_due = scheduled + group.period_s
        if group.next_due <= end:
            missed = math.floor((end - scheduled) / group.period_s)
            group.slips += 1
            group.next_due = scheduled + (missed + 1) * group.period_s
            self.events.warning(
                "executive",
                "slip",
                f"rate group {group.name} overran: {(end - scheduled) * 1000:.1f} ms for a "
                f"{group.period_s * 1000:.1f} ms period; {missed} period(s) skipped",
                group=group.name,
                missed=missed,
            )

    def channels(self) -> list[ChannelSpec]:
        """Dictionary entries of :meth:`telemetry`."""
        specs = [ChannelSpec("exec.cpu_pct", "%", "flight process CPU use over the last second", alarm_low=0.0)]
        for group in self.groups:
            runs, slips, duration, late = (
                f"exec.{group.name}.{f}" for f in ("runs", "slips", "duration_ms", "late_p99_ms")
            )
            what = f"{group.name} rate group ({group.period_s:g} s period)"
            specs += [
                ChannelSpec(runs, "count", f"{what}: ticks run since start", "int"),
                ChannelSpec(slips, "count", f"{what}: ticks started after their deadline", "int"),
                ChannelSpec(duration, "ms", f"{what}: wall time of the last tick"),
                ChannelSpec(late, "ms", f"{what}: 99th percentile of tick start lateness"),
            ]
        return specs

    def telemetry(self) -> dict[str, Any]:
        """Loop timing and CPU use, by channel name.

        CPU use is the process's CPU seconds over stopwatch (wall) seconds, re-read at most once per wall
        second: reading the process CPU clock can cost a millisecond on a busy machine (the kernel sums every
        thread's run time), and on a virtual clock a clock second may pass in a few milliseconds of wall time.
        The lateness percentiles are recomputed at most once per second of clock time (a sort per group,
        far more than a rate-group tick; telemetry publishes them at its own, faster rate).
        """
        cpu_prev, wall_prev = self._cpu_window
        wall = work_seconds()
        if wall - wall_prev >= 1.0:
            cpu = cpu_seconds()
            self.cpu_pct = 100.0 * (cpu - cpu_prev) / (wall - wall_prev)
            self._cpu_window = (cpu, wall)
        now = self.clock.monotonic()
        if now - self._late_t >= 1.0 or not self._late_p99_ms:
            self._late_t = now
            self._late_p99_ms = [group.lateness_percentile(0.99) * 1000 for group in self.groups]
        values: dict[str, Any] = {"exec.cpu_pct": self.cpu_pct}
        for group, names, late_ms in zip(self.groups, self._channel_names, self._late_p99_ms, strict=True):
            runs, slips, duration, late = names
            values[runs] = group.runs
            values[slips] = group.slips
            values[duration] = group.last_duration_s * 1000
            values[late] = late_ms
        return values
