"""People who use the ground hub: local accounts with hashed passwords and a role each.

One SQLite file (``[ground] accounts``, default ``$ISRU_HOME/accounts.sqlite``) holds one row per account:
name, role, a salted scrypt hash of the password (``hashlib.scrypt``, RFC 7914; n = 2^14, r = 8, p = 1 as
OWASP's password storage cheat sheet recommends for scrypt) and whether it is revoked. Passwords are never
stored or logged. A revoked account keeps its row (the audit trail names it) but can neither log in nor act.

Roles (:data:`ROLES`): ``operator`` commands and acts on alarms; ``observer`` (a partner) sees everything and
can change nothing; ``admin`` does what an operator does and manages accounts.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from base.clock import Clock
from ground.errors import AccountError, LoginRefused

ROLES = ("operator", "observer", "admin")
#: Roles that may send commands and acknowledge or shelve alarms.
COMMANDING = frozenset({"operator", "admin"})
MIN_PASSWORD = 8
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
#: scrypt cost: 128 B * r * n = 16 MiB of memory per check.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, salt BLOB NOT NULL, hash BLOB NOT NULL,
    created_t REAL NOT NULL, changed_t REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True)
class Account:
    """One person: ``name``, ``role`` (one of :data:`ROLES`), ``revoked``; times in epoch s."""

    name: str
    role: str
    created_t: float
    changed_t: float
    revoked: bool = False

    @property
    def may_command(self) -> bool:
        """Operators and admins command and act on alarms; observers only read."""
        return self.role in COMMANDING and not self.revoked


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=64 * 1024 * 1024, dklen=32
    )


def check_name(name: str) -> str:
    """``name`` if it is a valid account name, else :class:`AccountError` saying what is expected."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise AccountError(
            f"account name {name!r}: expected 1-64 letters, digits, '_', '.', '@' or '-', starting with a letter "
            "or digit"
        )
    return name


def check_role(role: str) -> str:
    """``role`` if it is one of :data:`ROLES`, else :class:`AccountError`."""
    if role not in ROLES:
        raise AccountError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    """``password`` if it has at least :data:`MIN_PASSWORD` characters, else :class:`AccountError`."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise AccountError(f"password: expected at least {MIN_PASSWORD} characters")
    return password


def one_time_password() -> str:
    """A random password of 16 URL-safe characters (~96 bits) for a first login."""
    return secrets.token_urlsafe(12)


class Accounts:
    """The account file; thread-safe. Raises :class:`AccountError` (bad input, file trouble) and
    :class:`LoginRefused` (:meth:`login`, :meth:`active`)."""

    def __init__(self, path: str | Path, clock: Clock) -> None:
        self.path = Path(path)
        self.clock = clock
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout=5000")
            self._conn.executescript(SCHEMA)
            self.path.chmod(0o600)  # hashes are secrets too
        except (sqlite3.Error, OSError) as exc:
            raise AccountError(f"cannot open the account file {str(self.path)!r}: {exc}") from exc

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise AccountError(f"account file {str(self.path)!r}: {exc}") from exc

    def add(self, name: str, role: str, password: str) -> Account:
        """Add account ``name`` with ``role`` and ``password``; a revoked account of that name is replaced."""
        check_name(name)
        check_role(role)
        check_password(password)
        existing = self.get(name)
        if existing is not None and not existing.revoked:
            raise AccountError(f"account {name!r} already exists (role {existing.role}); expected a new name")
        salt = secrets.token_bytes(16)
        now = self.clock.now()
        self._execute(
            "INSERT OR REPLACE INTO accounts (name, role, salt, hash, created_t, changed_t, revoked) "
            "VALUES (?, ?, ?, ?, ?, ?, 0)",
            (name, role, salt, _hash(password, salt), now, now),
        )
        return Account(name, role, now, now)

    def get(self, name: str) -> Account | None:
        """The account ``name`` (revoked ones too), None if there is none."""
        rows = self._execute("SELECT name, role, created_t, changed_t, revoked FROM accounts WHERE name = ?", (name,))
        if not rows:
            return None
        row = rows[0]
        return Account(str(row[0]), str(row[1]), float(row[2]), float(row[3]), bool(row[4]))

    def list(self) -> list[Account]:
        """Every account, revoked ones included, by name."""
        rows = self._execute("SELECT name FROM accounts ORDER BY name")
        return [account for (name,) in rows if (account := self.get(str(name))) is not None]

    def remove(self, name: str) -> Account:
        """Revoke account ``name`` at once: it can no longer log in, and a session it has open can no longer act.
        The row stays so the audit trail can name it."""
        account = self.active(name)
        self._execute("UPDATE accounts SET revoked = 1, changed_t = ? WHERE name = ?", (self.clock.now(), name))
        return account

    def set_password(self, name: str, password: str) -> None:
        """Give account ``name`` a new password."""
        self.active(name)
        check_password(password)
        salt = secrets.token_bytes(16)
        self._execute(
            "UPDATE accounts SET salt = ?, hash = ?, changed_t = ? WHERE name = ?",
            (salt, _hash(password, salt), self.clock.now(), name),
        )

    def set_role(self, name: str, role: str) -> None:
        """Give account ``name`` a new role (effective for its open sessions at their next action)."""
        self.active(name)
        check_role(role)
        self._execute("UPDATE accounts SET role = ?, changed_t = ? WHERE name = ?", (role, self.clock.now(), name))

    def active(self, name: str) -> Account:
        """The account ``name`` if it exists and is not revoked, else :class:`LoginRefused` saying which."""
        account = self.get(name) if isinstance(name, str) else None
        if account is None:
            raise LoginRefused(f"unknown user {_shown(name)}")
        if account.revoked:
            raise LoginRefused(f"the account {_shown(name)} has been revoked")
        return account

    def login(self, name: str, password: str) -> Account:
        """The account if ``password`` is right, else :class:`LoginRefused`. An unknown user and a wrong password
        are told the same words (the refusal's ``detail``, for the audit, says which), and the hash is checked
        even for an unknown user, so neither the text nor the timing tells whether an account exists; a
        revoked account is named as such only with its right password."""
        rows = self._execute("SELECT salt, hash, revoked FROM accounts WHERE name = ?", (str(name),))
        salt, stored, revoked = rows[0] if rows else (b"\0" * 16, b"", 0)
        good = hmac.compare_digest(_hash(str(password), bytes(salt)), bytes(stored))
        told = f"wrong user name or password for {_shown(name)}"
        if not rows:
            raise LoginRefused(told, f"unknown user {_shown(name)}")
        if not good:
            raise LoginRefused(told, f"wrong password for {_shown(name)}")
        if revoked:  # only someone who knows the password learns that the account was revoked
            raise LoginRefused(f"the account {_shown(name)} has been revoked")
        return self.active(name)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._conn.close()


#: Characters of a user name a refusal quotes at most (a login may carry any name, of any length).
SHOWN_NAME_CHARS = 64


def _shown(name: object) -> str:
    """``name`` quoted for a message, cut to :data:`SHOWN_NAME_CHARS` characters."""
    text = str(name)
    return repr(text[:SHOWN_NAME_CHARS]) + ("..." if len(text) > SHOWN_NAME_CHARS else "")
