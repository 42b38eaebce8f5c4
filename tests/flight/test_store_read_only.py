"""Reading the flight store beside a running flight (real SQLite files): ``FlightStore(read_only=True)`` and
``isru store show`` see what the writer committed, change nothing and rotate no backup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from base.clock import VirtualClock
from flight.errors import PersistenceError
from flight.store import FlightStore
from flight.store_care import backups
from isru.cli import main


def _writer(path: Path) -> FlightStore:
    """An open store (as flight holds it) with two extractions, a counter and a saved mission state."""
    store = FlightStore(path, VirtualClock(start=1_000.0))
    store.record_extraction(1, 0, 0.25, 3.0, 400.0, 1_000.0)
    store.record_extraction(2, 3, 0.5, 4.0, 500.0, 2_000.0)
    store.save_state({"state": "process_heat", "cycle": 2}, {"cycles_completed": 2})
    return store


def test_a_read_only_store_reads_beside_the_writer_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "flight.sqlite"
    writer = _writer(path)
    try:
        kept = backups(path)
        files = sorted(p.name for p in tmp_path.iterdir())
        for _ in range(4):  # a writer's open rotates the backups; four reads must not
            reader = FlightStore(path, VirtualClock(), read_only=True)
            try:
                assert reader.totals().water_kg == pytest.approx(0.75)
                assert sorted(reader.totals_by_site()) == [0, 3]
                assert reader.load_state() == {"state": "process_heat", "cycle": 2}
                assert reader.counters()["cycles_completed"] == 2
                with pytest.raises(PersistenceError, match="readonly"):
                    reader.set_counter("operator", 7)
            finally:
                reader.close()
        assert backups(path) == kept
        assert sorted(p.name for p in tmp_path.iterdir()) == files
        writer.record_extraction(3, 3, 0.125, 2.0, 300.0, 3_000.0)  # the writer goes on undisturbed
    finally:
        writer.close()


def test_a_read_only_store_refuses_a_missing_file_and_creates_none(tmp_path: Path) -> None:
    path = tmp_path / "absent.sqlite"
    with pytest.raises(PersistenceError, match="expected an existing file"):
        FlightStore(path, VirtualClock(), read_only=True)
    assert not path.exists()


def test_isru_store_show_prints_the_totals_counters_and_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "flight.sqlite"
    _writer(path).close()
    assert main(["store", "show", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["totals"]["water_kg"] == pytest.approx(0.75) and set(report["sites"]) == {"0", "3"}
    assert report["counters"]["cycles_completed"] == 2 and report["state"]["state"] == "process_heat"
    assert main(["store", "show", str(path)]) == 0
    text = capsys.readouterr().out
    assert "site 3:" in text and "process_heat" in text
    assert main(["store", "show", str(tmp_path / "absent.sqlite")]) == 2
    assert "expected an existing file" in capsys.readouterr().err
