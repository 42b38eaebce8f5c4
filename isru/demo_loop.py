"""The live demo's operator loop: start a cycle whenever the mission is idle, and keep the whole station running
through SAFE and an emergency stop — saying what happened and which commands recover.

The loop only reads telemetry and sends commands through the ground core, like any operator tool; flight's
interlocks and mission machine decide everything else.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ground.core import GroundCore
from ground.errors import GroundError, WaitTimeout
from ground.verifier import CommandRecord
from link.schema import Stage

#: Clock seconds to wait for flight's answer to ``mission.start``.
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RecoveryHint:
    """How to send the recovery commands to this demo's flight from another terminal (and, when ``console`` is
    True, from the browser console the demo serves)."""

    endpoint: str
    keys_dir: str
    console: bool = True

    def command(self, name: str) -> str:
        """The ``isru ground send`` line for command ``name`` (both recovery commands are hazardous: --yes)."""
        return f"isru ground send {name} --yes --endpoint {self.endpoint} --keys {self.keys_dir}"

    def running(self) -> str:
        """Which parts of the station keep running through a stop (the console only when the demo serves it)."""
        return "Flight, ground and the console keep running." if self.console else "Flight and ground keep running."

    def estop_text(self) -> str:
        """What the demo says when the emergency stop latches."""
        return (
            f"EMERGENCY STOP latched: every actuator bus is off. {self.running()} "
            f"Release it with `{self.command('estop.reset')}` once the cause is understood."
        )

    def safe_text(self, estopped: bool) -> str:
        """What the demo says when the mission goes to SAFE (``estopped``: the emergency stop is latched too)."""
        first = "Once the emergency stop is released, recover" if estopped else "Recover"
        page = " (or the console's Commands page)" if self.console else ""
        return (
            f"the mission is in SAFE (the events above say why). {self.running()} "
            f"{first} with `{self.command('mission.recover')}`{page}; cycles start again once the mission is idle."
        )

    def hold_text(self) -> str:
        """What the demo says when the mission holds for the ground."""
        return (
            f"the mission holds for the ground (the events above say why). {self.running()} "
            f"Once the cause is dealt with, resume the held step with `{self.command('mission.resume')}`, or end "
            f"the cycle with `{self.command('mission.abort')}` (then `mission.recover` from SAFE)."
        )


class CycleLoop:
    """One :meth:`step` per second of the demo: starts cycles while the mission is idle, reports SAFE and the
    emergency stop once per episode with the commands that recover, and says when the mission is back."""

    def __init__(
        self,
        core: GroundCore,
        hint: RecoveryHint,
        say: Callable[[str], None],
        flight_alive: Callable[[], bool] = lambda: True,
    ) -> None:
        self.core = core
        self.hint = hint
        self.say = say
        self.flight_alive = flight_alive  # a start stops waiting for flight's answer once flight has exited
        self.cycles_started = 0
        self._reported: set[str] = set()
        #: Flight time (epoch s) of the last start's final answer: an "idle" older than that is the mission
        #: before the start (under light time, and with telemetry held back by the link's byte cap, statuses
        #: arrive first), not one that is idle again.
        self._started_t = -math.inf

    def step(self) -> None:
        """Look at the mission once and act: start a cycle, report a stop, or report a recovery."""
        sample = self.core.sample("mission.state")
        state = "" if sample is None else str(sample[0])
        estopped = bool(self.core.value("interlocks.estop", False))
        if estopped:
            self._report_once("estop", self.hint.estop_text())
        if state == "safe":
            self._report_once("safe", self.hint.safe_text(estopped))
        elif state == "hold":
            self._report_once("hold", self.hint.hold_text())
        elif state == "idle" and not estopped and sample is not None and sample[1] >= self._started_t:
            # an "idle" sample newer than the last start's answer: the mission is idle again
            if self._reported:
                self.say("the mission is idle again: cycles resume")
                self._reported.clear()
            self._start_cycle()
        if not estopped:
            self._reported.discard("estop")
        if state != "hold":  # resumed: a later hold is reported again
            self._reported.discard("hold")

    def _report_once(self, key: str, text: str) -> None:
        if key not in self._reported:
            self._reported.add(key)
            self.say(text)

    def _start_cycle(self) -> None:
        try:
            record = self.core.send("mission.start", {"cycles": 1}, confirmed=True)
            end = self._wait_end(record)
        except GroundError as exc:  # no link, loss of signal, no answer in time: try again next step
            self.say(f"mission.start not done: {exc}")
            return
        if end is None:  # flight exited meanwhile: the caller sees it and says so
            return
        if end == Stage.FAILED:
            self.say(f"mission.start failed: {record.reason} {record.message}")
        else:
            self.cycles_started += 1
            self._started_t = max(stage.t for stage in record.stages)

    def _wait_end(self, record: CommandRecord) -> str | None:
        """Flight's final answer to ``record`` (second by second, up to :data:`START_TIMEOUT_S`), or None as soon
        as flight has exited; :class:`WaitTimeout` when no answer came in time."""
        deadline = self.core.clock.monotonic() + START_TIMEOUT_S
        while True:
            try:
                return record.wait_terminal(min(1.0, max(0.0, deadline - self.core.clock.monotonic())))
            except WaitTimeout:
                if not self.flight_alive():
                    return None
                if self.core.clock.monotonic() >= deadline:
                    raise
