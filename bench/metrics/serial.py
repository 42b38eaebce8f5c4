"""Serial-link metrics: the request/ACK round trip against a bare pty echo, and frame decoding against
the line rate of the rig's 921,600-baud links."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

import serial

from base.clock import RealClock
from bench.errors import MeasurementError
from bench.ptys import PtyPeer
from bench.registry import Result, RunOptions, metric
from bench.stats import median, percentile
from bench.timing import interleaved_samples, repeat_seconds
from hal.icd import ACK_LAYOUT, DRILL, IMU, TELEMETRY_HEADER, DeviceState, Layout
from hal.protocol import AckResult, Flags, Frame, FrameDecoder, MsgType, encode_frame
from hal.transport import READ_SLICE_S, Transport

_LOGGER = logging.getLogger(__name__)

#: The rig's serial line: 921,600 baud, 8N1 = 10 bits on the wire per byte, so 92,160 bytes/s.
LINE_BAUD = 921_600
LINE_BITS_PER_BYTE = 10
LINE_BYTES_PER_S = LINE_BAUD / LINE_BITS_PER_BYTE

#: Wire size of each decoded frame, COBS overhead and 0x00 delimiter included (bytes).
DECODE_FRAME_BYTES = 32
#: Bytes handed to ``FrameDecoder.feed`` at a time: what one ``Transport`` read takes at most.
DECODE_CHUNK_BYTES = 4096

#: Wall seconds one round trip may take before the measurement is abandoned.
RTT_TIMEOUT_S = 1.0
#: Round trips per block of the interleaved project/raw measurement.
RTT_BLOCK = 50
#: Port settings of the raw case, the same as :class:`hal.transport.Transport` uses, so that the raw
#: case differs from the project only by what the project adds (framing, CRC, COBS, seq matching).
RAW_PORT_SETTINGS = {"baudrate": 921_600, "timeout": READ_SLICE_S, "write_timeout": 1.0, "exclusive": True}

#: The command timed: ``drill.spin(rpm=120)``, a typical short command (5-byte payload).
_RTT_COMMAND = DRILL.command("spin")
_RTT_ARGS = {"rpm": 120.0}


# ------------------------------------------------------------------------------------------ round trip
@metric("serial_rtt_x_raw", unit="x", target="<= 2.0")
def serial_rtt_x_raw(options: RunOptions) -> Result:
    """Median request->ACK round trip through hal.transport.Transport (RealClock) over a pty to a device
    process, divided by the median bare pty echo of the same byte counts (N bytes out, M back)."""
    rounds = options.pick(full=2000, quick=500)
    warmup = options.pick(full=200, quick=50)
    payload = _RTT_COMMAND.pack(_RTT_ARGS)
    request = encode_frame(Frame(DRILL.address, MsgType.COMMAND, 1, payload))
    ack = ACK_LAYOUT.pack(_RTT_COMMAND.id, AckResult.DONE)
    ack_size = len(encode_frame(Frame(DRILL.address, MsgType.ACK, 1, ack, Flags.RESPONSE)))
    echo_args = ("--request-bytes", str(len(request)), "--reply-bytes", str(ack_size))
    expected_out = (rounds + warmup) * len(request)
    # Exit order matters: the ports close before their far ends, which then read EIO and exit.
    with (
        PtyPeer("echo", *echo_args) as echo,
        PtyPeer("device") as device,
        _open_raw(echo.path) as port,
        Transport(
            device.path,
            clock=RealClock(),
            address=DRILL.address,
            name="bench drill",
            timeout_s=RTT_TIMEOUT_S,
            retries=0,
        ) as transport,
    ):
        raw_case = _raw_round_trip(port, request, ack_size)
        project_case = _project_round_trip(transport, payload)
        raw_us, project_us = interleaved_samples(
            (raw_case, project_case), rounds=rounds, warmup=warmup, block=RTT_BLOCK
        )
        if transport.stats.bytes_out != expected_out:
            written = transport.stats.bytes_out
            raise MeasurementError(f"transport wrote {written} bytes; expected {expected_out}")
    raw_median, project_median = median(raw_us), median(project_us)
    ratio = project_median / raw_median
    _LOGGER.info("round trip: project %.1f us, raw %.1f us, ratio %.2f", project_median, raw_median, ratio)
    return Result(
        value=ratio,
        raw=raw_median,
        raw_unit="us",
        ratio=ratio,
        extra={
            "project_us": project_median,
            "raw_us": raw_median,
            # Absolute cost of framing, CRC, COBS, seq matching and the device loop per round trip; steadier
            # than the ratio when the OS wake-up latency of the pty (the raw figure) shifts between runs.
            "overhead_us": project_median - raw_median,
            "project_p90_us": percentile(project_us, 0.9),
            "raw_p90_us": percentile(raw_us, 0.9),
            "request_bytes": len(request),
            "ack_bytes": ack_size,
            "round_trips": rounds,
        },
    )


def _open_raw(path: str) -> serial.SerialBase:
    try:
        return serial.serial_for_url(path, **RAW_PORT_SETTINGS)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise MeasurementError(f"cannot open the raw-case pty {path}: {exc}") from exc


def _raw_round_trip(port: serial.SerialBase, request: bytes, reply_size: int) -> Callable[[], None]:
    """One bare round trip: write the request's bytes, block in pyserial reads until ``reply_size`` bytes
    are back (the same read API the transport uses)."""
    limit = int(RTT_TIMEOUT_S / READ_SLICE_S) + 1

    def round_trip() -> None:
        port.write(request)
        got = 0
        idle = 0
        while got < reply_size:
            chunk = port.read(reply_size - got)
            if chunk:
                got += len(chunk)
            else:
                idle += 1  # one empty read is one READ_SLICE_S timeout
                if idle >= limit:
                    raise MeasurementError(f"bare echo returned {got} of {reply_size} bytes within {RTT_TIMEOUT_S} s")

    return round_trip


def _project_round_trip(transport: Transport, payload: bytes) -> Callable[[], None]:
    """One project round trip: ``Transport.request`` of a COMMAND, which must come back as an ACK."""

    def round_trip() -> None:
        response = transport.request(MsgType.COMMAND, payload)
        if response.msg_type != MsgType.ACK:
            raise MeasurementError(f"device answered message type {response.msg_type}; expected ACK")

    return round_trip


# ------------------------------------------------------------------------------------------- decoding
@metric("serial_decode_x_line", unit="x", target=">= 50")
def serial_decode_x_line(options: RunOptions) -> Result:
    """Bytes/s of 32-byte frames decoded by hal.protocol.FrameDecoder.feed in 4096-byte chunks, divided by
    the 92,160 B/s of a 921,600-baud 8N1 line (median of several repeats)."""
    frames = options.pick(full=32768, quick=8192)
    repeats = options.pick(full=15, quick=5)
    stream = decode_stream(frames)
    chunks = [stream[i : i + DECODE_CHUNK_BYTES] for i in range(0, len(stream), DECODE_CHUNK_BYTES)]

    def decode_all() -> None:
        decoder = FrameDecoder()
        feed = decoder.feed
        decoded = 0
        for chunk in chunks:
            decoded += len(feed(chunk))
        if decoded != frames or decoder.stats.frames_ok != frames:
            raise MeasurementError(f"decoded {decoded} frames ({decoder.stats.as_dict()}); expected {frames}")

    durations = repeat_seconds(decode_all, repeats=repeats, warmup=1)
    seconds = median(durations)
    frames_per_s = frames / seconds
    bytes_per_s = frames_per_s * DECODE_FRAME_BYTES
    ratio = bytes_per_s / LINE_BYTES_PER_S
    wire_bytes = frames * DECODE_FRAME_BYTES
    _LOGGER.info("decode: %.0f frames/s, %.0f B/s, %.1f x line", frames_per_s, bytes_per_s, ratio)
    return Result(
        value=ratio,
        raw=LINE_BYTES_PER_S,
        raw_unit="B/s",
        ratio=ratio,
        extra={
            "frames_per_s": frames_per_s,
            "bytes_per_s": bytes_per_s,
            "frame_bytes": DECODE_FRAME_BYTES,
            "chunk_bytes": DECODE_CHUNK_BYTES,
            "frames": frames,
            "repeats": repeats,
            # The spread of the repeats shows how noisy the machine was during the run.
            "slowest_x": wire_bytes / max(durations) / LINE_BYTES_PER_S,
            "fastest_x": wire_bytes / min(durations) / LINE_BYTES_PER_S,
        },
    )


def decode_stream(frames: int, seed: int = 7) -> bytes:
    """``frames`` IMU telemetry frames of exactly :data:`DECODE_FRAME_BYTES` on the wire, after one 0x00.

    The payload is the common telemetry header (state, mode, faults = 0, uptime) padded with seeded
    random bytes to the size that makes the frame 32 bytes. The leading delimiter shifts frame
    boundaries off the 4096-byte chunk boundaries, so frames straddle chunks as they do on a real port.
    """
    header = Layout(TELEMETRY_HEADER)
    payload_size = DECODE_FRAME_BYTES - len(encode_frame(Frame(IMU.address, MsgType.TELEMETRY, 0)))
    if payload_size < header.size:
        raise MeasurementError(
            f"a {DECODE_FRAME_BYTES}-byte frame leaves {payload_size} payload bytes; "
            f"expected at least the {header.size}-byte telemetry header"
        )
    rng = random.Random(seed)
    out = bytearray(b"\x00")
    for index in range(frames):
        payload = header.pack(DeviceState.ACTIVE, 0, 0, (index * 10) & 0xFFFFFFFF)
        payload += rng.randbytes(payload_size - header.size)
        wire = encode_frame(Frame(IMU.address, MsgType.TELEMETRY, index, payload))
        if len(wire) != DECODE_FRAME_BYTES:
            raise MeasurementError(f"frame {index} is {len(wire)} bytes on the wire; expected {DECODE_FRAME_BYTES}")
        out += wire
    return bytes(out)
