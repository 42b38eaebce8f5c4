"""A damaged flight store is never wiped silently: flight refuses to start on it naming the file and the way
out, and ``isru store check | restore | repair`` get the rover's memory back (real SQLite files, damaged
for real)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from base.clock import VirtualClock
from flight.errors import PersistenceError
from flight.store import FlightStore
from flight.store_care import check
from isru.cli import main
from tests.support.disks import fill

ROOT = Path(__file__).resolve().parents[2]


def _filled(path: Path, entries: int = 200) -> None:
    """A store with ``entries`` ledger rows (several pages), a counter and a command id; closed."""
    with FlightStore(path, VirtualClock()) as store:
        for i in range(entries):
            store.record_extraction(i, 0, 0.5, 10.0, 20.0, 1_000.0 + i)
        store.set_counter("operator", 41)
        store.add("cmd-1")


def _damage(path: Path) -> None:
    """Overwrite the middle of the file (whole pages of the ledger) with garbage."""
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek(size // 2 - (size // 2) % 4096)
        handle.write(b"\xa5" * 8192)


def test_an_empty_store_file_is_refused_not_started_fresh(tmp_path: Path) -> None:
    path = tmp_path / "flight.sqlite"
    path.write_bytes(b"")
    with pytest.raises(PersistenceError) as caught:
        FlightStore(path, VirtualClock())
    message = str(caught.value)
    assert f"{path}: the flight store is empty (0 bytes)" in message
    assert "there is no backup to restore" in message and f"isru store repair {path}" in message
    assert path.stat().st_size == 0  # nothing written, nothing wiped


def test_a_damaged_store_is_refused_and_restored_from_its_rotating_backup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "flight.sqlite"
    _filled(path)
    FlightStore(path, VirtualClock()).close()  # a second start: the backups rotate
    assert Path(f"{path}.bak.1").is_file() and Path(f"{path}.bak.2").is_file()
    _damage(path)
    with pytest.raises(PersistenceError, match=r"damaged.*isru store check"):
        FlightStore(path, VirtualClock())
    assert main(["store", "check", str(path)]) == 1
    assert "DAMAGED" in capsys.readouterr().out
    assert main(["store", "restore", str(path)]) == 0
    assert f"restored from {path}.bak.1" in capsys.readouterr().out
    assert Path(f"{path}.damaged-1").is_file()  # kept, never deleted
    assert main(["store", "check", str(path)]) == 0
    with FlightStore(path, VirtualClock()) as store:
        assert store.totals().entries == 200
        assert store.last_counter("operator") == 41
        assert store.seen("cmd-1")


def test_repair_keeps_every_readable_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "flight.sqlite"
    _filled(path, entries=600)
    _damage(path)
    for backup in tmp_path.glob("flight.sqlite.bak.*"):
        backup.unlink()
    assert main(["store", "restore", str(path)]) == 2
    assert "no good backup" in capsys.readouterr().err
    assert main(["store", "repair", str(path)]) == 0
    out = capsys.readouterr().out
    assert "rebuilt" in out and Path(f"{path}.damaged-1").is_file()
    assert not check(Path(f"{path}.damaged-1")).ok
    assert check(path).ok
    with FlightStore(path, VirtualClock()) as store:
        assert 0 < store.totals().entries <= 600  # what could be read (here the damage hit other pages)
        assert store.last_counter("operator") == 41


def test_isru_flight_on_a_damaged_store_exits_2_naming_the_way_out(tmp_path: Path) -> None:
    store = tmp_path / "flight.sqlite"
    store.write_bytes(b"")
    config = tmp_path / "rover.toml"
    config.write_text(f'[flight]\nstore = "{store}"\n', encoding="utf-8")
    command = [sys.executable, "-m", "isru.cli", "flight", "--config", str(config), "--insecure", "--duration", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ISRU_HOME": str(tmp_path / "home")}
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"isru flight: {store}: the flight store is empty (0 bytes)" in done.stderr
    assert "isru store repair" in done.stderr and "Traceback" not in done.stderr


def _damage_state(path: Path) -> None:
    """Overwrite the mission snapshot's ``progress`` row with text that is not JSON (SQLite sees nothing wrong)."""
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("INSERT OR REPLACE INTO state (key, value) VALUES ('progress', '{\"away\": fa')")
    connection.close()


