"""The flight store: everything flight must remember across a restart, in one SQLite file.

What it holds:

* a snapshot of mission state (a JSON object, one row per top-level key), replaced as a whole;
* named counters (cycles completed, faults seen, ...);
* the ledger of extracted water and regolith, one row per extraction (site and cycle);
* the ids of commands already executed (the dispatcher's :class:`~flight.dispatcher.IdStore`);
* the last command counter accepted from each link client.

Durability: the file is in WAL mode with ``synchronous=FULL``, and every write is one transaction
committed before the method returns, so a write that returned survives ``kill -9`` and a power cut,
and a write that did not return leaves nothing behind. Reopening after a crash needs no repair step:
SQLite replays or discards the write-ahead log on open. Every SQLite or OS error is raised as
:class:`~flight.errors.PersistenceError` naming the file.

Times (``t``) are clock seconds since the Unix epoch; masses kg; energy Wh.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from base.clock import Clock
from flight.errors import PersistenceError
from flight.file_lock import FileLock, FileLocked
from flight.store_care import how_to_recover, rotate_backup, unreadable_state

_LOGGER = logging.getLogger(__name__)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "FlightStore", "LedgerEntry", "LedgerTotals", "migrate", "schema_version"]

#: Schema migrations in order: ``(version, statements)``. A new schema is a new entry appended here;
#: an entry that shipped is never edited, so every file on every rig reaches the same schema.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE snapshot (
                   id INTEGER PRIMARY KEY CHECK (id = 1),
                   t REAL NOT NULL,
                   generation INTEGER NOT NULL
               )""",
            """CREATE TABLE state (
                   key TEXT PRIMARY KEY,
                   value TEXT NOT NULL
               )""",
            """CREATE TABLE counters (
                   name TEXT PRIMARY KEY,
                   value INTEGER NOT NULL
               )""",
            """CREATE TABLE ledger (
                   id INTEGER PRIMARY KEY AUTOINCREMENT,
                   cycle INTEGER NOT NULL CHECK (cycle >= 0),
                   site INTEGER NOT NULL CHECK (site >= 0),
                   water_kg REAL NOT NULL CHECK (water_kg >= 0),
                   regolith_kg REAL NOT NULL CHECK (regolith_kg >= 0),
                   energy_Wh REAL NOT NULL CHECK (energy_Wh >= 0),
                   t REAL NOT NULL
               )""",
            "CREATE INDEX ledger_site ON ledger (site, cycle)",
            """CREATE TABLE command_ids (
                   id TEXT PRIMARY KEY,
                   t REAL NOT NULL
               ) WITHOUT ROWID""",
            """CREATE TABLE link_counters (
                   client TEXT PRIMARY KEY,
                   counter INTEGER NOT NULL CHECK (counter >= 0),
                   t REAL NOT NULL
               )""",
        ),
    ),
)

#: The schema version this code writes.
SCHEMA_VERSION = MIGRATIONS[-1][0]


@dataclass(frozen=True)
class LedgerEntry:
    """One extraction: ``water_kg`` of water and ``regolith_kg`` of regolith processed at ``site`` in
    ``cycle``, for ``energy_Wh`` of energy, finished at ``t`` (clock seconds since the epoch)."""

    id: int
    cycle: int
    site: int
    water_kg: float
    regolith_kg: float
    energy_Wh: float
    t: float

    def as_dict(self) -> dict[str, Any]:
        """A plain dict for the link and for JSON."""
        return {
            "id": self.id,
            "cycle": self.cycle,
            "site": self.site,
            "water_kg": self.water_kg,
            "regolith_kg": self.regolith_kg,
            "energy_Wh": self.energy_Wh,
            "t": self.t,
        }


@dataclass(frozen=True)
class LedgerTotals:
    """Sums over ledger entries: kg of water and regolith, Wh of energy, and how many entries."""

    water_kg: float = 0.0
    regolith_kg: float = 0.0
    energy_Wh: float = 0.0
    entries: int = 0

    def as_dict(self) -> dict[str, Any]:
        """A plain dict for the link and for JSON."""
        return {
            "water_kg": self.water_kg,
            "regolith_kg": self.regolith_kg,
            "energy_Wh": self.energy_Wh,
            "entries": self.entries,
        }


