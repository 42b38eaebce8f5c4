"""Who acts through the ground hub: the person behind each command and alarm action, and its audit.

A hub serves many people over one ground core. Their tools (the console's pages) set the core's
``actor_source``: a function that answers the :class:`Actor` acting *now* (the logged-in account of the browser
session whose event is being handled), or None when no person is behind the call (an in-process tool such as
the demo's cycle loop or a procedure, which acts as the station itself). The core checks that person's role
before anything leaves, names them in the command's record and writes the audit trail.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from base.clock import Clock
from ground.alarms import Alarm, AlarmBoard
from ground.audit import AuditLog
from ground.errors import ArchiveError, Forbidden
from ground.hub_state import HubState

COMMANDING = frozenset({"operator", "admin"})


@dataclass(frozen=True)
class Actor:
    """A person acting: account ``name`` and ``role`` (operator, observer, admin)."""

    name: str
    role: str

    @property
    def may_command(self) -> bool:
        """Operators and admins command and act on alarms; observers only read."""
        return self.role in COMMANDING

    def require_commanding(self, action: str) -> None:
        """:class:`Forbidden` unless this person may command."""
        if not self.may_command:
            raise Forbidden(
                f"{action}: refused, {self.name!r} is an {self.role}; only an operator or an admin may command or "
                "act on alarms (observers are read-only)"
            )


ActorSource = Callable[[], Actor | None]
#: Writes one note to the alarm journal: ``(alarm name, state)``; a note's state has a ``journal`` key naming
#: what happened (``shelved``, ``unshelved``, ``shelf_ended``, ``shelf_restored``, ``shelf_expired``).
JournalNote = Callable[[str, dict[str, Any]], None]


class ActsForPeople:
    """Who acts through a hub's ground core now: a person named for a block on this thread (:meth:`acting_as`:
    the hub's API names each request's account this way), else the ``actor_source``'s answer (the console's
    logged-in person), else nobody — None, the station itself. The core sets both attributes."""

    actor_source: ActorSource | None
    _acting: threading.local

    def actor(self) -> Actor | None:
        """The person acting now, None for the station itself."""
        person = getattr(self._acting, "person", None)
        if person is not None:
            return person
        source = self.actor_source
        return None if source is None else source()

    @contextmanager
    def acting_as(self, person: Actor) -> Iterator[None]:
        """Within the block, on this thread, ``person`` is the one acting: role checks, records and the audit
        trail are theirs."""
        before = getattr(self._acting, "person", None)
        self._acting.person = person
        try:
            yield
        finally:
            self._acting.person = before


def audit_safely(audit: AuditLog | None, logger: Any, *entry: str) -> None:
    """Write an audit row; a failed write is logged (the action itself already happened or was refused)."""
    if audit is None:
        return
    try:
        audit.record(*entry)
    except ArchiveError as exc:
        logger.error("audit row %s not written: %s", entry, exc)


class AuditedAlarmBoard(AlarmBoard):
    """The alarm board whose acknowledgements and shelving are named after the acting person and audited;
    with a hub state (``state()`` not None) its shelves are kept in the archive file and put back after a
    restart (:meth:`restore_shelves`), every shelf change noted in the alarm journal (``note``)."""

    def __init__(
        self,
        clock: Clock,
        *,
        guard: Callable[[str], None],
        who: Callable[[], str],
        role: Callable[[], str],
        audit: Callable[[], AuditLog | None],
        logger: Any,
        state: Callable[[], HubState | None] = lambda: None,
        note: JournalNote | None = None,
    ) -> None:
        super().__init__(clock, guard=guard, who=who)
        self._role = role
        self._audit = audit
        self._logger = logger
        self._state = state
        self._note = note or (lambda _name, _state: None)

    def _keep(self, what: str, call: Callable[[HubState], None]) -> None:
        """Apply ``call`` to the hub state (if any); a failed write is logged (the board has changed anyway)."""
        store = self._state()
        if store is None:
            return
        try:
            call(store)
        except ArchiveError as exc:
            self._logger.error("%s not kept for a restart: %s", what, exc)

    def _record(self, action: str, name: str, detail: str) -> None:
        audit_safely(self._audit(), self._logger, self._who(), self._role(), action, name, detail)

    def ack(self, name: str, comment: str, who: str | None = None) -> Alarm:
        """Acknowledge (see :meth:`AlarmBoard.ack`) and audit it."""
        alarm = super().ack(name, comment, who)
        self._record("alarm_ack", name, f"level {alarm.level}: {comment.strip()}")
        return alarm

    def shelve(self, name: str, seconds: float, who: str | None = None) -> None:
        """Shelve (see :meth:`AlarmBoard.shelve`) and audit it."""
        super().shelve(name, seconds, who)
        by = who or self._who()
        until = self._shelves.get(name)
        if until is not None:
            self._keep(f"shelf of {name}", lambda store: store.save_shelf(name, until, by))
            self._note(name, {"journal": "shelved", "until": until, "by": by, "seconds": float(seconds)})
        self._record("alarm_shelve", name, f"for {seconds:g} s")

    def expire_shelves(self) -> list[str]:
        """End the shelves whose time has run out (see :meth:`AlarmBoard.expire_shelves`), forgetting them in
        the hub state and noting each in the journal."""
        ended = super().expire_shelves()
        for name in ended:
            self._keep(f"end of the shelf of {name}", _dropper(name))
            self._note(name, {"journal": "shelf_ended"})
        return ended

    def restore_shelves(self) -> tuple[int, int]:
        """Put back the shelves the hub state holds (a previous run's); a shelf whose end has passed meanwhile
        is dropped with a ``shelf_expired`` journal note. Returns ``(restored, dropped)``."""
        store = self._state()
        if store is None:
            return 0, 0
        now = self.clock.now()
        restored = dropped = 0
        for name, until, by in store.shelves():
            if until <= now:
                self._keep(f"expired shelf of {name}", _dropper(name))
                self._note(name, {"journal": "shelf_expired", "until": until, "by": by})
                dropped += 1
                continue
            self.put_shelf(name, until)
            self._note(name, {"journal": "shelf_restored", "until": until, "by": by})
            restored += 1
        return restored, dropped

    def restore(self, journal: list[tuple[float, str, dict[str, Any]]]) -> int:
        """Put back the alarms a previous run of this hub left on the board, from its journal (oldest first):
        each name's last state, unless that state took it off the board (acknowledged with the value back to
        normal). Shelves come back from the hub state (:meth:`restore_shelves`). Returns how many."""
        last: dict[str, dict[str, Any]] = {}
        for _t, name, state in journal:
            if "journal" not in state:  # notes (shelves) are not alarm states
                last[name] = state
        fields = set(Alarm.__dataclass_fields__)
        restored = 0
        with self._lock:
            for name, state in last.items():
                if (state.get("acked") and state.get("level") == "ok") or name in self._alarms:
                    continue
                values = {k: v for k, v in state.items() if k in fields}
                values["shelved_until"] = None
                try:
                    self._alarms[name] = Alarm(**values)
                except TypeError as exc:
                    self._logger.error("alarm %s not restored from the journal: %s", name, exc)
                    continue
                restored += 1
        return restored

    def restore_all(self, journal: list[tuple[float, str, dict[str, Any]]]) -> None:
        """:meth:`restore` the alarms from ``journal`` and :meth:`restore_shelves`, saying what came back."""
        alarms = self.restore(journal)
        shelves, expired = self.restore_shelves()
        if alarms or shelves or expired:
            self._logger.info(
                "restored from the archive: %d alarm(s), %d shelf/shelves (%d ended while the hub was down)",
                alarms,
                shelves,
                expired,
            )

    def unshelve(self, name: str) -> None:
        """Unshelve (see :meth:`AlarmBoard.unshelve`) and audit it."""
        super().unshelve(name)
        self._keep(f"unshelving of {name}", lambda store: store.drop_shelf(name))
        self._note(name, {"journal": "unshelved", "by": self._who()})
        self._record("alarm_unshelve", name, "")


def _dropper(name: str) -> Callable[[HubState], None]:
    """A call that forgets the shelf of ``name`` in a hub state."""
    return lambda store: store.drop_shelf(name)
