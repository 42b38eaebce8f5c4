"""Command verification on the ground: every command with every stage flight reported.

A :class:`CommandRecord` is made when ground sends a command (or when a status arrives for a command ground
did not send: a stored sequence, autonomy, another console). Flight's stages (``accepted``, ``started``,
``progress``, ``completed`` / ``failed`` with a reason) are appended as they arrive on the link thread;
other threads wait for them with deadlines on the clock's monotonic seconds (a condition variable, no
polling loop of their own).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from base.clock import Clock
from ground.errors import WaitTimeout
from ground.waiting import wait_until
from link.schema import TERMINAL_STAGES, Stage

_LOGGER = logging.getLogger(__name__)

TERMINAL = TERMINAL_STAGES
#: Stages kept per record; beyond this, successive progress reports replace the last one.
MAX_STAGES = 200


@dataclass(frozen=True)
class StageReport:
    """One verification report: ``t`` epoch seconds (flight's clock), ``progress`` 0..1 or None."""

    stage: str
    t: float
    reason: str = ""
    message: str = ""
    progress: float | None = None


class CommandRecord:
    """A command and its stages. Read it from any thread; only :class:`CommandHistory` writes it."""

    def __init__(
        self,
        history: CommandHistory,
        command_id: str,
        name: str,
        args: dict[str, Any] | None,
        source: str,
        sent_t: float | None,
    ) -> None:
        self._history = history
        self.id = command_id
        self.name = name
        self.args = dict(args or {})
        self.source = source
        #: Epoch seconds when ground sent it (None for a command ground did not send).
        self.sent_t = sent_t
        self._stages: list[StageReport] = []

    # ---------------------------------------------------------------------------------- reading
    @property
    def stages(self) -> list[StageReport]:
        """The stages reported so far, in arrival order."""
        with self._history.cond:
            return list(self._stages)

    def statuses(self) -> list[dict[str, Any]]:
        """The stages as ``CommandStatus.as_dict()`` dicts (id, name, stage, source, t, reason, message, progress)."""
        with self._history.cond:
            return [self._status(s) for s in self._stages]

    def _status(self, s: StageReport) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "stage": s.stage,
            "source": self.source,
            "t": s.t,
            "reason": s.reason,
            "message": s.message,
            "progress": s.progress,
        }

    @property
    def stage(self) -> str:
        """The latest stage, or ``sent`` before flight reported anything."""
        with self._history.cond:
            return self._stages[-1].stage if self._stages else "sent"

    @property
    def terminal(self) -> str | None:
        """``completed`` or ``failed`` once the command has ended, else None."""
        with self._history.cond:
            return self._terminal()

    def _terminal(self) -> str | None:
        for s in reversed(self._stages):
            if s.stage in TERMINAL:
                return s.stage
        return None

    @property
    def reason(self) -> str:
        """The failure reason code ('' unless failed)."""
        with self._history.cond:
            failed = [s for s in self._stages if s.stage == Stage.FAILED]
            return failed[-1].reason if failed else ""

    @property
    def message(self) -> str:
        """The latest non-empty message reported ('' if none)."""
        with self._history.cond:
            return next((s.message for s in reversed(self._stages) if s.message), "")

    @property
    def progress(self) -> float | None:
        """The latest progress fraction (0..1), 1.0 once completed, None if never reported."""
        with self._history.cond:
            if self._terminal() == Stage.COMPLETED:
                return 1.0
            return next((s.progress for s in reversed(self._stages) if s.progress is not None), None)

    def as_dict(self) -> dict[str, Any]:
        """The record as plain data (for JSON, tables): id, name, args, source, sent_t, stage, reason, stages."""
        with self._history.cond:
            return {
                "id": self.id,
                "name": self.name,
                "args": dict(self.args),
                "source": self.source,
                "sent_t": self.sent_t,
                "stage": self._stages[-1].stage if self._stages else "sent",
                "reason": next((s.reason for s in reversed(self._stages) if s.stage == Stage.FAILED), ""),
                "stages": [self._status(s) for s in self._stages],
            }

    # ---------------------------------------------------------------------------------- waiting
    def wait_for(self, stage: str, timeout_s: float) -> StageReport:
        """Wait until ``stage`` is reported; returns it. Raises :class:`WaitTimeout` after ``timeout_s``
        clock seconds, or at once if the command ends without reaching ``stage``."""

        def found() -> StageReport | None:
            for s in self._stages:
                if s.stage == stage:
                    return s
            if self._terminal() is not None:
                raise WaitTimeout(f"{self.name} ({self.id}) ended {self._describe_end()} without reaching {stage}")
            return None

        return self._history.wait(found, timeout_s, f"{self.name} ({self.id}) to reach {stage}")

    def wait_terminal(self, timeout_s: float) -> str:
        """Wait until the command completes or fails; returns ``completed`` or ``failed``. Raises
        :class:`WaitTimeout` after ``timeout_s`` clock seconds."""
        return self._history.wait(self._terminal, timeout_s, f"{self.name} ({self.id}) to end")

    def _describe_end(self) -> str:
        end = self._terminal()
        reason = self._stages[-1].reason if self._stages else ""
        return f"{end} ({reason})" if reason else str(end)

    def __repr__(self) -> str:
        return f"CommandRecord({self.id!r}, {self.name!r}, stage={self.stage!r})"


