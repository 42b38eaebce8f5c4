"""The audit trail: who did what on the ground hub, and when — kept in the archive's SQLite file.

Every person's action that changes something is one row: a command sent (and refused ones, with why), an alarm
acknowledged, shelved or unshelved, a login, a failed login, an account added, revoked or changed. A row
names the rover (``rover``, so one hub can serve several), the account and its role, the action, its target
and a detail text. Rows are written at once (one small transaction each: people act a few times a minute)
and are never removed by the archive's retention.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from base.clock import Clock
from ground.errors import ArchiveError

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY, t REAL NOT NULL, rover TEXT NOT NULL, user TEXT NOT NULL, role TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_t ON audit (t);
"""
#: Actions recorded.
ACTIONS = (
    "login",
    "login_refused",
    "logout",
    "command",
    "command_refused",
    "alarm_ack",
    "alarm_shelve",
    "alarm_unshelve",
    "account_add",
    "account_remove",
    "account_passwd",
    "account_role",
)


@dataclass(frozen=True)
class AuditEntry:
    """One action: ``t`` epoch s, ``rover`` id, ``user`` and its ``role``, ``action`` (one of :data:`ACTIONS`),
    ``target`` (a command, an alarm, an account) and a free ``detail``."""

    t: float
    rover: str
    user: str
    role: str
    action: str
    target: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """The entry as a plain dict."""
        return asdict(self)


class AuditLog:
    """The ``audit`` table of the archive file at ``path``; thread-safe. ``on_entry`` listeners are told of
    every new row (the console redraws its Audit view)."""

    def __init__(self, path: str | Path, clock: Clock, *, rover: str = "rover") -> None:
        self.path = Path(path)
        self.clock = clock
        self.rover = rover
        self._lock = threading.Lock()
        self._listeners: list[Callable[[AuditEntry], None]] = []
        try:
            self._conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout=5000")
            self._conn.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise ArchiveError(f"cannot open the audit trail in {str(self.path)!r}: {exc}") from exc

    def on_entry(self, listener: Callable[[AuditEntry], None]) -> None:
        """Call ``listener(entry)`` after every new row."""
        self._listeners.append(listener)

    def record(self, user: str, role: str, action: str, target: str = "", detail: str = "") -> AuditEntry:
        """Write one row now; returns it. Raises :class:`ArchiveError` for an unknown action or a failed write."""
        if action not in ACTIONS:
            raise ArchiveError(f"audit action {action!r}: expected one of {', '.join(ACTIONS)}")
        entry = AuditEntry(
            self.clock.now(),
            self.rover,
            _clean(user, FIELD_CHARS),
            _clean(role, FIELD_CHARS),
            action,
            _clean(target, FIELD_CHARS),
            _clean(detail, DETAIL_CHARS),
        )
        with self._lock:
            try:
                self._conn.execute(
                    "INSERT INTO audit (t, rover, user, role, action, target, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (entry.t, entry.rover, entry.user, entry.role, entry.action, entry.target, entry.detail),
                )
            except sqlite3.Error as exc:
                raise ArchiveError(f"audit trail in {str(self.path)!r}: cannot write: {exc}") from exc
        for listener in list(self._listeners):
            listener(entry)
        return entry

    def entries(self, *, user: str | None = None, action: str | None = None, limit: int = 1000) -> list[AuditEntry]:
        """The newest ``limit`` rows (optionally of one ``user`` or ``action``), newest first."""
        where, params = [], []
        if user is not None:
            where.append("user = ?")
            params.append(user)
        if action is not None:
            where.append("action = ?")
            params.append(action)
        sql = "SELECT t, rover, user, role, action, target, detail FROM audit"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        with self._lock:
            try:
                rows = self._conn.execute(sql, (*params, int(limit))).fetchall()
            except sqlite3.Error as exc:
                raise ArchiveError(f"audit trail in {str(self.path)!r}: cannot read: {exc}") from exc
        return [AuditEntry(float(r[0]), *(str(v) for v in r[1:])) for r in rows]

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


#: Characters kept of an audit row's user, role and target, and of its detail: whatever a request carried (a
#: 10,000-character user name, a lone surrogate), a row stays small and writable.
FIELD_CHARS = 200
DETAIL_CHARS = 2_000


def _clean(value: object, limit: int) -> str:
    """``value`` as text fit for the trail: at most ``limit`` characters (``...`` marking a cut), any character
    UTF-8 cannot hold (a lone surrogate) written as its escape."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
