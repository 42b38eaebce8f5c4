"""A full disk never stops flight: the spool degrades to a bounded memory buffer with an alarm and catches up
when space returns; nothing is renumbered or lost (a real 2 MiB tmpfs, filled for real)."""

from __future__ import annotations

from pathlib import Path

from base.clock import RealClock
from link import wire
from link.keys import init_keys
from tests.support.disks import fill
from tests.support.link_harness import MiniFlight, RawOperator


def test_a_full_disk_degrades_the_spool_to_memory_and_it_catches_up_losing_nothing(
    small_disk: Path, tmp_path: Path
) -> None:
    keys = init_keys(tmp_path / "keys")
    flight = MiniFlight(RealClock(), small_disk / "spool.db", keys_dir=keys)
    operator = RawOperator(flight.server.endpoint, keys)
    try:
        operator.drain(flight, 1, wire.Welcome)
        for _ in range(5):
            flight.produce()
        filler = fill(small_disk)
        for _ in range(200):  # telemetry keeps coming; the spool cannot take it
            flight.produce(n_channels=50)
            operator.service(flight)
        assert flight.server.telemetry()["link.spool_ok"] == 0
        assert flight.server.telemetry()["link.spool_buffered"] > 0
        assert any(e.name == "spool_degraded" for e in flight.events.recent)
        filler.unlink()
        for _ in range(20):
            flight.produce()
            operator.service(flight)
        assert flight.server.telemetry()["link.spool_ok"] == 1
        assert any(e.name == "spool_recovered" for e in flight.events.recent)
        end = flight.clock.monotonic() + 20
        while flight.clock.monotonic() < end:
            operator.service(flight)
            seqs = sorted(m.seq for m in operator.received if isinstance(m, (wire.TelemetryPacket, wire.EventPacket)))
            if seqs and seqs[-1] == flight.server.spool.next_seq - 1:
                break
        assert seqs == list(range(1, flight.server.spool.next_seq))  # every packet once, in order, none skipped
        assert flight.server.telemetry()["link.samples_dropped"] == 0  # 2 MiB of ticks fit the memory buffer
    finally:
        operator.close()
        flight.close()
