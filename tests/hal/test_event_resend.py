"""Reliable events over a lossy line (docs/icd.md section 8.1): the drill driver on the emulator's serial
byte path with bytes dropped in both directions. With the device resending, every COMMAND_COMPLETE reaches
the host exactly once and in time; with resending off the host asks for the lost ones (``resend_events``) at
its time-out (the first wait of each such motion ends without it: the line did lose it)."""

from __future__ import annotations

import dataclasses
import random

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import VirtualClock
from hal.devices import open_device
from hal.errors import DeviceNack, ResponseTimeout
from hal.icd import Completion
from isru.config import load_config
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld

MOTIONS = 40
#: How long the test waits for each completion, s.
WAIT_S = 1.0
#: Per-byte loss: about one frame in ten of the 20-byte frames is lost.
DROP_RATE = 0.005


def run_motions(event_resend_s: float) -> tuple[list[Completion | str], int, int, int]:
    """Start MOTIONS retracts on a lossy line, each waited for up to WAIT_S; (their outcomes, ``late`` for
    a completion that came after WAIT_S, duplicate completions the host saw, events the device resent,
    bytes the line dropped). A completion waited for longer than WAIT_S was lost and asked for again."""
    clock = VirtualClock()
    world = install_world(SimWorld(clock, seed=5, devices=("drill",)))
    config = load_config()
    device_config = dataclasses.replace(config.devices["drill"], event_resend_s=event_resend_s)
    drill = open_device("drill", device_config, config.transport, clock, connect=True)
    line = world.port_faults["drill"]
    line.rng = random.Random(11)
    line.drop_rate = DROP_RATE
    outcomes: list[Completion | str] = []
    try:
        for _ in range(MOTIONS):
            try:
                motion = drill.start("retract", rate_m_s=0.05)  # at the surface: completes at once
            except (ResponseTimeout, DeviceNack) as exc:  # three lost attempts in a row: rare, not the point
                outcomes.append(type(exc).__name__)
                continue
            try:
                completion = motion.wait(WAIT_S)
            except ResponseTimeout:
                outcomes.append("lost")
                continue
            late = motion.t_end is not None and motion.t_end - motion.t_start >= WAIT_S
            outcomes.append("late" if late else completion)
        line.drop_rate = 0.0
        completions = [e for e in drill.events if e.name == "COMMAND_COMPLETE"]
        duplicates = len(completions) - sum(1 for o in outcomes if isinstance(o, Completion) or o == "late")
        return outcomes, duplicates, world.device("drill").events_resent, line.bytes_dropped
    finally:
        drill.close()
        uninstall_world()


def test_every_completion_arrives_once_and_in_time_on_a_lossy_line() -> None:
    outcomes, duplicates, resent, dropped = run_motions(event_resend_s=0.1)
    assert dropped > 0 and resent > 0
    motions = [o for o in outcomes if o not in ("ResponseTimeout", "DeviceNack")]
    assert len(motions) >= MOTIONS - 2
    assert motions == [Completion.OK] * len(motions), outcomes
    assert duplicates == 0


def test_without_resend_the_host_asks_for_lost_completions_at_its_time_out() -> None:
    outcomes, duplicates, resent, dropped = run_motions(event_resend_s=0.0)
    assert dropped > 0 and resent > 0  # resent only when asked (resend_events)
    # Lost on the line and recovered by asking at the host's time-out; asked once, the answer itself may be lost
    # too (then the wait ends without it, and the completion that comes later is one the host did not wait for).
    assert "late" in outcomes
    assert outcomes.count("lost") <= outcomes.count("late")
    assert duplicates <= outcomes.count("lost")
