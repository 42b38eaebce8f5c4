"""Waiting on a condition variable with a deadline on the clock: commands, values, events.

Waits are sliced so a wait on a scaled or virtual clock notices the clock moving even when nobody notifies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from base.clock import Clock
from ground.errors import WaitTimeout

T = TypeVar("T")

#: Longest single wait on the condition (wall s) before the clock is read again.
WAIT_SLICE_S = 0.05


def wait_until(
    cond: threading.Condition,
    clock: Clock,
    found: Callable[[], T | None],
    timeout_s: float,
    what: str,
    error: type[WaitTimeout] = WaitTimeout,
) -> T:
    """Wait until ``found()`` (called holding ``cond``) returns something other than None; returns it.

    The deadline is ``timeout_s`` seconds of the clock's monotonic time; after it ``error`` is raised, naming
    ``what`` was awaited.
    """
    deadline = clock.monotonic() + timeout_s
    with cond:
        while True:
            result = found()
            if result is not None:
                return result
            remaining = deadline - clock.monotonic()
            if remaining <= 0:
                raise error(f"timed out after {timeout_s} s waiting for {what}")
            cond.wait(min(clock.wall_timeout(remaining), WAIT_SLICE_S))


__all__ = ["WAIT_SLICE_S", "wait_until"]
