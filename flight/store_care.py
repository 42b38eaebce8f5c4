"""Care of the flight store's file: rotating backups, and the operator's way out of a damaged store
(``isru store check | repair | restore``, docs/operations.md).

* :func:`rotate_backup` — after every successful open, the store is copied (SQLite's online backup, a
  consistent snapshot) to ``PATH.bak.1``; older copies move to ``.bak.2`` … ``.bak.N``.
* :func:`check` — what is wrong with a file, without changing it.
* :func:`restore` — the newest backup that checks good replaces the file; the damaged one is moved aside.
* :func:`repair` — every row SQLite can still read is copied into a fresh file; the damaged one is moved aside.

Nothing here ever deletes a damaged file: it is renamed ``PATH.damaged-N``. Errors are
:class:`~flight.errors.PersistenceError` naming the file.
"""

from __future__ import annotations

import contextlib
import filecmp
import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flight.errors import PersistenceError

_LOGGER = logging.getLogger(__name__)

__all__ = [
    "BACKUPS",
    "Checked",
    "backups",
    "check",
    "how_to_recover",
    "move_aside",
    "repair",
    "restore",
    "rotate_backup",
    "unreadable_state",
]

#: Backups kept (``PATH.bak.1`` newest).
BACKUPS = 3


@dataclass(frozen=True)
class Checked:
    """The result of :func:`check`: ``problems`` empty when the file is a sound store; rows per table."""

    path: Path
    problems: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """The file is a sound store."""
        return not self.problems


def how_to_recover(path: Path) -> str:
    """The way out, named in every refusal to open a damaged store: restore from a backup where there is one
    (named), else repair."""
    found = backups(path)
    restore_text = (
        f"`isru store restore {path}` (newest good backup of {', '.join(b.name for b in found)}) or "
        if found
        else "(there is no backup to restore) "
    )
    return (
        f"flight will not start on it (nothing is wiped): run `isru store check {path}`, then "
        f"{restore_text}`isru store repair {path}` (keeps every readable row); the damaged file is kept beside it"
    )


def backups(path: Path) -> list[Path]:
    """The backups of ``path`` that exist, newest first."""
    return [b for b in (Path(f"{path}.bak.{i}") for i in range(1, BACKUPS + 1)) if b.is_file()]


def rotate_backup(connection: sqlite3.Connection, path: Path) -> None:
    """Write a consistent copy of the open ``connection`` and make it ``PATH.bak.1``, shifting ``PATH.bak.i``
    to ``.bak.i+1`` (dropping the oldest) — only once the copy is whole, and only if it differs from
    ``.bak.1``: a start that cannot write its copy (a full disk) or that finds the store as the last backup
    left it (starts that fail, one after another) pushes out no backup. A failure is logged, not raised:
    flight runs without a new backup."""
    fresh = Path(f"{path}.bak.new")
    newest = Path(f"{path}.bak.1")
    try:
        fresh.unlink(missing_ok=True)
        target = sqlite3.connect(fresh)
        try:
            connection.backup(target)
        finally:
            target.close()
        if newest.is_file() and filecmp.cmp(fresh, newest, shallow=False):
            fresh.unlink()
            _LOGGER.info("%s: unchanged since its backup %s: backups kept as they are", path, newest)
            return
        for i in range(BACKUPS - 1, 0, -1):
            older = Path(f"{path}.bak.{i}")
            if older.is_file():
                older.replace(Path(f"{path}.bak.{i + 1}"))
        fresh.replace(newest)
    except (sqlite3.Error, OSError) as exc:
        _LOGGER.error("%s: could not write its backup %s (the backups are kept as they were): %s", path, newest, exc)
        with contextlib.suppress(OSError):
            fresh.unlink(missing_ok=True)


def unreadable_state(connection: sqlite3.Connection) -> list[str]:
    """Rows of the mission-state table that are not JSON (a damaged snapshot), one text each."""
    problems = []
    for key, text in connection.execute("SELECT key, value FROM state ORDER BY key"):
        try:
            json.loads(text)
        except (TypeError, ValueError):
            problems.append(f"state key {key!r}: expected JSON, found {str(text)[:40]!r}")
    return problems


