"""Stored sequences: run a file of time-tagged commands through the dispatcher, one step at a time.

:class:`SequenceRunner` loads every sequence file of a directory (:mod:`flight.sequence_file`) and runs one
sequence at a time. Each step is submitted through the dispatcher with the id
``seq:<name>:<run>:<step index>`` and source ``sequence``, so it passes the same validation and interlocks
as an operator's command; the runner then waits for that command's ``completed`` report before it
considers the next step. A ``failed`` report stops the sequence with an event naming the step and the
reason.

Time tags: ``after_s`` counts seconds (monotonic clock) from the previous step's completion, or from the
start of the run for the first step; time spent paused does not count. ``at`` is compared with
``clock.now()``; a time already past when the step comes up runs at once, with an event saying how late.

A run number is never reused: it is one more than the last run of that sequence, skipping numbers whose
command ids the dispatcher has already seen (its id store persists across restarts in flight), so a
re-run never collides with a command executed before.

``pause`` holds before the next step (a step already running is not interrupted); ``abort`` cancels the
running step. :meth:`SequenceRunner.tick` is called by the executive, after the dispatcher's tick, in the
same rate group.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

from base.clock import Clock
from base.config_loader import ConfigError
from flight.commands import ArgSpec, command
from flight.dispatcher import TERMINAL, CommandStatus, Dispatcher, Stage
from flight.errors import CommandRejected
from flight.events import EventLog
from flight.sequence_file import Sequence, Step, load_directory
from flight.telemetry import ChannelSpec

SOURCE = "seq"


class SeqState(enum.StrEnum):
    """What the runner is doing."""

    IDLE = "idle"  # nothing has run yet
    WAITING = "waiting"  # waiting for the next step's time tag
    RUNNING = "running"  # a step's command is executing
    PAUSED = "paused"  # held before the next step
    COMPLETED = "completed"  # the last run finished every step
    FAILED = "failed"  # the last run stopped at a failed step
    ABORTED = "aborted"  # the last run was aborted


class SequenceRunner:
    """Loads the stored sequences of ``directory`` and runs them one at a time."""

    def __init__(self, dispatcher: Dispatcher, clock: Clock, events: EventLog, directory: str | Path) -> None:
        self.dispatcher = dispatcher
        self.clock = clock
        self.events = events
        self.directory = Path(directory)
        self.sequences: dict[str, Sequence] = load_directory(self.directory)
        self._last_run: dict[str, int] = {}
        self._final = SeqState.IDLE
        self._sequence: Sequence | None = None
        self._last_name = ""
        self._last_count = 0
        self._run = 0
        self._index = 0
        self._ref = 0.0  # monotonic time a relative tag counts from
        self._late_checked = False
        self._paused_at: float | None = None
        self._in_flight: str | None = None
        self._result: CommandStatus | None = None
        self._done_at = 0.0
        self.failure = ""
        self.runs_completed = 0
        self.runs_failed = 0
        dispatcher.on_status(self._on_status)

    # --------------------------------------------------------------------------------- status
    @property
    def state(self) -> SeqState:
        """The runner's state."""
        if self._sequence is None:
            return self._final
        if self._paused_at is not None:
            return SeqState.PAUSED
        return SeqState.RUNNING if self._in_flight is not None else SeqState.WAITING

    @property
    def active(self) -> bool:
        """True while a sequence is running, waiting or paused."""
        return self._sequence is not None

    def _on_status(self, status: CommandStatus) -> None:
        if status.id == self._in_flight and status.stage in TERMINAL and self._result is None:
            self._result = status
            self._done_at = self.clock.monotonic()

    # -------------------------------------------------------------------------------- control
    def start(self, name: str) -> int:
        """Start sequence ``name``; returns its run number. Raises ``CommandRejected`` if it cannot start."""
        if self._sequence is not None:
            raise CommandRejected(
                "busy", f"sequence {self._sequence.name} is {self.state.value}; only one runs at a time"
            )
        sequence = self.sequences.get(name)
        if sequence is None:
            raise CommandRejected("invalid_argument", f"no sequence {name!r}; expected one of {sorted(self.sequences)}")
        self._check_steps(sequence)
        run = self._next_run(sequence)
        self._last_run[name] = run
        self._sequence, self._last_name, self._run, self._index = sequence, name, run, 0
        self._ref = self.clock.monotonic()
        self._late_checked = False
        self._paused_at = None
        self._in_flight = None
        self._result = None
        self.failure = ""
        self.events.info(
            SOURCE,
            "sequence_started",
            f"sequence {name} run {run} started: {len(sequence.steps)} steps",
            sequence=name,
            run=run,
        )
        return run

    def _check_steps(self, sequence: Sequence) -> None:
        for step in sequence.steps:
            try:
                self.dispatcher.registry.spec(step.command).validate(step.args)
            except CommandRejected as exc:
                raise CommandRejected(exc.reason, f"sequence {sequence.name} {step.describe()}: {exc.message}") from exc

    def _next_run(self, sequence: Sequence) -> int:
        run = self._last_run.get(sequence.name, 0) + 1
        seen = self.dispatcher.id_store.seen
        while any(seen(_command_id(sequence.name, run, step.index)) for step in sequence.steps):
            run += 1
        return run

    def pause(self) -> None:
        """Hold before the next step (a running step finishes). Pausing a paused sequence does nothing."""
        if self._sequence is None:
            raise CommandRejected("not_running", "no sequence is running")
        if self._paused_at is not None:
            return
        self._paused_at = self.clock.monotonic()
        self.events.info(
            SOURCE,
            "sequence_paused",
            f"sequence {self._sequence.name} run {self._run} paused before step {self._next_step_index()}",
            sequence=self._sequence.name,
        )

    def resume(self) -> None:
        """Continue a paused sequence; a relative wait resumes with the time it had left."""
        if self._sequence is None or self._paused_at is None:
            raise CommandRejected("not_paused", "no sequence is paused")
        now = self.clock.monotonic()
        if self._in_flight is None:
            self._ref += max(0.0, now - max(self._paused_at, self._ref))
        self._paused_at = None
        self._late_checked = False
        name = self._sequence.name
        self.events.info(SOURCE, "sequence_resumed", f"sequence {name} run {self._run} resumed", sequence=name)

    def abort(self) -> None:
        """Stop the sequence now, cancelling the step that is running."""
        sequence = self._sequence
        if sequence is None:
            raise CommandRejected("not_running", "no sequence is running")
        in_flight = self._in_flight
        self._stop(SeqState.ABORTED)
        if in_flight is not None:
            self.dispatcher.cancel(in_flight, "sequence_aborted")
        self.events.warning(
            SOURCE,
            "sequence_aborted",
            f"sequence {sequence.name} run {self._run} aborted at step {self._index} of {len(sequence.steps)}",
            sequence=sequence.name,
        )

    def reload(self) -> None:
        """Read the directory again; on any error the loaded sequences stay as they were."""
        self.sequences = load_directory(self.directory)
        self.events.info(SOURCE, "sequences_loaded", f"{len(self.sequences)} sequences loaded from {self.directory}")

    def _stop(self, final: SeqState) -> None:
        self._final = final
        self._last_count = len(self._sequence.steps) if self._sequence is not None else 0
        self._sequence = None
        self._in_flight = None
        self._result = None
        self._paused_at = None

    def _next_step_index(self) -> int:
        return self._index + 1 if self._in_flight is not None else self._index

    # ------------------------------------------------------------------------------------ tick
    def tick(self, _now: float = 0.0) -> None:
        """Advance the running sequence: collect a finished step, start every step that is due.

        Times are read from the clock (``monotonic()`` for relative tags, ``now()`` for absolute ones).
        """
        sequence = self._sequence
        if sequence is None:
            return
        for _ in range(2 * len(sequence.steps) + 1):  # each step submitted and collected at most once
            if self._sequence is not sequence:
                return
            if self._in_flight is not None:
                if not self._collect(sequence):
                    return
                continue
            if self._paused_at is not None:
                return
            step = sequence.steps[self._index]
            if not self._due(sequence, step):
                return
            self._submit(sequence, step)

    def _collect(self, sequence: Sequence) -> bool:
        """Handle the in-flight step's result; True when the next step may be considered."""
        result = self._result
        if result is None:
            return False
        step = sequence.steps[self._index]
        self._in_flight = None
        self._result = None
        if result.stage is Stage.FAILED:
            self.failure = f"{step.describe()} failed: {result.reason}" + (
                f" ({result.message})" if result.message else ""
            )
            self.runs_failed += 1
            self._stop(SeqState.FAILED)
            self.events.error(
                SOURCE,
                "sequence_failed",
                f"sequence {sequence.name} run {self._run} stopped: {self.failure}",
                sequence=sequence.name,
                step=step.index,
                reason=result.reason,
            )
            return False
        self._index += 1
        self._ref = self._done_at
        self._late_checked = False
        if self._index >= len(sequence.steps):
            self.runs_completed += 1
            self._stop(SeqState.COMPLETED)
            self.events.info(
                SOURCE,
                "sequence_completed",
                f"sequence {sequence.name} run {self._run} completed: {len(sequence.steps)} steps",
                sequence=sequence.name,
            )
            return False
        return True

    def _due(self, sequence: Sequence, step: Step) -> bool:
        if step.at is None:
            return self.clock.monotonic() >= self._ref + step.after_s
        late_s = self.clock.now() - step.at
        if not self._late_checked:
            self._late_checked = True
            if late_s > 0:
                self.events.warning(
                    SOURCE,
                    "step_late",
                    f"sequence {sequence.name} {step.describe()}: time {step.at_text} is {late_s:.3f} s past; "
                    "running now",
                    sequence=sequence.name,
                    step=step.index,
                )
        return late_s >= 0

    def _submit(self, sequence: Sequence, step: Step) -> None:
        command_id = _command_id(sequence.name, self._run, step.index)
        self._in_flight = command_id
        self._result = None
        status = self.dispatcher.submit(step.command, step.args, command_id=command_id, source="sequence")
        # The status listener normally saw the final report already; this covers a listener-less path.
        if self._in_flight == command_id and self._result is None and status.stage in TERMINAL:
            self._result = status
            self._done_at = self.clock.monotonic()

    # -------------------------------------------------------------------------------- commands
    @command("seq.run", "Start a stored sequence.", ArgSpec("name", "str", description="sequence name"))
    def cmd_run(self, name: str) -> None:
        """Handler of ``seq.run``."""
        self.start(name)

    @command("seq.pause", "Hold the running sequence before its next step.")
    def cmd_pause(self) -> None:
        """Handler of ``seq.pause``."""
        self.pause()

    @command("seq.resume", "Continue a paused sequence.")
    def cmd_resume(self) -> None:
        """Handler of ``seq.resume``."""
        self.resume()

    @command("seq.abort", "Stop the running sequence now, cancelling the step in progress.")
    def cmd_abort(self) -> None:
        """Handler of ``seq.abort``."""
        self.abort()

    @command("seq.reload", "Read the stored sequence files again.")
    def cmd_reload(self) -> None:
        """Handler of ``seq.reload``."""
        try:
            self.reload()
        except ConfigError as exc:
            raise CommandRejected("invalid_config", str(exc)) from exc

    # ------------------------------------------------------------------------------- telemetry
    def catalog(self) -> list[dict[str, Any]]:
        """The loaded sequences for ground: name, description and steps."""
        return [
            {
                "name": s.name,
                "description": s.description,
                "steps": [
                    {"command": st.command, "args": st.args, "after_s": st.after_s, "at": st.at_text or None}
                    for st in s.steps
                ],
            }
            for s in sorted(self.sequences.values(), key=lambda s: s.name)
        ]

    def telemetry(self) -> dict[str, Any]:
        """State and progress: ``seq.step`` of ``seq.steps`` (the step running or next)."""
        sequence = self._sequence
        name = sequence.name if sequence is not None else self._last_name
        count = len(sequence.steps) if sequence is not None else self._last_count
        step = self._index
        return {
            "seq.state": self.state.value,
            "seq.name": name,
            "seq.run": self._run,
            "seq.step": step,
            "seq.steps": count,
            "seq.progress": step / count if count else 0.0,
            "seq.failure": self.failure,
            "seq.loaded": len(self.sequences),
            "seq.completed": self.runs_completed,
            "seq.failed": self.runs_failed,
        }

    def channels(self) -> list[ChannelSpec]:
        """Dictionary entries of :meth:`telemetry`."""
        return [
            ChannelSpec(
                "seq.state", unit="enum", description="idle/waiting/running/paused/completed/failed/aborted", type="str"
            ),
            ChannelSpec("seq.name", description="sequence running (or last run)", type="str"),
            ChannelSpec("seq.run", unit="index", description="run number of that sequence", type="int"),
            ChannelSpec("seq.step", unit="index", description="index of the step running or next", type="int"),
            ChannelSpec("seq.steps", unit="count", description="steps in the sequence", type="int"),
            ChannelSpec(
                "seq.progress", unit="1", description="fraction of steps completed, 0..1", alarm_low=0.0, alarm_high=1.0
            ),
            ChannelSpec("seq.failure", description="why the last run failed", type="str"),
            ChannelSpec("seq.loaded", unit="count", description="stored sequences loaded", type="int"),
            ChannelSpec("seq.completed", unit="count", description="runs completed since start", type="int"),
            ChannelSpec("seq.failed", unit="count", description="runs failed since start", type="int"),
        ]


def _command_id(name: str, run: int, index: int) -> str:
    return f"seq:{name}:{run}:{index}"
