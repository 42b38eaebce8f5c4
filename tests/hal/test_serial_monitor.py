"""``isru serial-monitor`` as a real process on a real pty, and its frame decoding against the ICD vectors."""

from __future__ import annotations

import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from hal.cobs_codec import cobs_encode
from hal.icd import DEVICE_BY_ADDRESS, DRILL, EVENT_LAYOUT, Completion, EventId, Severity
from hal.icd_doc import DOC_PATH, read_block
from hal.protocol import Frame, MsgType, pack_frame
from isru.commands.serial_monitor import describe_frame
from tests.support.ptyfake import FakeDevice, PtyPair, answer_like_a_device

TELEMETRY_VALUES = {
    "state": 2,
    "mode": 2,
    "faults": 0,
    "uptime_ms": 1234,
    "rpm": 120.0,
    "depth_m": 0.25,
}
TIME = r"\d\d:\d\d:\d\d\.\d{3}"


def drill_telemetry() -> bytes:
    values = [TELEMETRY_VALUES.get(f.name, 0) for f in DRILL.telemetry_layout.fields]
    return DRILL.telemetry_layout.pack(*values)


def monitor(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "isru.cli", "serial-monitor", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def drill(pty_pair: PtyPair) -> Iterator[FakeDevice]:
    """A fake drill that, once identified, streams telemetry every 50 ms and reports a finished feed."""

    def on_frame(device: FakeDevice, frame: Frame) -> None:
        answer_like_a_device(device, frame)
        if frame.msg_type == MsgType.IDENTIFY:
            device.emit(MsgType.EVENT, EVENT_LAYOUT.pack(EventId.COMMAND_COMPLETE, Severity.INFO, 0x11, 0.0))
            device.stream(0.05, drill_telemetry)

    device = FakeDevice(pty_pair.master_fd, address=0x01, handler=on_frame).start()
    yield device
    device.stop()
    assert not device.errors, device.errors


def test_identify_then_decoded_frames_and_counters(pty_pair: PtyPair, drill: FakeDevice) -> None:
    run = monitor(pty_pair.path, "--identify", "--duration", "1.0")
    out, err = run.communicate(timeout=20)
    assert run.returncode == 0, err
    lines = out.splitlines()
    assert re.fullmatch(rf"{TIME} tx IDENTIFY +addr=0xFF seq=1 +flags=- +request", lines[0]), lines[0]
    assert re.fullmatch(
        rf"{TIME} rx IDENTIFY +addr=0x01 seq=1 +flags=RESPONSE +drill protocol=1 firmware=0\.1\.0 "
        r"serial=0x00C0FFEE deadman_ms=1000 telemetry_period_ms=0 "
        rf"icd_hash=0x{DRILL.icd_hash:08X}",
        lines[1],
    ), lines[1]
    assert any(
        re.search(r"rx EVENT +addr=0x01 seq=1 .*COMMAND_COMPLETE INFO command=feed completion=OK", line)
        for line in lines
    )
    telemetry = [line for line in lines if " rx TELEMETRY " in line]
    assert len(telemetry) >= 5, out
    assert all(
        re.search(r"flags=- +drill state=ACTIVE mode=feeding faults=- uptime_ms=1234 rpm=120 depth_m=0\.25 ", line)
        for line in telemetry
    ), telemetry[0]
    seqs = [int(re.search(r"seq=(\d+)", line).group(1)) for line in telemetry]
    assert seqs == list(range(2, 2 + len(seqs)))  # one counter for events and telemetry, no gaps
    summary = lines[-1]
    assert re.fullmatch(rf"{TIME} -- stopped after 1\.\d s: frames_ok={len(telemetry) + 2} crc_errors=0 .*", summary)
    assert "requests=1" in summary and "timeouts=0" in summary


def test_decoder_errors_are_counted(pty_pair: PtyPair, drill: FakeDevice) -> None:
    raw = pack_frame(Frame(0x01, MsgType.TELEMETRY, 99, drill_telemetry()))
    bad_crc = cobs_encode(raw[:-1] + bytes([raw[-1] ^ 0x80])) + b"\x00"

    def corrupt_after_identify(device: FakeDevice, frame: Frame) -> None:
        answer_like_a_device(device, frame)
        device.write_raw(bad_crc + b"\x05\x01\x02\x00", delay_s=0.05)

    drill.handler = corrupt_after_identify
    run = monitor(pty_pair.path, "--identify", "--duration", "0.5")
    out, err = run.communicate(timeout=20)
    assert run.returncode == 0, err
    assert "crc_errors=1 framing_errors=1 " in out.splitlines()[-1]


def _read_line(stream, timeout_s: float) -> str:
    ready, _, _ = select.select([stream], [], [], timeout_s)
    assert ready, f"no output within {timeout_s} s"
    return stream.readline()


def test_ctrl_c_stops_with_the_counters(pty_pair: PtyPair, drill: FakeDevice) -> None:
    drill.stream(0.02, drill_telemetry)
    run = monitor(pty_pair.path, "--address", "1")
    try:
        deadline = time.perf_counter() + 10.0
        line = ""
        while " rx TELEMETRY " not in line:
            assert time.perf_counter() < deadline, "no telemetry line"
            line = _read_line(run.stdout, 10.0)
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=10)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(timeout=5)
    assert run.returncode == 0, err
    assert "Traceback" not in err
    assert re.search(r"-- stopped after \d+\.\d s: frames_ok=\d+ crc_errors=0 framing_errors=0", out)


