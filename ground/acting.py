"""Who acts through the ground hub: the person behind each command and alarm action, and its audit.

A hub serves many people over one ground core. Their tools (the console's pages) set the core's
``actor_source``: a function that answers the :class:`Actor` acting *now* (the logged-in account of the browser
session whose event is being handled), or None when no person is behind the call (an in-process tool such as
the demo's cycle loop or a procedure, which acts as the station itself). The core checks that person's role
before anything leaves, names them in the command's record and writes the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from base.clock import Clock
from ground.alarms import Alarm, AlarmBoard
from ground.audit import AuditLog
from ground.errors import ArchiveError, Forbidden

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


def audit_safely(audit: AuditLog | None, logger: Any, *entry: str) -> None:
    """Write an audit row; a failed write is logged (the action itself already happened or was refused)."""
    if audit is None:
        return
    try:
        audit.record(*entry)
    except ArchiveError as exc:
        logger.error("audit row %s not written: %s", entry, exc)


class AuditedAlarmBoard(AlarmBoard):
    """The alarm board whose acknowledgements and shelving are named after the acting person and audited."""

    def __init__(
        self,
        clock: Clock,
        *,
        guard: Callable[[str], None],
        who: Callable[[], str],
        role: Callable[[], str],
        audit: Callable[[], AuditLog | None],
        logger: Any,
    ) -> None:
        super().__init__(clock, guard=guard, who=who)
        self._role = role
        self._audit = audit
        self._logger = logger

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
        self._record("alarm_shelve", name, f"for {seconds:g} s")

    def restore(self, journal: list[tuple[float, str, dict[str, Any]]]) -> int:
        """Put back the alarms a previous run of this hub left on the board, from its journal (oldest first):
        each name's last state, unless that state took it off the board (acknowledged with the value back to
        normal). Shelving is not restored (its deadline was on the old process's clock). Returns how many."""
        last: dict[str, dict[str, Any]] = {}
        for _t, name, state in journal:
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

    def unshelve(self, name: str) -> None:
        """Unshelve (see :meth:`AlarmBoard.unshelve`) and audit it."""
        super().unshelve(name)
        self._record("alarm_unshelve", name, "")
