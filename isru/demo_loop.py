"""The live demo's operator loop: start a cycle whenever the mission is idle, and keep the whole station running
through SAFE and an emergency stop — saying what happened and which commands recover.

The loop only reads telemetry and sends commands through the ground core, like any operator tool; flight's
interlocks and mission machine decide everything else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ground.core import GroundCore
from ground.errors import GroundError
from link.schema import Stage

#: Clock seconds to wait for flight's answer to ``mission.start``.
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RecoveryHint:
    """How to send the recovery commands to this demo's flight from another terminal."""

    endpoint: str
    keys_dir: str

    def command(self, name: str) -> str:
        """The ``isru ground send`` line for command ``name`` (both recovery commands are hazardous: --yes)."""
        return f"isru ground send {name} --yes --endpoint {self.endpoint} --keys {self.keys_dir}"


class CycleLoop:
    """One :meth:`step` per second of the demo: starts cycles while the mission is idle, reports SAFE and the
    emergency stop once per episode with the commands that recover, and says when the mission is back."""

    def __init__(self, core: GroundCore, hint: RecoveryHint, say: Callable[[str], None]) -> None:
        self.core = core
        self.hint = hint
        self.say = say
        self.cycles_started = 0
        self._reported: set[str] = set()

    def step(self) -> None:
        """Look at the mission once and act: start a cycle, report a stop, or report a recovery."""
        state = str(self.core.value("mission.state", ""))
        estopped = bool(self.core.value("interlocks.estop", False))
        if estopped:
            self._report_once(
                "estop",
                "EMERGENCY STOP latched: every actuator bus is off. Flight, ground and the console keep running. "
                f"Release it with `{self.hint.command('estop.reset')}` once the cause is understood.",
            )
        if state == "safe":
            first = "once the emergency stop is released, " if estopped else ""
            self._report_once(
                "safe",
                "the mission is in SAFE (the events above say why); flight, ground and the console keep running. "
                f"{first}recover with `{self.hint.command('mission.recover')}` (or the console's Commands page); "
                "cycles start again once the mission is idle.",
            )
        elif state == "idle" and not estopped:
            if self._reported:
                self.say("the mission is idle again: cycles resume")
                self._reported.clear()
            self._start_cycle()
        if not estopped:
            self._reported.discard("estop")

    def _report_once(self, key: str, text: str) -> None:
        if key not in self._reported:
            self._reported.add(key)
            self.say(text)

    def _start_cycle(self) -> None:
        try:
            record = self.core.send("mission.start", {"cycles": 1}, confirmed=True)
            end = record.wait_terminal(START_TIMEOUT_S)
        except GroundError as exc:  # no link, loss of signal, no answer in time: try again next step
            self.say(f"mission.start not done: {exc}")
            return
        if end == Stage.FAILED:
            self.say(f"mission.start failed: {record.reason} {record.message}")
        else:
            self.cycles_started += 1
