"""Records travel from flight to the ground hub's log over the real CURVE link, and none is lost when ground
is down or crashes between archiving an event and appending its record."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from base.clock import RealClock
from flight.ledger import RecordBook
from ground.archive import Archive
from ground.core import GroundCore
from ground.ledger.bundle import export_bundle, verify_bundle
from ground.ledger.hub import LedgerHub
from link.keys import init_keys
from link.ledger_keys import load_signer, load_verifier
from tests.support.link_harness import MiniFlight


def _pump(flight: MiniFlight, core: GroundCore, until: Callable[[], bool], wall_s: float = 30.0) -> None:
    deadline = time.perf_counter() + wall_s
    while not until():
        assert time.perf_counter() < deadline, f"timed out; link {core.link}"
        flight.server.wait_until(flight.clock.monotonic() + 0.01)
        core.link_client.poll(0.01)


@pytest.mark.timeout(120)
def test_records_reach_the_log_over_the_link_and_none_is_lost(tmp_path: Path) -> None:
    keys = init_keys(tmp_path / "keys")
    clock = RealClock()
    flight = MiniFlight(clock, tmp_path / "spool.sqlite", keys_dir=keys)
    book = RecordBook(
        load_signer(keys / "ledger" / "rover.skey"), "rover-1", "LIC-7", flight.events, flight.table, clock
    )
    archive = Archive(tmp_path / "archive.sqlite")

    def station() -> tuple[GroundCore, LedgerHub]:
        core = GroundCore.connect(flight.server.endpoint, archive, clock, keys_dir=keys, identity="operator")
        hub = LedgerHub.open(keys, tmp_path / "ledger.sqlite", clock)
        hub.attach(core)
        return core, hub

    try:
        core, hub = station()
        for cycle in (1, 2, 3):
            book.record(cycle, 1, [1.0, 2.0, 0.5], 0.2, 3.0, 400.0)
        _pump(flight, core, lambda: hub.log.size == 3)
        core.link_client.close()
        hub.log.close()
        # ground is down: two more cycles end on the rover; the spool keeps their records
        for cycle in (4, 5):
            book.record(cycle, 1, [1.0, 2.0, 0.5], 0.2, 3.0, 400.0)
            flight.server.tick()
        core, hub = station()
        _pump(flight, core, lambda: hub.log.size == 5)
        assert hub.log.leaves() == book.records and not hub.refused
        core.link_client.close()
        hub.log.close()
        # a hub that crashed after the archive committed but before appending catches up from the archive
        fresh = LedgerHub.open(keys, tmp_path / "other.sqlite", clock)
        fresh.attach(GroundCore(None, archive, clock))
        assert fresh.log.leaves() == book.records
        export_bundle(fresh.log, tmp_path / "bundle", load_verifier(keys / "ledger" / "rover.vkey"))
        fresh.log.close()
        report = verify_bundle(tmp_path / "bundle")
        assert report.ok and [e["cycle"] for e in report.entries] == [1, 2, 3, 4, 5]
    finally:
        archive.close()
        flight.close()
