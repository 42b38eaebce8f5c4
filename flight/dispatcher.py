"""The one dispatcher every command passes: operator, stored sequence or autonomy.

A command is validated, then reported ``accepted`` → ``started`` → ``progress``… → ``completed``, or
``failed`` with a reason code at any point. A command id is never executed twice: ids already seen (kept
by an :class:`IdStore`, persistent in flight) fail with ``duplicate_id`` and run nothing. The stages are
:class:`link.schema.Stage`, the ones ground verifies.
"""

from __future__ import annotations

import itertools
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from base.clock import Clock
from flight.commands import CommandRegistry, CommandSpec, Job
from flight.errors import AdmissionRefused, CommandRejected, FlightError
from flight.events import EventLog
from hal.errors import HalError
from link.schema import TERMINAL_STAGES, Stage

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommandStatus:
    """One verification report. ``t`` is clock seconds since the epoch."""

    id: str
    name: str
    stage: Stage
    source: str
    t: float
    reason: str = ""
    message: str = ""
    progress: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """A plain dict for the link and for JSON."""
        return {
            "id": self.id,
            "name": self.name,
            "stage": self.stage.value,
            "source": self.source,
            "t": self.t,
            "reason": self.reason,
            "message": self.message,
            "progress": self.progress,
        }


class IdStore(Protocol):
    """Remembers command ids that were executed."""

    def seen(self, command_id: str) -> bool:
        """True if ``command_id`` was accepted before."""
        ...

    def add(self, command_id: str) -> None:
        """Remember ``command_id``."""
        ...

    def discard(self, command_id: str) -> None:
        """Forget ``command_id`` again: its acceptance could not be recorded, so it never ran."""
        ...


class MemoryIdStore:
    """An :class:`IdStore` in memory (the flight store persists them instead)."""

    def __init__(self) -> None:
        self._ids: set[str] = set()

    def seen(self, command_id: str) -> bool:
        """True if ``command_id`` was accepted before."""
        return command_id in self._ids

    def add(self, command_id: str) -> None:
        """Remember ``command_id``."""
        self._ids.add(command_id)

    def discard(self, command_id: str) -> None:
        """Forget ``command_id``."""
        self._ids.discard(command_id)


@dataclass
class _Active:
    spec: CommandSpec
    id: str
    source: str
    job: Job


StatusListener = Callable[[CommandStatus], None]
TERMINAL = TERMINAL_STAGES