def test_a_port_that_cannot_be_opened_fails_with_its_name() -> None:
    run = monitor("/dev/isru-no-such-port", "--duration", "1")
    out, err = run.communicate(timeout=20)
    assert run.returncode == 1
    assert "cannot open /dev/isru-no-such-port" in err
    assert out == ""


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--address", "0x100"], "expected an address in 0x00..0xFF"),
        (["--address", "drill"], "expected an address such as 0x01 or 255"),
        (["--duration", "-1"], "expected a positive finite number of seconds"),
        (["--baud", "0"], "expected a positive integer"),
    ],
)
def test_bad_options_are_refused(option: list[str], message: str) -> None:
    run = monitor("loop://", *option)
    _, err = run.communicate(timeout=20)
    assert run.returncode == 2
    assert message in err


# ------------------------------------------------------------------------- decoding, in process
DOC_FRAMES = [v for v in read_block(DOC_PATH.read_text(encoding="utf-8"), "icd-vectors") if v["valid"]]
EXPECTED_TEXT = {
    "command_stop": "drill stop",
    "ack_stop_done": "drill stop DONE",
    "command_drill_feed": "drill feed depth_m=0.5 rate_m_s=0.002",
    "command_drill_feed_retry": "flags=RETRY",
    "ack_drill_feed_started": "drill feed STARTED",
    "event_feed_complete": "drill COMMAND_COMPLETE INFO command=feed completion=OK",
    "command_drill_spin_out_of_range": "drill spin rpm=900",
    "nack_spin_out_of_range": "drill spin OUT_OF_RANGE detail=1",
    "command_telemetry_off": "drill set_telemetry_period period_ms=0",
    "command_set_deadman_256": "drill set_deadman timeout_ms=256",
    "event_deadman_stop": "drill DEADMAN_STOP WARNING code=0 value=1012",
    "telemetry_imu": "imu state=IDLE mode=idle faults=- uptime_ms=123456 ax=0 ay=0 az=1.625 gx=0 gy=0 gz=0 "
    "temp_K=293.5",
    "identify_request_broadcast": "IDENTIFY  addr=0xFF seq=6     flags=-              request",
    "identify_response_drill": "drill protocol=1 firmware=1.2.3 serial=0x12345678 deadman_ms=1000",
    "heartbeat_request": "drill host_ms=123456",
    "heartbeat_response": "drill host_ms=123456 state=ACTIVE mode=feeding faults=-",
    "command_hopper_hop": "hopper hop heading_rad=0.5 speed_m_s=0.03125 elevation_rad=0.75",
    "command_hopper_hop_out_of_range": "hopper hop heading_rad=0 speed_m_s=0.75",
    "event_hopper_hop_lost": "hopper COMMAND_COMPLETE WARNING command=hop completion=FAULT",
    "telemetry_hopper_ballistic": "hopper state=ACTIVE mode=ballistic faults=- uptime_ms=600000 flywheel_rpm=0 "
    "x_m=12.5 y_m=-2.25 height_m=1.5",
}


@pytest.mark.parametrize("vector", [pytest.param(v, id=v["name"]) for v in DOC_FRAMES])
def test_every_icd_vector_is_described(vector: dict) -> None:
    frame = Frame(
        vector["address"],
        MsgType[vector["msg_type"]],
        vector["seq"],
        bytes.fromhex(vector["payload"]),
        vector["flags"],
    )
    text = describe_frame("rx", frame, DEVICE_BY_ADDRESS.get(frame.address))
    assert text.startswith(f"rx {vector['msg_type']}")
    if vector["name"].startswith("framing_"):
        assert "undecodable" in text or "len=240" in text  # not a real message: shown, not decoded
    else:
        assert "undecodable" not in text
        assert EXPECTED_TEXT[vector["name"]] in text, text


def test_unknown_device_and_bad_payloads_fall_back_to_hex() -> None:
    telemetry = Frame(0x42, MsgType.TELEMETRY, 1, b"\x01\x02\x00")
    assert describe_frame("rx", telemetry, None).endswith("len=3 01 02 00")
    short_event = Frame(0x01, MsgType.EVENT, 1, b"\x03\x00")
    assert "undecodable (2 bytes; expected 8" in describe_frame("rx", short_event, DRILL)
    odd = Frame(0x01, 0x7E, 1, b"\xaa", 0x84)
    assert re.search(r"rx 0x7E +addr=0x01 seq=1 +flags=0x84 +len=1 aa", describe_frame("rx", odd, DRILL))
    completion = EVENT_LAYOUT.pack(EventId.COMMAND_COMPLETE, Severity.WARNING, 0x12, float(Completion.DEADMAN))
    assert "command=retract completion=DEADMAN" in describe_frame("rx", Frame(1, MsgType.EVENT, 2, completion), DRILL)
