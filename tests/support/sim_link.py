"""The host end of a ``sim://`` line, for the emulator tests: a real :class:`hal.transport.Transport` over
the pyserial URL handler, with decoded telemetry, events and command results.

Time is a :class:`base.clock.VirtualClock`; :func:`run` advances it in slices, polling every link and
(unless told otherwise) sending each device a heartbeat so that its dead-man timer stays quiet. Test files
build their worlds themselves and speak to the emulators only through :class:`SimLink`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import serial
from hypothesis import strategies as st

import sim_hw  # noqa: F401  (registers sim://)
from hal.icd import (
    ACK_LAYOUT,
    DEVICES,
    EVENT_LAYOUT,
    HEARTBEAT_REQUEST_LAYOUT,
    IDENTIFY_LAYOUT,
    NACK_LAYOUT,
    Completion,
    EventId,
)
from hal.protocol import PROTOCOL_VERSION, AckResult, Flags, Frame, FrameDecoder, MsgType, NackCode, encode_frame
from hal.transport import Transport
from sim_hw.world import SimWorld


class SimLink:
    """One device's line: commands, heartbeats, and everything the device sent, decoded."""

    def __init__(self, world: SimWorld, device: str, *, retries: int = 0, timeout_s: float = 0.1) -> None:
        """Open ``sim://device`` on ``world`` (installed in :mod:`sim_hw.registry`); ``retries`` and
        ``timeout_s`` (clock seconds) are the transport's."""
        self.world = world
        self.spec = DEVICES[device]
        self.transport = Transport(
            f"sim://{device}", clock=world.clock, address=self.spec.address, timeout_s=timeout_s, retries=retries
        )
        self.transport.open()
        self.frames: list[Frame] = []
        #: Clock time (s) at which each of :attr:`frames` was read.
        self.arrivals_s: list[float] = []
        self.transport.subscribe(self._on_frame)
        self._host_ms = 0

    def _on_frame(self, frame: Frame) -> None:
        self.frames.append(frame)
        self.arrivals_s.append(self.world.clock.monotonic())

    def close(self) -> None:
        """Close the port."""
        self.transport.close()

    # ------------------------------------------------------------------------------------ requests
    def raw(self, payload: bytes) -> Frame:
        """Send a COMMAND payload as is; the device's response frame."""
        return self.transport.request(MsgType.COMMAND, payload)

    def command(self, name: str, **args: Any) -> Frame:
        """Send command ``name``; the response frame (ACK or NACK)."""
        return self.raw(self.spec.command(name).pack(args))

    def ack(self, name: str, **args: Any) -> AckResult:
        """Send a command that must be acknowledged; returns the ACK result."""
        frame = self.command(name, **args)
        assert frame.msg_type == MsgType.ACK, f"{name} {args}: expected ACK, got {describe(frame)}"
        return AckResult(ACK_LAYOUT.unpack(frame.payload[: ACK_LAYOUT.size])["result"])

    def nack(self, name: str, **args: Any) -> tuple[NackCode, int]:
        """Send a command that must be refused; returns (NACK code, detail)."""
        frame = self.command(name, **args)
        return nack_of(frame)

    def heartbeat(self) -> None:
        """Tell the device the host is alive."""
        self._host_ms = (self._host_ms + 1) & 0xFFFFFFFF
        frame = self.transport.request(MsgType.HEARTBEAT, HEARTBEAT_REQUEST_LAYOUT.pack(self._host_ms))
        assert frame.msg_type == MsgType.HEARTBEAT, describe(frame)

    def snapshot(self) -> dict[str, Any]:
        """One telemetry snapshot, asked for with ``get_telemetry``."""
        frame = self.command("get_telemetry")
        assert frame.msg_type == MsgType.ACK, describe(frame)
        return self.spec.telemetry_layout.unpack(frame.payload, ACK_LAYOUT.size)

    # ------------------------------------------------------------------------------ what came back
    def telemetry(self) -> list[dict[str, Any]]:
        """Every streamed TELEMETRY frame so far, decoded (oldest first)."""
        layout = self.spec.telemetry_layout
        return [layout.unpack(f.payload) for f in self.frames if f.msg_type == MsgType.TELEMETRY]

    def timed_telemetry(self) -> list[tuple[float, dict[str, Any]]]:
        """(clock time read, s; decoded frame) of every streamed TELEMETRY frame so far (oldest first)."""
        layout = self.spec.telemetry_layout
        return [
            (t, layout.unpack(f.payload))
            for t, f in zip(self.arrivals_s, self.frames, strict=True)
            if f.msg_type == MsgType.TELEMETRY
        ]

    def events(self) -> list[dict[str, Any]]:
        """Every EVENT frame so far, decoded (oldest first)."""
        return [EVENT_LAYOUT.unpack(f.payload) for f in self.frames if f.msg_type == MsgType.EVENT]

    def completions(self, command: str) -> list[Completion]:
        """How each motion of ``command`` ended, in order (COMMAND_COMPLETE events)."""
        command_id = self.spec.command(command).id
        return [
            Completion(int(e["value"]))
            for e in self.events()
            if e["event"] == EventId.COMMAND_COMPLETE and e["code"] == command_id
        ]

    def all_completions(self) -> list[tuple[int, Completion]]:
        """(command id, how it ended) of every COMMAND_COMPLETE event so far, in order."""
        return [
            (e["code"], Completion(int(e["value"]))) for e in self.events() if e["event"] == EventId.COMMAND_COMPLETE
        ]

    def fault_was_set(self, fault: str) -> bool:
        """True if a FAULT_SET event for ``fault`` (a name from the device's fault table) arrived."""
        code = self.spec.faults.index(fault)
        return any(e["event"] == EventId.FAULT_SET and e["code"] == code for e in self.events())

    def wire_log(self) -> list[bytes]:
        """Every frame received so far as its message type byte and payload (a run's fingerprint)."""
        return [bytes([f.msg_type]) + f.payload for f in self.frames]

    def fault_names(self, telemetry: dict[str, Any]) -> list[str]:
        """Names of the fault bits set in a telemetry snapshot."""
        return self.spec.fault_names(telemetry["faults"])

    def clear(self) -> None:
        """Forget the frames received so far."""
        self.frames.clear()
        self.arrivals_s.clear()


