"""The flight store on real SQLite files: state, counters, ledger, command ids, link counters, migrations,
errors, and survival of ``kill -9`` in a real child process."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from base.clock import VirtualClock
from flight.commands import CommandRegistry, command
from flight.dispatcher import Dispatcher, Stage
from flight.errors import PersistenceError
from flight.events import EventLog
from flight.store import SCHEMA_VERSION, FlightStore, LedgerTotals, migrate, schema_version

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "flight.sqlite"


@pytest.fixture
def store(store_path: Path, clock: VirtualClock):
    with FlightStore(store_path, clock) as opened:
        yield opened


# ------------------------------------------------------------------------------------------- open
def test_new_file_gets_wal_full_sync_and_current_schema(store: FlightStore, store_path: Path) -> None:
    assert store_path.exists()
    assert store.schema_version == SCHEMA_VERSION
    raw = sqlite3.connect(store_path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        raw.close()
    assert {"schema_version", "snapshot", "state", "counters", "ledger", "command_ids", "link_counters"} <= tables
    # synchronous and foreign_keys are per connection: read them from the store's own.
    assert store._connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert store._connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_reopening_keeps_everything(store_path: Path, clock: VirtualClock) -> None:
    with FlightStore(store_path, clock) as first:
        first.save_state({"mode": "extracting", "site": 2, "plan": [1, 2, 3]}, increments={"cycles": 3})
        row = first.record_extraction(4, 2, 0.125, 5.0, 310.5, clock.now())
        first.add("op-17")
        first.set_counter("alice", 41)
    with FlightStore(store_path, clock) as second:
        assert second.load_state() == {"mode": "extracting", "site": 2, "plan": [1, 2, 3]}
        assert second.counters() == {"cycles": 3}
        assert [entry.id for entry in second.ledger()] == [row]
        assert second.seen("op-17")
        assert second.last_counter("alice") == 41
        assert second.schema_version == SCHEMA_VERSION


def test_missing_directory_is_a_clear_error(tmp_path: Path, clock: VirtualClock) -> None:
    path = tmp_path / "absent" / "flight.sqlite"
    with pytest.raises(PersistenceError, match=r"absent.*expected an existing directory"):
        FlightStore(path, clock)


def test_a_file_that_is_not_sqlite_is_refused_naming_it(tmp_path: Path, clock: VirtualClock) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"this is a text file, not a database\n" * 200)
    with pytest.raises(PersistenceError, match=r"notes\.sqlite: cannot open the flight store: .*not a database"):
        FlightStore(path, clock)


def test_a_store_from_newer_software_is_refused(store_path: Path, clock: VirtualClock) -> None:
    FlightStore(store_path, clock).close()
    raw = sqlite3.connect(store_path)
    raw.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 5,))
    raw.commit()
    raw.close()
    with pytest.raises(PersistenceError, match=rf"schema version {SCHEMA_VERSION + 5} is newer.*expected version"):
        FlightStore(store_path, clock)


def test_migrate_brings_an_empty_database_to_the_current_version_once(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "bare.sqlite", isolation_level=None)
    try:
        assert schema_version(connection) == 0
        assert migrate(connection, "bare") == 0
        assert schema_version(connection) == SCHEMA_VERSION
        assert migrate(connection, "bare") == SCHEMA_VERSION  # nothing left to do
        assert connection.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 1
    finally:
        connection.close()


def test_a_closed_store_refuses_work(store_path: Path, clock: VirtualClock) -> None:
    opened = FlightStore(store_path, clock)
    opened.close()
    opened.close()
    with pytest.raises(PersistenceError, match=r"flight\.sqlite: cannot record an extraction: .*closed"):
        opened.record_extraction(1, 0, 0.1, 1.0, 1.0, 0.0)


# ------------------------------------------------------------------------------------------ state
def test_state_is_none_until_saved_and_empty_state_is_distinct(store: FlightStore, clock: VirtualClock) -> None:
    assert store.load_state() is None
    assert store.state_saved_at() is None
    clock.advance(12.5)
    store.save_state({})
    assert store.load_state() == {}
    assert store.state_saved_at() == clock.now()


def test_save_state_replaces_the_whole_snapshot(store: FlightStore) -> None:
    store.save_state({"a": 1, "b": {"nested": [True, None, 2.5]}})
    store.save_state({"c": "three"})
    assert store.load_state() == {"c": "three"}


def test_save_state_and_counters_commit_together(store: FlightStore) -> None:
    store.save_state({"cycle": 1}, increments={"cycles": 1, "faults": 0})
    # A bad value anywhere fails the whole write: neither state nor counters change.
    with pytest.raises(PersistenceError, match=r"state key 'when': expected a JSON value"):
        store.save_state({"cycle": 2, "when": {1, 2}}, increments={"cycles": 1})
    with pytest.raises(PersistenceError, match=r"counter 'cycles': expected an integer increment, found float"):
        store.save_state({"cycle": 2}, increments={"cycles": 1.5})  # type: ignore[dict-item]
    assert store.load_state() == {"cycle": 1}
    assert store.counters() == {"cycles": 1, "faults": 0}


def test_state_refuses_nan_non_str_keys_and_non_mappings(store: FlightStore) -> None:
    with pytest.raises(PersistenceError, match=r"state key 'x'.*finite numbers"):
        store.save_state({"x": float("nan")})
    with pytest.raises(PersistenceError, match=r"expected a non-empty str state key, found int 3"):
        store.save_state({3: "x"})  # type: ignore[dict-item]
    with pytest.raises(PersistenceError, match=r"expected a mapping.*found list"):
        store.save_state([("a", 1)])  # type: ignore[arg-type]
    assert store.load_state() is None


# --------------------------------------------------------------------------------------- counters
def test_counters_increment_and_return_the_new_value(store: FlightStore) -> None:
    assert store.counters() == {}
    assert store.increment("cycles") == 1
    assert store.increment("cycles", 4) == 5
    assert store.increment("faults", -0) == 0
    assert store.counters() == {"cycles": 5, "faults": 0}
    with pytest.raises(PersistenceError, match=r"expected an integer increment, found bool True"):
        store.increment("cycles", True)
    with pytest.raises(PersistenceError, match=r"non-empty str counter name"):
        store.increment("", 1)


# ----------------------------------------------------------------------------------------- ledger
def test_ledger_records_lists_and_totals_per_site(store: FlightStore, clock: VirtualClock) -> None:
    rows = [
        store.record_extraction(1, 0, 0.10, 4.0, 200.0, clock.now()),
        store.record_extraction(2, 0, 0.20, 4.0, 210.0, clock.now() + 1),
        store.record_extraction(3, 3, 0.05, 2.0, 100.0, clock.now() + 2),
    ]
    assert rows == sorted(rows) and len(set(rows)) == 3
    entries = store.ledger()
    assert [(e.id, e.cycle, e.site) for e in entries] == [(rows[0], 1, 0), (rows[1], 2, 0), (rows[2], 3, 3)]
    assert entries[1].as_dict() == {
        "id": rows[1],
        "cycle": 2,
        "site": 0,
        "water_kg": 0.20,
        "regolith_kg": 4.0,
        "energy_Wh": 210.0,
        "t": clock.now() + 1,
    }
    assert [e.id for e in store.ledger(site=0)] == rows[:2]
    assert [e.id for e in store.ledger(after_id=rows[0])] == rows[1:]
    total = store.totals()
    assert total.entries == 3
    assert total.water_kg == pytest.approx(0.35)
    assert total.regolith_kg == pytest.approx(10.0)
    assert total.energy_Wh == pytest.approx(510.0)
    assert store.totals(site=3) == LedgerTotals(0.05, 2.0, 100.0, 1)
    assert store.totals(site=9) == LedgerTotals()
    by_site = store.totals_by_site()
    assert sorted(by_site) == [0, 3]
    assert by_site[0].entries == 2 and by_site[0].water_kg == pytest.approx(0.30)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((-1, 0, 0.1, 1.0, 1.0, 0.0), r"expected cycle an integer >= 0, found -1"),
        ((1, 1.5, 0.1, 1.0, 1.0, 0.0), r"expected site an integer >= 0, found 1.5"),
        ((1, 0, -0.1, 1.0, 1.0, 0.0), r"expected water_kg a finite number >= 0, found -0.1"),
        ((1, 0, 0.1, float("inf"), 1.0, 0.0), r"expected regolith_kg a finite number >= 0, found inf"),
        ((1, 0, 0.1, 1.0, float("nan"), 0.0), r"expected energy_Wh a finite number >= 0, found nan"),
        ((1, 0, 0.1, 1.0, 1.0, "now"), r"expected t finite clock seconds, found 'now'"),
        ((True, 0, 0.1, 1.0, 1.0, 0.0), r"expected cycle an integer >= 0, found True"),
    ],
)
def test_bad_extraction_is_refused_and_nothing_is_written(store: FlightStore, args: tuple, match: str) -> None:
    with pytest.raises(PersistenceError, match=r"flight\.sqlite: cannot record an extraction: " + match):
        store.record_extraction(*args)
    assert store.ledger() == []


# ------------------------------------------------------------------------------------ command ids
def test_command_ids_persist_and_adding_twice_is_harmless(store_path: Path, clock: VirtualClock) -> None:
    with FlightStore(store_path, clock) as first:
        assert not first.seen("gnd-1")
        first.add("gnd-1")
        first.add("gnd-1")
        assert first.seen("gnd-1")
        assert first.command_id_count() == 1
    with FlightStore(store_path, clock) as second:
        assert second.seen("gnd-1")
        assert not second.seen("gnd-2")
        second.discard("gnd-1")  # its acceptance could not be recorded: it never ran
        second.discard("gnd-2")  # forgetting an id never added is harmless
    with FlightStore(store_path, clock) as third:
        assert not third.seen("gnd-1") and third.command_id_count() == 0


def test_dispatcher_refuses_an_id_executed_before_a_restart(store_path: Path, clock: VirtualClock) -> None:
    class Lamp:
        def __init__(self) -> None:
            self.switched = 0

        @command("lamp_on", "switch the lamp")
        def lamp_on(self) -> None:
            self.switched += 1

    lamp = Lamp()
    with FlightStore(store_path, clock) as first:
        registry = CommandRegistry()
        registry.register(lamp)
        status = Dispatcher(registry, clock, EventLog(clock), first).submit("lamp_on", command_id="gnd-7")
        assert status.stage == Stage.COMPLETED
    with FlightStore(store_path, clock) as second:
        registry = CommandRegistry()
        registry.register(lamp)
        again = Dispatcher(registry, clock, EventLog(clock), second).submit("lamp_on", command_id="gnd-7")
    assert again.stage == Stage.FAILED and again.reason == "duplicate_id"
    assert lamp.switched == 1


# ---------------------------------------------------------------------------------- link counters
def test_link_counters_survive_a_restart_and_never_go_back(store_path: Path, clock: VirtualClock) -> None:
    with FlightStore(store_path, clock) as first:
        assert first.last_counter("alice") == 0
        first.set_counter("alice", 10)
        first.set_counter("alice", 10)
        first.set_counter("bob", 3)
    with FlightStore(store_path, clock) as second:
        assert second.last_counter("alice") == 10
        assert second.last_counter("bob") == 3
        with pytest.raises(PersistenceError, match=r"link client 'alice': expected a counter >= 10.*found 9"):
            second.set_counter("alice", 9)
        with pytest.raises(PersistenceError, match=r"expected a counter 0..2\^63-1, found -1"):
            second.set_counter("carol", -1)
        with pytest.raises(PersistenceError, match=r"expected a counter 0..2\^63-1, found 9223372036854775808"):
            second.set_counter("carol", 2**63)
        assert second.last_counter("alice") == 10
        assert second.last_counter("carol") == 0


# -------------------------------------------------------------------------------------- threading
def test_threads_share_one_store(store: FlightStore) -> None:
    per_thread = 50

    def work(worker: int) -> None:
        for cycle in range(per_thread):
            store.record_extraction(cycle, worker, 0.01, 1.0, 2.0, float(cycle))
            store.increment("cycles")

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert store.counters() == {"cycles": 4 * per_thread}
    assert store.totals().entries == 4 * per_thread
    assert {site: t.entries for site, t in store.totals_by_site().items()} == dict.fromkeys(range(4), per_thread)


# ---------------------------------------------------------------------------------------- kill -9
_CHILD = textwrap.dedent(
    """
    import sys
    from flight.store import FlightStore
    from base.clock import VirtualClock

    clock = VirtualClock()
    store = FlightStore(sys.argv[1], clock)
    done = store.counters().get("cycles", 0)
    for cycle in range(done + 1, done + 1_000_000):
        clock.advance(60.0)
        row = store.record_extraction(cycle, cycle % 5, cycle * 0.001, cycle * 0.5, cycle * 2.0, clock.now())
        print(row, flush=True)
        store.save_state({"cycle": cycle, "last_row": row, "site": cycle % 5}, increments={"cycles": 1})
        store.add(f"cmd-{cycle}")
    """
)


def _run_and_kill(path: Path, rows_before_kill: int) -> list[int]:
    """Start a child writing to ``path``, SIGKILL it after it reported ``rows_before_kill`` row ids;
    return every row id it reported."""
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reported: list[int] = []
    deadline = time.perf_counter() + 60
    try:
        assert child.stdout is not None
        while len(reported) < rows_before_kill:
            line = child.stdout.readline()
            if not line:
                pytest.fail(f"the writer died early: {child.stderr.read() if child.stderr else ''}")
            reported.append(int(line))
            assert time.perf_counter() < deadline, "the writer is too slow"
        os.kill(child.pid, signal.SIGKILL)
        rest, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    # Lines the child printed before the kill but the parent had not read yet were also returned ids.
    reported.extend(int(line) for line in rest.split() if line.strip())
    return reported


def test_kill_9_loses_no_returned_entry_and_leaves_no_partial_write(store_path: Path, clock: VirtualClock) -> None:
    first = _run_and_kill(store_path, rows_before_kill=40)
    second = _run_and_kill(store_path, rows_before_kill=25)  # a restart after a crash, then a crash again
    reported = first + second
    assert len(reported) >= 65

    with FlightStore(store_path, clock) as reopened:
        entries = reopened.ledger()
        ids = [entry.id for entry in entries]
        # Every entry whose record_extraction returned is there; nothing was recorded twice.
        assert set(reported) <= set(ids)
        assert len(ids) == len(set(ids))
        # No partial rows: every row is whole and consistent with its cycle; cycles run 1..n without gaps
        # (a restart resumes at the counter, so the cycle sequence is continuous).
        for entry in entries:
            assert entry.site == entry.cycle % 5
            assert entry.water_kg == pytest.approx(entry.cycle * 0.001)
            assert entry.regolith_kg == pytest.approx(entry.cycle * 0.5)
            assert entry.energy_Wh == pytest.approx(entry.cycle * 2.0)
        cycles = [entry.cycle for entry in entries]
        # The kill may fall between an entry and its state snapshot: the restart then records that cycle again.
        assert sorted(set(cycles)) == list(range(1, max(cycles) + 1))
        # State and counters were written in one transaction: they always agree.
        state = reopened.load_state()
        assert state is not None
        assert reopened.counters()["cycles"] == state["cycle"]
        assert state["last_row"] in ids
        assert state["cycle"] in (max(cycles), max(cycles) - 1)
        # A command id is added after its cycle's snapshot, so each kill may cost at most the one id whose
        # add() had not returned.
        missing = [cycle for cycle in range(1, state["cycle"] + 1) if not reopened.seen(f"cmd-{cycle}")]
        assert len(missing) <= 2, missing
        assert reopened._connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # And the file keeps working.
        row = reopened.record_extraction(max(cycles) + 1, 0, 0.0, 0.0, 0.0, clock.now())
        assert reopened.ledger(after_id=max(ids))[0].id == row


def test_a_cycle_s_ledger_entry_is_stored_with_its_snapshot_or_not_at_all(store: FlightStore) -> None:
    extraction = {"cycle": 3, "site": 1, "water_kg": 0.4, "regolith_kg": 5.0, "energy_Wh": 900.0, "t": 10.0}
    row_id = store.save_state({"state": "next_site", "cycle": 3}, {"transitions": 1}, extraction)
    assert [e.id for e in store.ledger()] == [row_id]
    assert store.load_state() == {"state": "next_site", "cycle": 3}
    bad = dict(extraction, water_kg=float("nan"))
    with pytest.raises(PersistenceError, match="water_kg"):
        store.save_state({"state": "stow", "cycle": 4}, {"transitions": 1}, bad)
    assert [e.id for e in store.ledger()] == [row_id]
    assert store.load_state() == {"state": "next_site", "cycle": 3}
    assert store.counters()["transitions"] == 1
