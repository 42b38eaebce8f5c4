"""What every page of one console shares: the ground core, the feed that carries its news to the pages,
the clock, and the console's timing settings."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from base.clock import Clock
from ground.console.command_stack import CommandStack
from ground.console.feed import TelemetryFeed
from ground.errors import GroundError

#: Kinds of core news that pages redraw on (each bumps a revision of the same name in the feed).
REVISION_KINDS = ("event", "command", "alarm", "link", "dictionary")
#: The audit trail's new rows bump the ``audit`` revision (when the console logs people in).


@dataclass(frozen=True)
class ConsoleSettings:
    """Timing of the pages (wall seconds between refreshes; one timer per page)."""

    plot_period_s: float = 0.1
    refresh_period_s: float = 0.5
    plot_window_s: float = 60.0
    max_plot_points: int = 3000

    def __post_init__(self) -> None:
        for name in ("plot_period_s", "refresh_period_s", "plot_window_s"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"console setting {name} must be > 0 seconds, got {value!r}")
        if self.max_plot_points < 10:
            raise ValueError(f"console setting max_plot_points must be >= 10, got {self.max_plot_points!r}")


@dataclass
class ConsoleContext:
    """One console over one ground core. :meth:`attach` subscribes the feed to the core."""

    core: Any
    clock: Clock
    settings: ConsoleSettings = field(default_factory=ConsoleSettings)
    feed: TelemetryFeed = field(default_factory=TelemetryFeed)
    #: The hub's ledger log read with public keys (a :class:`ground.ledger.reader.LedgerReader`), or None.
    ledger: Any = None
    #: This console's partner as a witness (a :class:`ground.ledger.witness.Witness`), or None.
    witness: Any = None
    #: Who is logged in where (a :class:`ground.console.auth.HubAuth`); None serves the pages without login
    #: (an in-process test harness only: ``isru console`` always logs people in).
    auth: Any = None
    #: Commands prepared to be released in order (:mod:`ground.console.command_stack`); made on first use.
    _stack: CommandStack | None = None
    _unsubscribe: list[Callable[[], None]] = field(default_factory=list)
    _exports: tempfile.TemporaryDirectory | None = None

    def attach(self) -> None:
        """Start recording the core's news into the feed (idempotent)."""
        if self._unsubscribe:
            return
        self._unsubscribe.append(self.core.subscribe("telemetry", self._on_telemetry))
        for kind in REVISION_KINDS:
            self._unsubscribe.append(self.core.subscribe(kind, self._bumper(kind)))
        if self.auth is not None:
            self.core.actor_source = self.auth.current_actor
            if self.auth.audit is not None:
                self.auth.audit.on_entry(self._bumper("audit"))
        latest = getattr(self.core, "latest", {}) or {}
        self.feed.add((name, t, value) for name, (value, t) in list(latest.items()))

    def detach(self) -> None:
        """Stop recording and remove the CSV exports made for downloads."""
        while self._unsubscribe:
            self._unsubscribe.pop()()
        if self._exports is not None:
            self._exports.cleanup()
            self._exports = None

    def export_dir(self) -> Path:
        """A private folder for CSV exports waiting to be downloaded (removed by :meth:`detach`)."""
        if self._exports is None:
            self._exports = tempfile.TemporaryDirectory(prefix="isru-console-exports-")
        return Path(self._exports.name)

    @property
    def stack(self) -> CommandStack:
        """This console's command stack."""
        if self._stack is None:
            self._stack = CommandStack(self.core)
        return self._stack

    # ------------------------------------------------------------------------------------- roles
    @property
    def dictionary(self) -> Any:
        """The core's :class:`ground.dictionary.GroundDictionary`, None until flight has sent it."""
        return self.core.dictionary

    def person(self) -> Any:
        """The logged-in person of the page being served (a :class:`ground.acting.Actor`; None without login)."""
        if self.auth is None:
            return None
        try:
            return self.auth.current_actor()
        except GroundError:
            return None

    @property
    def can_command(self) -> bool:
        """True when this page's person may command (operator or admin) over a link role that may (operator,
        archive, safety — flight limits safety to estop and mission.hold); the core refuses the others anyway."""
        if self.auth is not None:
            person = self.person()
            if person is None or not person.may_command:
                return False
        return self.core.role in ("operator", "archive", "safety")

    def role_text(self) -> str:
        """What the header shows: ``name (role)`` of the logged-in person, else the link role."""
        person = self.person()
        if person is not None:
            return f"{person.name} ({person.role})"
        return str(self.core.role or "no link")

    # ----------------------------------------------------------------------------------- listeners
    def _on_telemetry(self, *args: Any) -> None:
        self.feed.add(_samples_of(args))

    def _bumper(self, kind: str) -> Callable[..., None]:
        def bump(*_args: Any) -> None:
            self.feed.bump(kind)

        return bump


def _samples_of(args: tuple[Any, ...]) -> list[tuple[str, float, Any]]:
    """The sample list of a telemetry notification, ``(samples)`` or ``(seq, samples)``."""
    for arg in args:
        if isinstance(arg, list):
            return arg
    return []