def test_a_damaged_mission_state_is_refused_before_any_backup_rotates_and_the_way_out_gets_a_good_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "flight.sqlite"
    _filled(path)
    with FlightStore(path, VirtualClock()) as store:  # a second start: bak.1 now holds the filled store
        store.save_state({"progress": {"away": False}, "state": "extract_drill"})
    good = {b.name: b.read_bytes() for b in tmp_path.glob("flight.sqlite.bak.*")}
    _damage_state(path)
    for _ in range(3):  # a service manager starting it again and again
        with pytest.raises(PersistenceError) as refused:
            FlightStore(path, VirtualClock())
        assert "mission state is damaged: state key 'progress': expected JSON" in str(refused.value)
        assert f"isru store restore {path}" in str(refused.value)
    assert {b.name: b.read_bytes() for b in tmp_path.glob("flight.sqlite.bak.*")} == good  # no backup pushed out
    assert main(["store", "check", str(path)]) == 1
    assert "state key 'progress': expected JSON" in capsys.readouterr().out
    assert main(["store", "repair", str(path)]) == 0  # the ledger is kept; the damaged snapshot is dropped whole
    with FlightStore(path, VirtualClock()) as store:
        assert store.totals().entries == 200 and store.load_state() is None


def test_backups_rotate_only_for_a_whole_copy_that_differs_from_the_newest(tmp_path: Path) -> None:
    path = tmp_path / "flight.sqlite"
    _filled(path)
    with FlightStore(path, VirtualClock()) as store:
        store.save_state({"state": "idle"})
    before = {b.name: b.read_bytes() for b in tmp_path.glob("flight.sqlite.bak.*")}
    FlightStore(path, VirtualClock()).close()  # a start that changes nothing
    FlightStore(path, VirtualClock()).close()
    FlightStore(path, VirtualClock()).close()
    after = {b.name: b.read_bytes() for b in tmp_path.glob("flight.sqlite.bak.*")}
    assert set(after) == {"flight.sqlite.bak.1", "flight.sqlite.bak.2", "flight.sqlite.bak.3"}
    assert after["flight.sqlite.bak.2"] == before["flight.sqlite.bak.1"]  # rotated once, for the change
    assert not Path(f"{path}.bak.new").exists()


def test_a_start_on_a_full_disk_keeps_every_backup(small_disk: Path) -> None:
    path = small_disk / "flight.sqlite"
    _filled(path, entries=20)
    with FlightStore(path, VirtualClock()) as store:
        store.save_state({"state": "idle"})
        store.record_extraction(99, 0, 0.5, 10.0, 20.0, 2_000.0)  # a change since the newest backup
    before = {b.name: b.read_bytes() for b in small_disk.glob("flight.sqlite.bak.*")}
    keeper = sqlite3.connect(path)  # keeps the write-ahead log's files, as a flight that crashed leaves them
    keeper.execute("SELECT count(*) FROM state").fetchone()
    filler = fill(small_disk)
    try:
        with FlightStore(path, VirtualClock()) as store:  # flight starts all the same
            assert store.totals().entries == 21
        assert {b.name: b.read_bytes() for b in small_disk.glob("flight.sqlite.bak.*")} == before
        assert not Path(f"{path}.bak.new").exists()
    finally:
        keeper.close()
        filler.unlink()


def test_one_flight_process_per_store_a_reader_alongside(tmp_path: Path) -> None:
    path = tmp_path / "flight.sqlite"
    first = FlightStore(path, VirtualClock())
    try:
        with pytest.raises(PersistenceError) as refused:
            FlightStore(path, VirtualClock())
        assert f"another flight process (pid {os.getpid()}) is using this flight store" in str(refused.value)
        with FlightStore(path, VirtualClock(), read_only=True) as reader:  # isru store show/check beside it
            assert reader.totals().entries == 0
        held = subprocess.run(
            [
                sys.executable,
                "-c",
                f"from flight.store import FlightStore; from base.clock import VirtualClock; "
                f"FlightStore({str(path)!r}, VirtualClock())",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert held.returncode != 0 and "another flight process" in held.stderr
    finally:
        first.close()
    FlightStore(path, VirtualClock()).close()  # free again once the first has closed
