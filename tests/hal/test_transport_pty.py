"""hal.transport against real byte streams: a pty pair with a fake device, loop:// and spy:// URLs.

Every wait is bounded; timeouts are short wall-clock values on a RealClock (the transport reads the
port with blocking reads, so its clock must be real for these tests).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from base.clock import RealClock
from hal.cobs_codec import cobs_encode
from hal.errors import PortError, ResponseTimeout
from hal.icd import ACK_LAYOUT, DRILL, EVENT_LAYOUT, NACK_LAYOUT, EventId, Severity
from hal.protocol import AckResult, Flags, Frame, MsgType, NackCode, encode_frame, pack_frame
from hal.transport import Transport
from tests.support.ptyfake import FakeDevice, PtyPair, answer_like_a_device, silent

STOP = DRILL.command("stop").pack({})
SPIN_TOO_FAST = DRILL.command("spin").pack({"rpm": 900.0})


def wait_until(condition, timeout_s: float, step=None) -> float:
    """Call ``step()`` (if given) and poll ``condition()`` until true; fails after ``timeout_s`` wall seconds."""
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout_s:
            raise AssertionError(f"condition not met within {timeout_s} s")
        if step is not None:
            step()
        threading.Event().wait(0.002)
    return time.perf_counter() - start


def make_transport(url: str, **kwargs) -> Transport:
    # A generous response timeout: tests that are not about timeouts must not retry on a loaded machine.
    options = {"clock": RealClock(), "address": 0x01, "timeout_s": 1.0, "retries": 2, "reconnect_min_s": 0.05}
    options.update(kwargs)
    return Transport(url, **options)


@pytest.fixture
def link(pty_pair: PtyPair) -> Iterator[tuple[Transport, FakeDevice]]:
    """A transport on the slave of a pty whose master is a fake drill answering like a device."""
    device = FakeDevice(pty_pair.master_fd, address=0x01).start()
    transport = make_transport(pty_pair.path)
    transport.open()
    try:
        yield transport, device
    finally:
        transport.close()
        device.stop()
        assert not device.errors, device.errors


def test_request_gets_ack_with_the_request_seq(link) -> None:
    transport, device = link
    response = transport.request(MsgType.COMMAND, STOP)
    (request,) = device.received
    assert request == Frame(0x01, MsgType.COMMAND, request.seq, STOP, Flags.NONE)
    assert response == Frame(0x01, MsgType.ACK, request.seq, ACK_LAYOUT.pack(0x03, AckResult.DONE), Flags.RESPONSE)
    second = transport.request(MsgType.COMMAND, STOP)
    assert second.seq == request.seq + 1
    assert transport.stats.requests == 2
    assert transport.stats.retries == 0
    assert transport.stats.frames_ok == 2


def test_nack_is_returned_as_a_frame(link) -> None:
    transport, device = link

    def refuse_spin(dev: FakeDevice, frame: Frame) -> None:
        dev.reply(frame, MsgType.NACK, NACK_LAYOUT.pack(frame.payload[0], NackCode.OUT_OF_RANGE, 1))

    device.handler = refuse_spin
    response = transport.request(MsgType.COMMAND, SPIN_TOO_FAST)
    assert response.msg_type == MsgType.NACK
    assert NACK_LAYOUT.unpack(response.payload) == {"command": 0x10, "code": NackCode.OUT_OF_RANGE, "detail": 1}


def test_timeout_resends_with_retry_flag_and_same_seq(link) -> None:
    transport, device = link
    device.handler = silent
    start = time.perf_counter()
    with pytest.raises(ResponseTimeout, match="no response to COMMAND seq 1 after 3 attempts"):
        transport.request(MsgType.COMMAND, STOP, timeout_s=0.05, retries=2)
    elapsed = time.perf_counter() - start
    frames = device.wait_received(3)
    assert [f.flags for f in frames] == [Flags.NONE, Flags.RETRY, Flags.RETRY]
    assert {f.seq for f in frames} == {1}
    assert {f.payload for f in frames} == {STOP}
    assert transport.stats.retries == 2
    assert transport.stats.timeouts == 1
    assert elapsed >= 0.15  # every attempt waited out its 0.05 s timeout


def test_retry_is_answered(link) -> None:
    transport, device = link

    def answer_only_retries(dev: FakeDevice, frame: Frame) -> None:
        if frame.flags & Flags.RETRY:
            answer_like_a_device(dev, frame)

    device.handler = answer_only_retries
    response = transport.request(MsgType.COMMAND, STOP, timeout_s=0.25, retries=2)
    assert response.msg_type == MsgType.ACK
    assert transport.stats.retries == 1
    assert transport.stats.timeouts == 0


def test_late_response_is_counted_stale_not_taken_for_the_next(link) -> None:
    transport, device = link

    def late_then_prompt(dev: FakeDevice, frame: Frame) -> None:
        first = len(dev.received) == 1
        dev.reply(frame, MsgType.ACK, ACK_LAYOUT.pack(frame.payload[0], AckResult.DONE), delay_s=0.15 if first else 0)

    device.handler = late_then_prompt
    with pytest.raises(ResponseTimeout):
        transport.request(MsgType.COMMAND, STOP, timeout_s=0.05, retries=0)
    device.flush()
    response = transport.request(MsgType.COMMAND, SPIN_TOO_FAST[:1] + bytes(4))
    assert response.seq == 2
    assert ACK_LAYOUT.unpack(response.payload)["command"] == 0x10
    assert transport.stats.stale_responses == 1


def test_late_original_after_a_replayed_retry_is_stale(link) -> None:
    transport, device = link

    def slow_original(dev: FakeDevice, frame: Frame) -> None:
        delay = 0.0 if frame.flags & Flags.RETRY else 0.5
        dev.reply(frame, MsgType.ACK, ACK_LAYOUT.pack(frame.payload[0], AckResult.DONE), delay_s=delay)

    device.handler = slow_original
    response = transport.request(MsgType.COMMAND, STOP, timeout_s=0.25, retries=3)
    assert response.msg_type == MsgType.ACK
    device.flush()
    wait_until(lambda: transport.stats.stale_responses == 1, 2.0, step=transport.poll)
    assert transport.stats.frames_ok == 2


def test_unsolicited_frames_reach_subscribers_while_a_request_waits(link) -> None:
    transport, device = link
    telemetry = DRILL.telemetry_layout.pack(*([1, 2, 0, 1234] + [0.0] * (len(DRILL.telemetry) - 1) + [0]))
    event = EVENT_LAYOUT.pack(EventId.MODE_CHANGE, Severity.INFO, 2, 0.0)

    def chatty(dev: FakeDevice, frame: Frame) -> None:
        dev.emit(MsgType.TELEMETRY, telemetry)
        dev.emit(MsgType.EVENT, event)
        dev.reply(frame, MsgType.ACK, ACK_LAYOUT.pack(frame.payload[0], AckResult.DONE), delay_s=0.05)

    device.handler = chatty
    everything: list[Frame] = []
    events: list[Frame] = []
    transport.subscribe(everything.append)
    transport.subscribe(events.append, {MsgType.EVENT})
    response = transport.request(MsgType.COMMAND, STOP)
    assert response.msg_type == MsgType.ACK
    assert [(f.msg_type, f.seq, f.payload) for f in everything] == [
        (MsgType.TELEMETRY, 1, telemetry),
        (MsgType.EVENT, 2, event),
    ]
    assert events == everything[1:]


def test_subscriber_exception_does_not_stop_the_stream(link) -> None:
    transport, device = link
    seen: list[Frame] = []

    def broken(frame: Frame) -> None:
        raise ValueError("subscriber bug")

    transport.subscribe(broken)
    transport.subscribe(seen.append)
    device.emit(MsgType.EVENT, EVENT_LAYOUT.pack(EventId.BOOT, Severity.INFO, 0, 0.0))
    device.emit(MsgType.EVENT, EVENT_LAYOUT.pack(EventId.BOOT, Severity.INFO, 0, 0.0))
    wait_until(lambda: len(seen) == 2, 1.0, step=transport.poll)


def test_garbage_is_counted_and_the_next_request_works(link) -> None:
    transport, device = link
    good = pack_frame(Frame(0x01, MsgType.EVENT, 7, EVENT_LAYOUT.pack(EventId.BOOT, Severity.INFO, 0, 0.0)))
    bad_crc = good[:-1] + bytes([good[-1] ^ 0x5A])
    wrong_version = encode_frame(Frame(0x01, MsgType.EVENT, 8, b"", version=2))
    garbage = (
        b"\x00"
        + cobs_encode(bytes(range(1, 8)))  # 7 bytes: shorter than any frame
        + b"\x00"
        + cobs_encode(bad_crc)
        + b"\x00\x05\x01\x02\x00"  # a COBS block that runs past the delimiter
        + wrong_version
    )
    seen: list[Frame] = []
    transport.subscribe(seen.append)
    device.write_raw(garbage)
    wait_until(lambda: transport.stats.crc_errors + transport.stats.framing_errors >= 4, 1.0, step=transport.poll)
    assert transport.stats.crc_errors == 1
    assert transport.stats.framing_errors == 3  # short frame, COBS overrun, version 2
    assert seen == []
    response = transport.request(MsgType.COMMAND, STOP)
    assert response.msg_type == MsgType.ACK
    assert transport.stats.timeouts == 0


def test_unplug_is_seen_by_poll_and_later_requests_fail_without_sending(link, pty_pair: PtyPair) -> None:
    transport, device = link
    changes: list[tuple[bool, str]] = []
    transport.on_link_change(lambda up, reason: changes.append((up, reason)))
    assert transport.request(MsgType.COMMAND, STOP).msg_type == MsgType.ACK
    device.stop()
    pty_pair.close_master()
    wait_until(lambda: not transport.connected, 5.0, step=transport.poll)  # a guard, not a timing check
    # poll() itself found the hang-up (a failed read), not a request timing out.
    assert transport.stats.disconnects == 1
    assert transport.stats.timeouts == 0
    assert [up for up, _ in changes] == [False]
    assert "read failed" in changes[0][1]
    requests, bytes_out = transport.stats.requests, transport.stats.bytes_out
    with pytest.raises(PortError, match="link is down"):
        transport.request(MsgType.COMMAND, STOP)
    # Refused up front: nothing was written and nothing waited for a response.
    assert (transport.stats.requests, transport.stats.bytes_out) == (requests, bytes_out)
    assert transport.stats.timeouts == 0


def test_unplug_fails_a_pending_request_at_once(link, pty_pair: PtyPair) -> None:
    transport, device = link
    device.handler = silent
    outcome: list[BaseException] = []

    def ask() -> None:
        try:
            transport.request(MsgType.COMMAND, STOP, timeout_s=5.0, retries=0)
        except BaseException as exc:  # the thread reports whatever happened
            outcome.append(exc)

    thread = threading.Thread(target=ask)
    thread.start()
    device.wait_received(1)
    device.stop()
    pty_pair.close_master()
    thread.join(timeout=30.0)  # a guard against a hang, not a timing check
    assert not thread.is_alive()
    # The request ended because the port failed, not because its 5 s response timeout ran out.
    assert len(outcome) == 1
    assert isinstance(outcome[0], PortError), outcome
    assert "went down while waiting" in str(outcome[0])
    assert isinstance(outcome[0].__cause__, OSError)  # the serial error, translated where it entered
    assert transport.stats.timeouts == 0
    assert not transport.connected


def test_reconnect_when_the_by_id_symlink_points_at_a_new_port(tmp_path: Path, pty_pair: PtyPair) -> None:
    by_id = tmp_path / "usb-isru_drill_0001-if00"
    by_id.symlink_to(pty_pair.path)
    first = FakeDevice(pty_pair.master_fd).start()
    transport = make_transport(str(by_id), reconnect_min_s=0.02, reconnect_max_s=0.1)
    changes: list[tuple[bool, str]] = []
    transport.on_link_change(lambda up, reason: changes.append((up, reason)))
    second_pair = PtyPair()
    second = FakeDevice(second_pair.master_fd)
    try:
        transport.open()
        assert transport.request(MsgType.COMMAND, STOP).msg_type == MsgType.ACK
        first.stop()
        pty_pair.close_master()
        by_id.unlink()  # unplugged: the by-id link disappears
        wait_until(lambda: not transport.connected, 1.0, step=transport.poll)
        # Attempts while the link is missing fail quietly and back off.
        wait_until(lambda: "No such file" in transport.last_error, 1.0, step=transport.poll)
        assert transport.stats.reconnects == 0
        second.start()
        replacement = tmp_path / "replacement"
        replacement.symlink_to(second_pair.path)
        os.replace(replacement, by_id)  # plugged back in, on a new tty
        wait_until(lambda: transport.connected, 2.0, step=transport.poll)
        assert transport.stats.reconnects == 1
        assert changes[-1] == (True, "reconnected")
        response = transport.request(MsgType.COMMAND, STOP)
        assert response.msg_type == MsgType.ACK
        assert [f.payload for f in second.received] == [STOP]
    finally:
        transport.close()
        second.stop()
        second_pair.close()
    assert not first.errors and not second.errors


def test_loop_url_delivers_frames_and_never_mistakes_an_echo_for_a_response() -> None:
    transport = make_transport("loop://", timeout_s=0.05, retries=1)
    seen: list[Frame] = []
    transport.subscribe(seen.append)
    with transport:
        payload = EVENT_LAYOUT.pack(EventId.BOOT, Severity.INFO, 0, 0.0)
        seq = transport.send(MsgType.EVENT, payload)
        wait_until(lambda: len(seen) == 1, 1.0, step=transport.poll)
        assert seen[0] == Frame(0x01, MsgType.EVENT, seq, payload)
        with pytest.raises(ResponseTimeout):
            transport.request(MsgType.COMMAND, STOP)
    # The request and its retry looped back as ordinary frames, not as responses.
    assert [(f.msg_type, f.flags) for f in seen[1:]] == [(MsgType.COMMAND, 0), (MsgType.COMMAND, Flags.RETRY)]


def test_spy_url_exchanges_frames_and_logs_the_traffic(tmp_path: Path, pty_pair: PtyPair) -> None:
    log = tmp_path / "spy.txt"
    device = FakeDevice(pty_pair.master_fd).start()
    transport = make_transport(f"spy://{pty_pair.path}?file={log}")
    try:
        with transport:
            response = transport.request(MsgType.COMMAND, STOP)
    finally:
        device.stop()
    assert response.msg_type == MsgType.ACK
    text = log.read_text()
    assert " TX " in text and " RX " in text
    wire = encode_frame(Frame(0x01, MsgType.COMMAND, response.seq, STOP))
    assert f"TX 0000 {wire.hex(' ').upper()}" in " ".join(text.split())  # the hex dump, spacing aside


@pytest.mark.parametrize("url", ["/dev/isru-no-such-port", "nosuchscheme://drill"])
def test_a_port_that_cannot_be_opened_names_the_url(url: str) -> None:
    transport = make_transport(url)
    with pytest.raises(PortError, match=f"cannot open {url}"):
        transport.open()
    assert not transport.connected


def test_request_on_a_closed_transport_is_a_link_error() -> None:
    transport = make_transport("loop://")
    with pytest.raises(PortError, match="link is down"):
        transport.request(MsgType.IDENTIFY)