class CommandHistory:
    """Every command seen, newest last, at most ``keep`` of them (oldest dropped first)."""

    def __init__(self, clock: Clock, *, keep: int = 2000) -> None:
        self.clock = clock
        self.keep = keep
        self.cond = threading.Condition(threading.RLock())
        self._records: OrderedDict[str, CommandRecord] = OrderedDict()

    def expect(self, command_id: str, name: str, args: dict[str, Any] | None, source: str) -> CommandRecord:
        """Record a command ground is about to send (before it leaves, so no status can outrun it). A tool
        that learns the id only from the hub's answer may find stages already reported: they are kept."""
        with self.cond:
            record = CommandRecord(self, command_id, name, args, source, self.clock.now())
            earlier = self._records.get(command_id)
            if earlier is not None:
                record._stages = list(earlier._stages)
            self._add(record)
            return record

    def forget(self, command_id: str) -> None:
        """Drop a record (a command that could not be sent after all)."""
        with self.cond:
            self._records.pop(command_id, None)
            self.cond.notify_all()

    def update(self, status: dict[str, Any]) -> CommandRecord | None:
        """Add a flight status (``CommandStatus.as_dict()``) to its record, creating the record for a
        command ground did not send. Returns the record (None for a status without an id)."""
        command_id = status.get("id") if isinstance(status, dict) else None
        if not command_id:
            _LOGGER.warning("command status without an id ignored: %r", status)
            return None
        progress = status.get("progress")
        report = StageReport(
            str(status.get("stage", "")),
            _float(status.get("t")),
            str(status.get("reason") or ""),
            str(status.get("message") or ""),
            float(progress) if isinstance(progress, int | float) else None,
        )
        with self.cond:
            record = self._records.get(command_id)
            if record is None:
                record = CommandRecord(
                    self, str(command_id), str(status.get("name", "")), None, str(status.get("source", "")), None
                )
                self._add(record)
            stages = record._stages
            if len(stages) >= MAX_STAGES and report.stage == "progress" and stages[-1].stage == "progress":
                stages[-1] = report
            else:
                stages.append(report)
            self.cond.notify_all()
            return record

    def _add(self, record: CommandRecord) -> None:
        self._records[record.id] = record
        self._records.move_to_end(record.id)
        while len(self._records) > self.keep:
            self._records.popitem(last=False)
        self.cond.notify_all()

    def get(self, command_id: str) -> CommandRecord | None:
        """The record of ``command_id`` (None if unknown or dropped)."""
        with self.cond:
            return self._records.get(command_id)

    def records(self, limit: int | None = None) -> list[CommandRecord]:
        """The records, oldest first (the newest ``limit`` if given)."""
        with self.cond:
            items = list(self._records.values())
        return items if limit is None else items[-limit:]

    def __len__(self) -> int:
        with self.cond:
            return len(self._records)

    def wake(self) -> None:
        """Make waiters re-check their condition now (something other than a command changed)."""
        with self.cond:
            self.cond.notify_all()

    def wait(self, found: Callable[[], Any], timeout_s: float, what: str) -> Any:
        """Wait until ``found()`` (called under the lock) returns something other than None; returns it.

        The deadline is ``timeout_s`` seconds on the clock's monotonic time; raises :class:`WaitTimeout`.
        """
        return wait_until(self.cond, self.clock, found, timeout_s, what)


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
