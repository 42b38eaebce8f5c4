"""``isru sim --pty`` under overload: a host that stops reading loses whole device frames, never parts of
them (a truncated frame would run into the next one and cost both, as a CRC error on the host)."""

from __future__ import annotations

import os
import threading
import tty

from base.clock import RealClock, ScaledClock
from hal.icd import POWER
from hal.protocol import Frame, FrameDecoder, MsgType, encode_frame
from sim_hw.pty_server import PtyServer
from sim_hw.world import SimWorld

#: Simulated seconds per wall second: telemetry at 10 ms then floods the pty far faster than it drains.
WARP = 50.0


def _read_all(fd: int) -> bytes:
    out = bytearray()
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return bytes(out)
        if not chunk:
            return bytes(out)
        out += chunk


def test_a_host_that_stops_reading_loses_whole_frames_only() -> None:
    world = SimWorld(ScaledClock(WARP), seed=3, devices=("power",))
    server = PtyServer(world)
    fd = os.open(server.paths["power"], os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    tty.setraw(fd)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        command = POWER.command("set_telemetry_period").pack({"period_ms": 10})
        os.write(fd, encode_frame(Frame(POWER.address, MsgType.COMMAND, 1, command)))
        wall = RealClock()
        wall.sleep(1.0)  # 50 s of telemetry at 100 frames/s, unread: the pty fills up
        data = bytearray()
        deadline = wall.monotonic() + 1.0
        while wall.monotonic() < deadline:  # the host reads again while the device goes on sending
            data += _read_all(fd)
            wall.sleep(0.01)
        server.stop()
        thread.join(timeout=5.0)
        data += _read_all(fd)
    finally:
        os.close(fd)
        server.close()
    decoder = FrameDecoder()
    frames = decoder.feed(bytes(data))
    stats = decoder.stats
    assert len(frames) > 10
    assert stats.crc_errors == stats.framing_errors == stats.cobs_errors == 0, stats.as_dict()
    assert server.frames_dropped["power"] > 0
