"""What the ground hub keeps across its own restart, in the archive's SQLite file: the alarm board's shelves
and the console's login sessions.

* ``alarm_shelves(rover, name, until, by, t)`` — one row per shelf in force; ``until`` and ``t`` are epoch
  seconds (wall time, so a shelf means the same after a restart: a shelf made for an hour at 10:00 ends at
  11:00 whenever the hub came back).
* ``console_sessions(token_hash, rover, account, created, expires)`` — one row per logged-in browser session:
  the SHA-256 of the session's random token (never the token itself, so a copy of the file logs nobody in),
  the account and when the login ends (epoch s).

Rows are written at once, one small transaction each (people act a few times a minute). Thread-safe.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

from base.clock import Clock
from ground.errors import ArchiveError

SCHEMA = """
CREATE TABLE IF NOT EXISTS alarm_shelves (
    rover TEXT NOT NULL, name TEXT NOT NULL, until REAL NOT NULL, by TEXT NOT NULL, t REAL NOT NULL,
    PRIMARY KEY (rover, name)
);
CREATE TABLE IF NOT EXISTS console_sessions (
    token_hash TEXT PRIMARY KEY, rover TEXT NOT NULL, account TEXT NOT NULL, created REAL NOT NULL,
    expires REAL NOT NULL
);
"""
#: How long a console login lasts (s): a working day and a half; after it the person logs in again.
SESSION_TTL_S = 36 * 3600.0


def token_hash(token: str) -> str:
    """The stored form of a session token: its SHA-256, hex."""
    return hashlib.sha256(str(token).encode("utf-8")).hexdigest()


class HubState:
    """The hub's shelves and sessions in the archive file at ``path`` for rover ``rover``."""

    def __init__(self, path: str | Path, clock: Clock, *, rover: str = "rover") -> None:
        self.path = Path(path)
        self.clock = clock
        self.rover = rover
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout=5000")
            self._conn.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise ArchiveError(f"cannot open the hub's state in {str(self.path)!r}: {exc}") from exc

    def _run(self, what: str, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise ArchiveError(f"hub state in {str(self.path)!r}: cannot {what}: {exc}") from exc

    # ---------------------------------------------------------------------------------- shelves
    def save_shelf(self, name: str, until: float, by: str) -> None:
        """Keep the shelf of alarm ``name`` ending at ``until`` (epoch s), made by ``by``."""
        self._run(
            "save a shelf",
            "INSERT OR REPLACE INTO alarm_shelves (rover, name, until, by, t) VALUES (?, ?, ?, ?, ?)",
            (self.rover, str(name), float(until), str(by), self.clock.now()),
        )

    def drop_shelf(self, name: str) -> None:
        """Forget the shelf of alarm ``name`` (unshelved, or ended)."""
        self._run("drop a shelf", "DELETE FROM alarm_shelves WHERE rover = ? AND name = ?", (self.rover, str(name)))

    def shelves(self) -> list[tuple[str, float, str]]:
        """Every kept shelf of this rover: ``(name, until epoch s, by)``, by name."""
        rows = self._run(
            "read the shelves",
            "SELECT name, until, by FROM alarm_shelves WHERE rover = ? ORDER BY name",
            (self.rover,),
        )
        return [(str(n), float(u), str(b)) for n, u, b in rows]  # type: ignore[arg-type]

    # --------------------------------------------------------------------------------- sessions
    def save_session(self, token: str, account: str, ttl_s: float = SESSION_TTL_S) -> float:
        """Keep a login of ``account`` on session ``token`` for ``ttl_s`` s; returns when it ends (epoch s)."""
        now = self.clock.now()
        expires = now + float(ttl_s)
        self._run(
            "save a session",
            "INSERT OR REPLACE INTO console_sessions (token_hash, rover, account, created, expires) "
            "VALUES (?, ?, ?, ?, ?)",
            (token_hash(token), self.rover, str(account), now, expires),
        )
        return expires

    def session_account(self, token: str) -> str | None:
        """The account logged in on session ``token`` (None if none, or if the login has ended)."""
        rows = self._run(
            "read a session",
            "SELECT account FROM console_sessions WHERE token_hash = ? AND expires > ?",
            (token_hash(token), self.clock.now()),
        )
        return str(rows[0][0]) if rows else None

    def drop_session(self, token: str) -> None:
        """End the login on session ``token``."""
        self._run("drop a session", "DELETE FROM console_sessions WHERE token_hash = ?", (token_hash(token),))

    def drop_expired_sessions(self) -> int:
        """Delete ended logins; returns how many."""
        with self._lock:
            try:
                sql = "DELETE FROM console_sessions WHERE expires <= ?"
                return int(self._conn.execute(sql, (self.clock.now(),)).rowcount)
            except sqlite3.Error as exc:
                raise ArchiveError(f"hub state in {str(self.path)!r}: cannot drop ended sessions: {exc}") from exc

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