class Dispatcher:
    """Validates, runs and reports commands."""

    def __init__(
        self, registry: CommandRegistry, clock: Clock, events: EventLog, id_store: IdStore | None = None
    ) -> None:
        self.registry = registry
        self.clock = clock
        self.events = events
        self.id_store: IdStore = id_store or MemoryIdStore()
        self._active: OrderedDict[str, _Active] = OrderedDict()
        self._listeners: list[StatusListener] = []
        self._auto_ids = itertools.count(1)
        self.last_status: OrderedDict[str, CommandStatus] = OrderedDict()
        self.counts = {stage.value: 0 for stage in Stage}

    def on_status(self, listener: StatusListener) -> None:
        """Call ``listener(status)`` for every verification report."""
        self._listeners.append(listener)

    @property
    def active(self) -> list[str]:
        """Names of the commands now running."""
        return [a.spec.name for a in self._active.values()]

    def busy(self, resource: str) -> bool:
        """True while a command holding ``resource`` runs."""
        return any(a.spec.resource == resource for a in self._active.values())

    # ------------------------------------------------------------------------------------ submit
    def submit(
        self, name: str, args: dict[str, Any] | None = None, *, command_id: str | None = None, source: str = "flight"
    ) -> CommandStatus:
        """Validate and start a command; returns its latest status (completed for an immediate command)."""
        command_id = command_id or f"{source}-{next(self._auto_ids)}-{self.clock.monotonic():.3f}"
        if self.id_store.seen(command_id):
            return self._report(command_id, name, Stage.FAILED, source, "duplicate_id", "id already executed")
        try:
            spec = self.registry.spec(name)
            values = spec.validate(args or {})
        except CommandRejected as exc:
            return self._report(command_id, name, Stage.FAILED, source, exc.reason, exc.message)
        if spec.resource and self.busy(spec.resource):
            holder = next(a.spec.name for a in self._active.values() if a.spec.resource == spec.resource)
            return self._report(command_id, name, Stage.FAILED, source, "busy", f"{spec.resource} is running {holder}")
        try:
            self.id_store.add(command_id)
        except FlightError as exc:  # the id cannot be remembered (a full disk): running it could run it twice
            return self._report(command_id, name, Stage.FAILED, source, "persistence", f"id not recorded: {exc}")
        try:
            self._report(command_id, name, Stage.ACCEPTED, source, message=args_text(values))
        except AdmissionRefused as exc:  # a listener could not record the acceptance: the command never runs
            self.id_store.discard(command_id)  # so the same id may be sent again once the fault is cleared
            return self._report(command_id, name, Stage.FAILED, source, exc.reason, exc.message)
        self._report(command_id, name, Stage.STARTED, source)
        assert spec.handler is not None
        try:
            job = spec.handler(**values)
        except CommandRejected as exc:
            return self._report(command_id, name, Stage.FAILED, source, exc.reason, exc.message)
        except HalError as exc:
            return self._report(command_id, name, Stage.FAILED, source, _hal_reason(exc), str(exc))
        if job is None:
            return self._report(command_id, name, Stage.COMPLETED, source)
        self._active[command_id] = _Active(spec, command_id, source, job)
        return self._advance(self._active[command_id])

    def refuse(self, name: str, command_id: str, source: str, reason: str, message: str) -> CommandStatus:
        """Report command ``command_id`` failed before it was submitted (its admission could not be recorded):
        it never runs, and its id stays unused so that it may be sent again."""
        return self._report(command_id, name, Stage.FAILED, source, reason, message)

    # --------------------------------------------------------------------------------------- run
    def tick(self, _now: float = 0.0) -> None:
        """Advance every running command once (the executive calls this each control tick)."""
        for active in list(self._active.values()):
            self._advance(active)

    def _advance(self, active: _Active) -> CommandStatus:
        name, source = active.spec.name, active.source
        try:
            progress = next(active.job)
        except StopIteration:
            self._active.pop(active.id, None)
            return self._report(active.id, name, Stage.COMPLETED, source)
        except CommandRejected as exc:
            self._active.pop(active.id, None)
            return self._report(active.id, name, Stage.FAILED, source, exc.reason, exc.message)
        except HalError as exc:
            self._active.pop(active.id, None)
            return self._report(active.id, name, Stage.FAILED, source, _hal_reason(exc), str(exc))
        previous = self.last_status.get(active.id)
        if progress is not None and (previous is None or previous.progress != progress):
            return self._report(active.id, name, Stage.PROGRESS, source, progress=progress)
        return previous or self._report(active.id, name, Stage.PROGRESS, source, progress=progress)

    def cancel(self, command_id: str, reason: str) -> bool:
        """Stop a running command; it fails with ``reason``. Returns False if it was not running."""
        active = self._active.pop(command_id, None)
        if active is None:
            return False
        active.job.close()
        self._report(command_id, active.spec.name, Stage.FAILED, active.source, reason)
        return True

    def cancel_all(self, reason: str, resource: str | None = None) -> int:
        """Stop every running command (holding ``resource``, if given); returns how many."""
        ids = [i for i, a in self._active.items() if resource is None or a.spec.resource == resource]
        for command_id in ids:
            self.cancel(command_id, reason)
        return len(ids)

    def _report(
        self,
        command_id: str,
        name: str,
        stage: Stage,
        source: str,
        reason: str = "",
        message: str = "",
        progress: float | None = None,
    ) -> CommandStatus:
        status = CommandStatus(command_id, name, stage, source, self.clock.now(), reason, message, progress)
        self.last_status[command_id] = status
        self.last_status.move_to_end(command_id)
        while len(self.last_status) > 1000:
            self.last_status.popitem(last=False)
        self.counts[stage.value] += 1
        if stage == Stage.FAILED:
            self.events.warning("dispatcher", "command_failed", f"{name} ({command_id}) failed: {reason} {message}")
        for listener in self._listeners:
            try:
                listener(status)
            except AdmissionRefused:
                if stage != Stage.ACCEPTED:
                    _LOGGER.exception("status listener %r could not record %s", listener, stage.value)
                    continue
                raise
            except Exception:
                _LOGGER.exception("status listener %r failed", listener)
        return status


def _hal_reason(exc: HalError) -> str:
    code = getattr(exc, "code_name", None)
    return f"device:{code.lower()}" if code else f"device:{type(exc).__name__}"


def args_text(values: dict[str, Any]) -> str:
    """The accepted arguments as an accepted status's message, ``args: k=v, ...`` (``args: none``), so every
    ground client sees the arguments of a command whichever client or sequence sent it."""
    return "args: " + (", ".join(f"{k}={v!r}" for k, v in values.items()) or "none")
