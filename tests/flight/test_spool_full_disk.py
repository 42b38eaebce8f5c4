"""A full disk never stops flight: the spool degrades to a bounded memory buffer with an alarm and catches up
when space returns; nothing is renumbered or lost (a real 2 MiB tmpfs, filled for real)."""

from __future__ import annotations

import contextlib
import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from base.clock import RealClock
from link import wire
from link.keys import init_keys
from tests.support.link_harness import MiniFlight, RawOperator


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs mounted for this test (skipped where mounting is not permitted)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk: Path) -> Path:
    """Write a file until the disk is full; returns it."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * 4096)
    with pytest.raises(OSError) as caught:
        (disk / "probe").write_bytes(b"\0" * 65536)
    assert caught.value.errno == errno.ENOSPC
    return filler


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
        filler = _fill(small_disk)
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