def describe(frame: Frame) -> str:
    """A readable one-line description of a response frame."""
    if frame.msg_type == MsgType.NACK:
        fields = NACK_LAYOUT.unpack(frame.payload)
        return f"NACK {NackCode(fields['code']).name} detail {fields['detail']}"
    return f"{MsgType(frame.msg_type).name} {frame.payload.hex()}"


def nack_of(frame: Frame) -> tuple[NackCode, int]:
    """(code, detail) of a NACK frame; fails on anything else."""
    assert frame.msg_type == MsgType.NACK, f"expected NACK, got {describe(frame)}"
    fields = NACK_LAYOUT.unpack(frame.payload)
    return NackCode(fields["code"]), fields["detail"]


def run(
    links: Iterable[SimLink],
    seconds: float,
    *,
    slice_s: float = 0.25,
    beat_s: float = 0.0,
    keepalive: bool = True,
) -> None:
    """Advance the links' (shared) virtual clock by ``seconds``, polling every link after each slice of
    ``slice_s`` and, with ``keepalive``, sending each a heartbeat after the slices that end ``beat_s`` or more
    after the last one (0: after every slice; keep it well under the dead-man timeout)."""
    links = list(links)
    clock = links[0].world.clock
    end = clock.monotonic() + seconds
    next_beat = clock.monotonic()
    while clock.monotonic() < end - 1e-9:
        clock.sleep(min(slice_s, end - clock.monotonic()))
        for link in links:
            link.transport.poll()
        if keepalive and clock.monotonic() >= next_beat:
            for link in links:
                link.heartbeat()
            next_beat = clock.monotonic() + beat_s
    for link in links:
        link.transport.poll()


def survives(port: serial.SerialBase, address: int, junk: bytes, seq: int = 0xBEEF) -> bool:
    """Write ``junk`` then a delimiter and an IDENTIFY request on a raw port; True if the device answers
    the request (reads are bounded, so a silent device gives False instead of a hang)."""
    port.write(junk + b"\x00")
    port.write(encode_frame(Frame(address, MsgType.IDENTIFY, seq, b"", 0)))
    decoder = FrameDecoder()
    for _ in range(20):
        for frame in decoder.feed(port.read(4096)):
            if frame.msg_type == MsgType.IDENTIFY and frame.seq == seq and frame.flags & Flags.RESPONSE:
                return len(frame.payload) == IDENTIFY_LAYOUT.size
    return False


def junk(device: str) -> st.SearchStrategy[bytes]:
    """Garbage for ``device``: raw random bytes, or — shaped from the same draw, so generation stays cheap —
    well-formed frames with random header fields, random payloads, or one of the device's commands with
    exactly-sized random (often non-finite) arguments."""
    spec = DEVICES[device]
    commands = spec.all_commands

    def shape(data: bytes) -> bytes:
        if len(data) < 9 or data[0] % 3 == 0:
            return data
        address = (spec.address, 0xFF, data[1])[data[1] % 3]
        version = PROTOCOL_VERSION if data[2] & 0x80 else data[2]
        msg_type = MsgType.COMMAND if data[3] & 0x80 else data[3]
        seq = data[4] | data[5] << 8
        flags = data[6] & 0x03 if data[6] & 0x80 else data[6]
        payload = data[8:248]
        if data[7] & 0x80:
            command = commands[data[7] % len(commands)]
            args = payload[: command.args_layout.size].ljust(command.args_layout.size, b"\x00")
            payload = bytes((command.id,)) + args
        return encode_frame(Frame(address, msg_type, seq, payload, flags, version))

    return st.binary(max_size=600).map(shape)


def mean(values: Iterable[float]) -> float:
    """Arithmetic mean (NaN for no values)."""
    values = list(values)
    return sum(values) / len(values) if values else math.nan
