"""Commands through the interlocks, waited for tick by tick (nothing sleeps: time comes from the clock)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from flight.mission.context import MissionContext, MissionFailure
from hal.icd import Completion
from hal.motion import Motion


def motion(
    ctx: MissionContext, device: str, name: str, *, on_tick: Callable[[], None] | None = None, **args: Any
) -> Generator[None, None, Completion]:
    """Issue a command through the interlocks and wait (yielding) until its motion ends; ``on_tick`` runs
    on every tick while it does. A motion longer than ``motion_timeout_s`` is stopped and fails."""
    result = ctx.io.command(device, name, **args)
    if not isinstance(result, Motion):
        return Completion.OK
    deadline = ctx.now() + ctx.config.motion_timeout_s
    while not result.done:
        if result.lost_reason is not None:
            raise MissionFailure(f"{device}.{name}: link lost during the motion ({result.lost_reason})")
        if ctx.now() > deadline:
            ctx.io.command(device, "stop")
            raise MissionFailure(f"{device}.{name} did not finish within {ctx.config.motion_timeout_s:g} s")
        yield
        if on_tick is not None:
            on_tick()
    assert result.completion is not None
    yield from _fresh_sample(ctx, device)
    return result.completion


#: Longest wait for a device's first telemetry after a motion ended, s (a quiet stream samples every second).
FRESH_WAIT_S = 3.0


def _fresh_sample(ctx: MissionContext, device: str) -> Generator[None, None, None]:
    """Wait (at most :data:`FRESH_WAIT_S`) for ``device``'s first telemetry sample after now: the next step
    then reads the state the motion left (a sealed lid, a deployed anchor), as the interlocks will — they
    judge on fresh data and refuse on the sample from before the motion ended."""
    ended = ctx.now()
    driver = ctx.io.rig.device(device)
    while (driver.telemetry is None or driver.telemetry.t <= ended) and ctx.now() < ended + FRESH_WAIT_S:
        yield


def require(ctx: MissionContext, device: str, name: str, **args: Any) -> Generator[None, None, None]:
    """:func:`motion`, failing unless it ends OK."""
    completion = yield from motion(ctx, device, name, **args)
    if completion != Completion.OK:
        raise MissionFailure(f"{device}.{name} ended {completion.name}")


def wait(ctx: MissionContext, seconds: float) -> Generator[None, None, None]:
    """Yield until ``seconds`` (s) have passed on the clock."""
    end = ctx.now() + seconds
    while ctx.now() < end:
        yield