def check(path: str | Path) -> Checked:
    """What is wrong with the store file ``path`` (read only)."""
    path = Path(path)
    if not path.is_file():
        return Checked(path, [f"{path}: no such file"])
    if path.stat().st_size == 0:
        return Checked(path, [f"{path}: the file is empty (0 bytes); expected a flight store"])
    problems: list[str] = []
    rows: dict[str, int] = {}
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return Checked(path, [f"{path}: cannot open: {exc}"])
    try:
        for (line,) in connection.execute("PRAGMA integrity_check").fetchall():
            if line != "ok":
                problems.append(f"{path}: integrity_check: {line}")
        tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        if "schema_version" not in tables:
            problems.append(f"{path}: no schema_version table; expected a flight store")
        if "state" in tables:
            problems.extend(f"{path}: {problem}" for problem in unreadable_state(connection))
        for table in tables:
            try:
                rows[table] = int(connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
            except sqlite3.Error as exc:
                problems.append(f"{path}: table {table}: {exc}")
    except sqlite3.Error as exc:
        problems.append(f"{path}: {exc}")
    finally:
        connection.close()
    return Checked(path, problems, rows)


def move_aside(path: Path) -> Path:
    """Rename ``path`` (and its WAL files) to the first free ``PATH.damaged-N``; returns the new name."""
    n = 1
    while Path(f"{path}.damaged-{n}").exists():
        n += 1
    aside = Path(f"{path}.damaged-{n}")
    for suffix in ("-wal", "-shm"):
        extra = Path(f"{path}{suffix}")
        if extra.exists():
            extra.replace(Path(f"{aside}{suffix}"))
    path.replace(aside)
    return aside


def restore(path: str | Path) -> tuple[Path, Path | None]:
    """Replace ``path`` by its newest backup that checks good; returns (the backup used, where the old file
    went or None if there was none). Raises PersistenceError if no backup is good."""
    path = Path(path)
    good = next((b for b in backups(path) if check(b).ok), None)
    if good is None:
        raise PersistenceError(f"{path}: no good backup ({path}.bak.1 .. .bak.{BACKUPS}); try `isru store repair`")
    aside = move_aside(path) if path.exists() else None
    source = sqlite3.connect(f"file:{good}?mode=ro", uri=True)
    target = sqlite3.connect(path)
    try:
        source.backup(target)
    except sqlite3.Error as exc:
        raise PersistenceError(f"{path}: cannot restore from {good}: {exc}") from exc
    finally:
        source.close()
        target.close()
    return good, aside


def repair(path: str | Path, migrate: Callable[[sqlite3.Connection, str], object]) -> tuple[dict[str, int], Path]:
    """Copy every readable row of ``path`` into a fresh store at ``path`` (its schema made by ``migrate``,
    :func:`flight.store.migrate`); returns (rows kept per table, where the damaged file went). An empty
    (0-byte) file becomes a fresh store. A mission snapshot with a row that is not JSON is dropped whole
    (``state`` and ``snapshot`` report 0 rows kept): flight then starts idle, with its ledger, counters and
    command ids."""
    path = Path(path)
    if not path.exists():
        raise PersistenceError(f"{path}: no such file to repair")
    aside = move_aside(path)
    kept: dict[str, int] = {}
    fresh = sqlite3.connect(path, isolation_level=None)
    try:
        migrate(fresh, str(path))
        if aside.stat().st_size:
            damaged = sqlite3.connect(f"file:{aside}?mode=ro", uri=True)
            try:
                for (table,) in fresh.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                    if table.startswith("sqlite_") or table == "schema_version":
                        continue
                    kept[table] = _copy_rows(damaged, fresh, table)
            finally:
                damaged.close()
            if unreadable_state(fresh):  # a snapshot with a damaged row is no snapshot: flight starts idle
                kept["state"] = kept["snapshot"] = 0
                fresh.execute("DELETE FROM state")
                fresh.execute("DELETE FROM snapshot")
    except sqlite3.Error as exc:
        raise PersistenceError(f"{path}: cannot repair: {exc}") from exc
    finally:
        fresh.close()
    return kept, aside


def _copy_rows(damaged: sqlite3.Connection, fresh: sqlite3.Connection, table: str) -> int:
    """Copy the rows of ``table`` that can be read (row by row past a damaged page); returns how many."""
    columns = [row[1] for row in fresh.execute(f'PRAGMA table_info("{table}")')]
    names = ", ".join(f'"{c}"' for c in columns)
    insert = f'INSERT OR IGNORE INTO "{table}" ({names}) VALUES ({", ".join("?" for _ in columns)})'
    kept = 0
    try:
        cursor = damaged.execute(f'SELECT {names} FROM "{table}"')
        while True:
            try:
                row = cursor.fetchone()
            except sqlite3.Error:
                break  # the rest of this table is unreadable
            if row is None:
                break
            fresh.execute(insert, row)
            kept += 1
    except sqlite3.Error as exc:
        _LOGGER.warning("repair: table %s unreadable: %s", table, exc)
    return kept