def schema_version(connection: sqlite3.Connection) -> int:
    """The schema version of an open database (0 for a new, empty file)."""
    row = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if row is None:
        return 0
    row = connection.execute("SELECT version FROM schema_version").fetchone()
    return 0 if row is None else int(row[0])


def migrate(connection: sqlite3.Connection, source: str = "<database>") -> int:
    """Bring an open database (autocommit mode) up to :data:`SCHEMA_VERSION`; returns the version it was at.

    Each migration runs in its own transaction together with the version bump, so a crash between two
    migrations leaves a file at a consistent, earlier version. A file written by newer software (a
    version above :data:`SCHEMA_VERSION`) is refused rather than guessed at.
    """
    found = schema_version(connection)
    if found > SCHEMA_VERSION:
        raise PersistenceError(
            f"{source}: schema version {found} is newer than this software supports; "
            f"expected version {SCHEMA_VERSION} or older (update isru, or restore an older store)"
        )
    for version, statements in MIGRATIONS:
        if version <= found:
            continue
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            for statement in statements:
                connection.execute(statement)
            connection.execute("DELETE FROM schema_version")
            connection.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        _LOGGER.info("%s: migrated the flight store to schema version %d", source, version)
    return found


class FlightStore:
    """The flight segment's persistent memory in one SQLite file at ``path`` (created if missing).

    Safe to share between the threads of one process (one connection behind a lock). Implements the
    :class:`~flight.dispatcher.IdStore` protocol (:meth:`seen`, :meth:`add`, :meth:`discard`).
    """

    def __init__(self, path: str | Path, clock: Clock, *, busy_timeout_s: float = 5.0, read_only: bool = False) -> None:
        self.path = Path(path)
        self.clock = clock
        self._lock = threading.RLock()
        self._closed = False
        self._file_lock: FileLock | None = None  # one writing flight process per store (not for reading)
        self._connection = self._open_read_only(busy_timeout_s) if read_only else self._open(busy_timeout_s)

    def _open_read_only(self, busy_timeout_s: float) -> sqlite3.Connection:
        """The file opened for reading only (``read_only=True``: a tool beside a running flight). Nothing is
        written: no migration, no backup rotated (opening for writing rotates the backups, docs/operations.md);
        a store of another schema version is refused, a write raises."""
        if not self.path.is_file():
            raise PersistenceError(f"{self.path}: cannot read the flight store: expected an existing file")
        connection = None
        try:
            connection = sqlite3.connect(
                self.path.resolve().as_uri() + "?mode=ro",
                uri=True,
                timeout=busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,
            )
            found = schema_version(connection)
        except sqlite3.Error as exc:
            if connection is not None:
                connection.close()
            raise PersistenceError(f"{self.path}: cannot read the flight store: {exc}") from exc
        if found != SCHEMA_VERSION:
            connection.close()
            raise PersistenceError(
                f"{self.path}: schema version {found}; expected {SCHEMA_VERSION} to read it without changing it "
                "(flight upgrades the file at its next start)"
            )
        return connection

    # --------------------------------------------------------------------------------- lifecycle
    def _open(self, busy_timeout_s: float) -> sqlite3.Connection:
        if not self.path.parent.is_dir():
            raise PersistenceError(
                f"{self.path}: cannot open the flight store: expected an existing directory {self.path.parent}"
            )
        if self.path.is_file() and self.path.stat().st_size == 0:
            raise PersistenceError(
                f"{self.path}: the flight store is empty (0 bytes): expected its ledger, counters and command ids; "
                + how_to_recover(self.path)
            )
        try:
            lock = FileLock(self.path, "flight store")
        except FileLocked as exc:
            raise PersistenceError(str(exc)) from exc
        self._file_lock = lock
        connection: sqlite3.Connection | None = None
        try:
            connection = sqlite3.connect(
                self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise PersistenceError(f"{self.path}: expected the file to accept WAL journal mode, found {mode!r}")
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute("PRAGMA foreign_keys=ON")
            check = connection.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise PersistenceError(
                    f"{self.path}: the flight store is damaged: quick_check reports {check!r}; "
                    + how_to_recover(self.path)
                )
            before = migrate(connection, str(self.path))
            unreadable = unreadable_state(connection)
            if unreadable:  # found before the backups rotate, so no backup becomes a copy of it
                raise PersistenceError(
                    f"{self.path}: the flight store's mission state is damaged: {'; '.join(unreadable)}; "
                    + how_to_recover(self.path)
                )
        except PersistenceError:
            if connection is not None:
                connection.close()
            lock.release()
            raise
        except (sqlite3.Error, OSError) as exc:
            if connection is not None:
                connection.close()
            lock.release()
            damaged = isinstance(exc, sqlite3.DatabaseError) and any(
                word in str(exc) for word in ("malformed", "not a database", "corrupt")
            )
            hint = f"; the flight store is damaged: {how_to_recover(self.path)}" if damaged else ""
            raise PersistenceError(f"{self.path}: cannot open the flight store: {exc}{hint}") from exc
        _LOGGER.info("opened flight store %s (schema %d, was %d)", self.path, SCHEMA_VERSION, before)
        rotate_backup(connection, self.path)
        return connection

    def close(self) -> None:
        """Close the file (checkpointing the write-ahead log). Closing twice is harmless."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._connection.close()
            except sqlite3.Error as exc:
                raise PersistenceError(f"{self.path}: cannot close the flight store: {exc}") from exc
            finally:
                if self._file_lock is not None:
                    self._file_lock.release()

    def __enter__(self) -> FlightStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        """The schema version of the open file."""
        with self._read() as connection:
            return schema_version(connection)

    # ------------------------------------------------------------------------------ transactions
    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        """One transaction, committed (and synced) on leaving the block; ``what`` names it in errors."""
        with self._lock:
            self._check_open(what)
            connection = self._connection
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise PersistenceError(f"{self.path}: cannot {what}: {exc}") from exc
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException as exc:
                try:
                    connection.execute("ROLLBACK")
                except sqlite3.Error:
                    _LOGGER.exception("%s: rollback after a failed write failed", self.path)
                if isinstance(exc, sqlite3.Error):
                    raise PersistenceError(f"{self.path}: cannot {what}: {exc}") from exc
                raise

    @contextmanager
    def _read(self, what: str = "read the flight store") -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._check_open(what)
            try:
                yield self._connection
            except sqlite3.Error as exc:
                raise PersistenceError(f"{self.path}: cannot {what}: {exc}") from exc

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise PersistenceError(f"{self.path}: cannot {what}: the flight store is closed")

    # ------------------------------------------------------------------------------------ state
    def save_state(
        self,
        state: Mapping[str, Any],
        increments: Mapping[str, int] | None = None,
        extraction: Mapping[str, Any] | None = None,
    ) -> int | None:
        """Replace the mission-state snapshot with ``state`` (string keys, JSON values), add ``increments`` to
        counters and, if given, add ``extraction`` (the keyword arguments of :meth:`record_extraction`) to the
        ledger, all in one transaction: after a crash either all happened or none. Returns the ledger row id
        (None without an extraction)."""
        row = self._extraction_row(**extraction) if extraction is not None else None
        if not isinstance(state, Mapping):
            raise PersistenceError(
                f"{self.path}: cannot save state: expected a mapping of str to JSON values, "
                f"found {type(state).__name__}"
            )
        rows = [(self._check_key(key, "state key"), self._encode(key, value)) for key, value in state.items()]
        steps = self._check_increments(increments or {})
        with self._write("save the mission state") as connection:
            connection.execute("DELETE FROM state")
            connection.executemany("INSERT INTO state (key, value) VALUES (?, ?)", rows)
            connection.execute(
                "INSERT INTO snapshot (id, t, generation) VALUES (1, ?, 1) "
                "ON CONFLICT (id) DO UPDATE SET t = excluded.t, generation = generation + 1",
                (self.clock.now(),),
            )
            for name, n in steps:
                self._add_counter(connection, name, n)
            if row is not None:
                return self._insert_extraction(connection, row)
        return None

    def load_state(self) -> dict[str, Any] | None:
        """The last saved snapshot, or None if none was ever saved."""
        with self._read("load the mission state") as connection:
            if connection.execute("SELECT 1 FROM snapshot").fetchone() is None:
                return None
            rows = connection.execute("SELECT key, value FROM state ORDER BY key").fetchall()
        state: dict[str, Any] = {}
        for key, text in rows:
            try:
                state[key] = json.loads(text)
            except json.JSONDecodeError as exc:
                raise PersistenceError(f"{self.path}: state key {key!r}: expected JSON, found {text[:40]!r}") from exc
        return state

    def state_saved_at(self) -> float | None:
        """When the snapshot was last saved (clock seconds since the epoch), or None."""
        with self._read() as connection:
            row = connection.execute("SELECT t FROM snapshot").fetchone()
        return None if row is None else float(row[0])

    def _encode(self, key: str, value: Any) -> str:
        try:
            return json.dumps(value, allow_nan=False, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise PersistenceError(
                f"{self.path}: cannot save state key {key!r}: expected a JSON value "
                f"(finite numbers, str, bool, None, lists, dicts with str keys), found {exc}"
            ) from exc

    # --------------------------------------------------------------------------------- counters
    def increment(self, name: str, n: int = 1) -> int:
        """Add ``n`` to counter ``name`` (created at 0); returns the new value."""
        ((name, n),) = self._check_increments({name: n})
        with self._write(f"increment counter {name!r}") as connection:
            return self._add_counter(connection, name, n)

    def counters(self) -> dict[str, int]:
        """Every counter by name."""
        with self._read() as connection:
            return {name: int(value) for name, value in connection.execute("SELECT name, value FROM counters")}

    @staticmethod
    def _add_counter(connection: sqlite3.Connection, name: str, n: int) -> int:
        row = connection.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value RETURNING value",
            (name, n),
        ).fetchone()
        return int(row[0])

    def _check_increments(self, increments: Mapping[str, int]) -> list[tuple[str, int]]:
        checked = []
        for name, n in increments.items():
            self._check_key(name, "counter name")
            if isinstance(n, bool) or not isinstance(n, int):
                raise PersistenceError(
                    f"{self.path}: counter {name!r}: expected an integer increment, found {type(n).__name__} {n!r}"
                )
            checked.append((name, n))
        return checked

    def _check_key(self, key: Any, what: str) -> str:
        if not isinstance(key, str) or not key:
            raise PersistenceError(f"{self.path}: expected a non-empty str {what}, found {type(key).__name__} {key!r}")
        return key

    # ----------------------------------------------------------------------------------- ledger
    def record_extraction(
        self, cycle: int, site: int, water_kg: float, regolith_kg: float, energy_Wh: float, t: float
    ) -> int:
        """Add one extraction to the ledger and return its row id. Once this returns, the entry is on disk."""
        row = self._extraction_row(cycle, site, water_kg, regolith_kg, energy_Wh, t)
        with self._write("record an extraction") as connection:
            return self._insert_extraction(connection, row)

    def _extraction_row(
        self, cycle: int, site: int, water_kg: float, regolith_kg: float, energy_Wh: float, t: float
    ) -> tuple[int, int, float, float, float, float]:
        """A checked ledger row, or :class:`PersistenceError` naming the bad value."""
        for name, value in (("cycle", cycle), ("site", site)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise PersistenceError(
                    f"{self.path}: cannot record an extraction: expected {name} an integer >= 0, found {value!r}"
                )
        amounts = {"water_kg": water_kg, "regolith_kg": regolith_kg, "energy_Wh": energy_Wh}
        for name, amount in amounts.items():
            if (
                isinstance(amount, bool)
                or not isinstance(amount, int | float)
                or not math.isfinite(amount)
                or amount < 0
            ):
                raise PersistenceError(
                    f"{self.path}: cannot record an extraction: expected {name} a finite number >= 0, found {amount!r}"
                )
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
            raise PersistenceError(
                f"{self.path}: cannot record an extraction: expected t finite clock seconds, found {t!r}"
            )
        return (cycle, site, float(water_kg), float(regolith_kg), float(energy_Wh), float(t))

    @staticmethod
    def _insert_extraction(connection: sqlite3.Connection, row: tuple[int, int, float, float, float, float]) -> int:
        cursor = connection.execute(
            "INSERT INTO ledger (cycle, site, water_kg, regolith_kg, energy_Wh, t) VALUES (?, ?, ?, ?, ?, ?)", row
        )
        row_id = cursor.lastrowid
        assert row_id is not None
        return row_id

    def ledger(self, *, site: int | None = None, after_id: int = 0) -> list[LedgerEntry]:
        """Ledger entries in the order recorded: all, or one ``site``'s, with ids above ``after_id``."""
        query = "SELECT id, cycle, site, water_kg, regolith_kg, energy_Wh, t FROM ledger WHERE id > ?"
        params: list[Any] = [after_id]
        if site is not None:
            query += " AND site = ?"
            params.append(site)
        with self._read("read the ledger") as connection:
            rows = connection.execute(query + " ORDER BY id", params).fetchall()
        return [LedgerEntry(*row) for row in rows]

    def totals(self, site: int | None = None) -> LedgerTotals:
        """Sums over the whole ledger, or over one ``site``."""
        query = "SELECT TOTAL(water_kg), TOTAL(regolith_kg), TOTAL(energy_Wh), COUNT(*) FROM ledger"
        params: tuple[Any, ...] = ()
        if site is not None:
            query += " WHERE site = ?"
            params = (site,)
        with self._read("read the ledger") as connection:
            water, regolith, energy, count = connection.execute(query, params).fetchone()
        return LedgerTotals(float(water), float(regolith), float(energy), int(count))

    def totals_by_site(self) -> dict[int, LedgerTotals]:
        """Sums per site, for every site with at least one entry."""
        with self._read("read the ledger") as connection:
            rows = connection.execute(
                "SELECT site, TOTAL(water_kg), TOTAL(regolith_kg), TOTAL(energy_Wh), COUNT(*) "
                "FROM ledger GROUP BY site ORDER BY site"
            ).fetchall()
        return {int(site): LedgerTotals(float(w), float(r), float(e), int(n)) for site, w, r, e, n in rows}

    # ------------------------------------------------------------------------------ command ids
    def seen(self, command_id: str) -> bool:
        """True if ``command_id`` was executed before (in this run or an earlier one)."""
        with self._read("look up a command id") as connection:
            return connection.execute("SELECT 1 FROM command_ids WHERE id = ?", (command_id,)).fetchone() is not None

    def add(self, command_id: str) -> None:
        """Remember ``command_id`` as executed; on disk when this returns. Adding it again is harmless."""
        self._check_key(command_id, "command id")
        with self._write(f"remember command id {command_id!r}") as connection:
            connection.execute(
                "INSERT INTO command_ids (id, t) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                (command_id, self.clock.now()),
            )

    def discard(self, command_id: str) -> None:
        """Forget ``command_id`` (its acceptance could not be recorded elsewhere, so it never ran)."""
        with self._write(f"forget command id {command_id!r}") as connection:
            connection.execute("DELETE FROM command_ids WHERE id = ?", (command_id,))

    def command_id_count(self) -> int:
        """How many command ids are remembered."""
        with self._read() as connection:
            return int(connection.execute("SELECT COUNT(*) FROM command_ids").fetchone()[0])

    # ----------------------------------------------------------------------------- link counters
    def last_counter(self, client: str) -> int:
        """The last command counter accepted from link client ``client`` (0 if none yet)."""
        with self._read("read a link counter") as connection:
            row = connection.execute("SELECT counter FROM link_counters WHERE client = ?", (client,)).fetchone()
        return 0 if row is None else int(row[0])

    def set_counter(self, client: str, n: int) -> None:
        """Record ``n`` as the last counter accepted from ``client``; on disk when this returns.

        Counters only go forward: a value below the stored one is refused, because accepting it would
        let an old command be replayed.
        """
        self._check_key(client, "link client")
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < 2**63:
            raise PersistenceError(f"{self.path}: link client {client!r}: expected a counter 0..2^63-1, found {n!r}")
        with self._write(f"set the counter of link client {client!r}") as connection:
            row = connection.execute("SELECT counter FROM link_counters WHERE client = ?", (client,)).fetchone()
            if row is not None and n < row[0]:
                raise PersistenceError(
                    f"{self.path}: link client {client!r}: expected a counter >= {row[0]} (counters never go "
                    f"back), found {n}"
                )
            connection.execute(
                "INSERT INTO link_counters (client, counter, t) VALUES (?, ?, ?) "
                "ON CONFLICT (client) DO UPDATE SET counter = excluded.counter, t = excluded.t",
                (client, n, self.clock.now()),
            )
