"""``isru serial-monitor``: open one serial port and print every frame on it, decoded with the ICD.

One line per frame::

    01:02:03.456 rx TELEMETRY addr=0x01 seq=12    flags=-        drill state=ACTIVE mode=feeding ...

The time is UTC from the clock, ``rx`` is a frame from the device and ``tx`` one the monitor sent (only
with ``--identify``). Payloads are decoded with :mod:`hal.icd` when the device is known — from the
frame's address, ``--address`` or the IDENTIFY reply — and shown as hex otherwise. When the monitor
stops (``--duration`` elapsed, or Ctrl-C) it prints the link counters, decoder errors included. The
monitor is passive apart from the optional IDENTIFY: it sends no heartbeat, so a device it watches will
stop its actuators on the dead-man rule.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import sys
from typing import Any, TextIO

from base.clock import Clock, RealClock
from hal.errors import HalError, PayloadError, PortError, ResponseTimeout
from hal.icd import (
    ACK_LAYOUT,
    DEVICE_BY_ADDRESS,
    EVENT_LAYOUT,
    HEARTBEAT_REPLY_LAYOUT,
    HEARTBEAT_REQUEST_LAYOUT,
    IDENTIFY_LAYOUT,
    NACK_LAYOUT,
    Completion,
    DeviceSpec,
    DeviceState,
    EventId,
    Layout,
    Severity,
)
from hal.protocol import AckResult, Flags, Frame, MsgType, NackCode
from hal.transport import BROADCAST_ADDRESS, Transport

_LOGGER = logging.getLogger(__name__)

#: Wall seconds between polls of the port when nothing arrived.
POLL_S = 0.005
_KNOWN_FLAGS = int(Flags.RESPONSE | Flags.RETRY)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``serial-monitor`` subcommand."""
    parser = subparsers.add_parser(
        "serial-monitor",
        help="print every frame on a serial port, decoded with the ICD",
        description=(
            "Open URL (a device path such as /dev/serial/by-id/..., a pty from 'isru sim --pty', or a "
            "pyserial URL such as socket://host:port or spy://PATH) and print every frame on it, one line "
            "each: UTC time, direction, type, address, seq, flags and the decoded payload. Stops after "
            "--duration seconds or on Ctrl-C and prints the link and decoder error counters. Exit status "
            "1 if the port cannot be opened."
        ),
    )
    parser.add_argument("url", help="the port: a device path or a pyserial URL")
    parser.add_argument("--baud", type=_positive_int, default=921_600, help="line rate (default: %(default)s)")
    parser.add_argument(
        "--address",
        type=_address,
        default=BROADCAST_ADDRESS,
        help="device address for requests, 0x01..0x08 (the ICD's devices) or 0xFF = whoever is on the port "
        "(default: 0xFF); "
        "a device address also selects the ICD tables used to decode payloads",
    )
    parser.add_argument("--identify", action="store_true", help="send IDENTIFY first and print the reply")
    parser.add_argument("--duration", type=_positive_float, help="stop after S seconds (default: run until Ctrl-C)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Monitor the port until ``--duration`` elapses or Ctrl-C; returns the exit status."""
    clock = RealClock()
    transport = Transport(args.url, clock=clock, address=args.address, baud=args.baud, name=args.url)
    try:
        transport.open()
    except PortError as exc:
        print(f"isru serial-monitor: {exc}", file=sys.stderr)
        return 1
    monitor = SerialMonitor(transport, clock, sys.stdout, DEVICE_BY_ADDRESS.get(args.address))
    started = clock.monotonic()
    try:
        if args.identify:
            monitor.identify()
        monitor.watch(None if args.duration is None else started + args.duration)
    except KeyboardInterrupt:
        pass  # Ctrl-C is the ordinary way to stop
    finally:
        transport.close()
        monitor.summary(clock.monotonic() - started)
    return 0


class SerialMonitor:
    """Prints the frames of one transport to ``out``; ``device`` decodes frames whose address is unknown."""

    def __init__(self, transport: Transport, clock: Clock, out: TextIO, device: DeviceSpec | None = None) -> None:
        self.transport = transport
        self.clock = clock
        self.out = out
        self.device = device
        self._deferred: list[tuple[Frame, float]] | None = None
        transport.subscribe(self._received)
        transport.on_link_change(self._link_changed)

    def identify(self) -> None:
        """Send IDENTIFY and print the request and the reply (or why there was none).

        The request's seq is known only once the reply is back, so frames that arrive while it is in
        flight are held and printed after the request and its reply.
        """
        sent_at = self.clock.now()
        self._deferred = []
        reply: Frame | None = None
        try:
            reply = self.transport.request(MsgType.IDENTIFY)
        except (ResponseTimeout, PortError) as exc:
            self._note(f"no IDENTIFY reply: {exc}")
        else:
            self.show("tx", Frame(self.transport.address, MsgType.IDENTIFY, reply.seq), sent_at)
            self.show("rx", reply)
        finally:
            deferred, self._deferred = self._deferred, None
            for frame, at in deferred:
                self.show("rx", frame, at)
        if reply is None:
            return
        try:
            fields = IDENTIFY_LAYOUT.unpack(reply.payload)
        except PayloadError:
            return
        spec = DEVICE_BY_ADDRESS.get(fields["device_type"])
        if spec is not None:
            self.device = spec

    def watch(self, deadline: float | None) -> None:
        """Poll the port and print frames until the clock reaches ``deadline`` (seconds; None = forever)."""
        while deadline is None or self.clock.monotonic() < deadline:
            if self.transport.poll() == 0:
                self.clock.sleep(POLL_S)

    def show(self, direction: str, frame: Frame, at: float | None = None) -> None:
        """Print one frame line."""
        spec = DEVICE_BY_ADDRESS.get(frame.address) or self.device
        stamp = _time_of_day(self.clock.now() if at is None else at)
        print(f"{stamp} {describe_frame(direction, frame, spec)}", file=self.out, flush=True)

    def _received(self, frame: Frame) -> None:
        if self._deferred is not None:
            self._deferred.append((frame, self.clock.now()))
        else:
            self.show("rx", frame)

    def summary(self, elapsed_s: float) -> None:
        """Print the counters of the link, decoder errors included."""
        counters = " ".join(f"{name}={value}" for name, value in self.transport.stats.as_dict().items())
        self._note(f"stopped after {elapsed_s:.1f} s: {counters}")

    def _link_changed(self, connected: bool, reason: str) -> None:
        self._note(f"link {'up' if connected else 'down'}: {reason}")

    def _note(self, text: str) -> None:
        print(f"{_time_of_day(self.clock.now())} -- {text}", file=self.out, flush=True)


# ------------------------------------------------------------------------------------- decoding
def describe_frame(direction: str, frame: Frame, device: DeviceSpec | None) -> str:
    """One line for ``frame`` (without the time): header fields, then the payload decoded for ``device``."""
    head = (
        f"{direction} {_name(MsgType, frame.msg_type):<9} addr=0x{frame.address:02X} seq={frame.seq:<5} "
        f"flags={_flags(frame.flags):<14}"
    )
    try:
        body = _payload_text(frame, device)
    except (PayloadError, HalError, IndexError, ValueError) as exc:
        body = f"undecodable ({exc}): {_hex(frame.payload)}"
    return f"{head} {body}".rstrip()


def _payload_text(frame: Frame, device: DeviceSpec | None) -> str:
    payload = frame.payload
    msg_type = frame.msg_type
    prefix = f"{device.name} " if device is not None else ""
    if msg_type == MsgType.COMMAND:
        return prefix + _command_text(payload, device)
    if msg_type == MsgType.ACK:
        return prefix + _ack_text(payload, device)
    if msg_type == MsgType.NACK:
        fields = NACK_LAYOUT.unpack(payload)
        return prefix + (
            f"{_command_name(fields['command'], device)} {_name(NackCode, fields['code'])} detail={fields['detail']}"
        )
    if msg_type == MsgType.TELEMETRY:
        if device is None:
            return f"len={len(payload)} {_hex(payload)}"
        return prefix + _telemetry_text(device.telemetry_layout, payload, device)
    if msg_type == MsgType.EVENT:
        return prefix + _event_text(EVENT_LAYOUT.unpack(payload), device)
    if msg_type == MsgType.IDENTIFY:
        return "request" if not payload else _identify_text(IDENTIFY_LAYOUT.unpack(payload))
    if msg_type == MsgType.HEARTBEAT:
        if len(payload) == HEARTBEAT_REQUEST_LAYOUT.size:
            return prefix + _fields_text(HEARTBEAT_REQUEST_LAYOUT.unpack(payload))
        return prefix + _status_text(HEARTBEAT_REPLY_LAYOUT.unpack(payload), device)
    return f"len={len(payload)} {_hex(payload)}"


def _command_text(payload: bytes, device: DeviceSpec | None) -> str:
    if not payload:
        return "(empty)"
    command = device.command_by_id(payload[0]) if device is not None else None
    if command is None:
        return f"command 0x{payload[0]:02X} args={_hex(payload[1:])}"
    return f"{command.name} {_fields_text(command.unpack_args(payload[1:]))}".rstrip()


def _ack_text(payload: bytes, device: DeviceSpec | None) -> str:
    fields = ACK_LAYOUT.unpack(payload[: ACK_LAYOUT.size])
    text = f"{_command_name(fields['command'], device)} {_name(AckResult, fields['result'])}"
    extra = payload[ACK_LAYOUT.size :]
    if not extra:
        return text
    command = device.command_by_id(fields["command"]) if device is not None else None
    if command is not None and device is not None and command.name == "get_telemetry":
        return f"{text} {_telemetry_text(device.telemetry_layout, extra, device)}"
    if command is not None and command.reply:
        return f"{text} {_fields_text(command.reply_layout.unpack(extra))}"
    return f"{text} reply={_hex(extra)}"


def _telemetry_text(layout: Layout, payload: bytes, device: DeviceSpec) -> str:
    return _status_text(layout.unpack(payload), device)


def _status_text(fields: dict[str, Any], device: DeviceSpec | None) -> str:
    """Fields with ``state``, ``mode`` and ``faults`` shown by name."""
    named = dict(fields)
    if "state" in named:
        named["state"] = _name(DeviceState, named["state"])
    if "mode" in named and device is not None:
        named["mode"] = device.mode_name(named["mode"])
    if "faults" in named:
        bits = named["faults"]
        named["faults"] = ",".join(device.fault_names(bits)) if device is not None and bits else (bits or "-")
    return _fields_text(named)


def _event_text(fields: dict[str, Any], device: DeviceSpec | None) -> str:
    event, code, value = fields["event"], fields["code"], fields["value"]
    text = f"{_name(EventId, event)} {_name(Severity, fields['severity'])}"
    if event == EventId.COMMAND_COMPLETE:
        return f"{text} command={_command_name(code, device)} completion={_name(Completion, int(value))}"
    if event == EventId.FAULT_SET and device is not None and code < len(device.faults):
        return f"{text} fault={device.faults[code]} value={_number(value)}"
    if event == EventId.MODE_CHANGE and device is not None:
        return f"{text} mode={device.mode_name(code)}"
    return f"{text} code={code} value={_number(value)}"


def _identify_text(fields: dict[str, Any]) -> str:
    spec = DEVICE_BY_ADDRESS.get(fields["device_type"])
    kind = spec.name if spec is not None else f"device_type=0x{fields['device_type']:02X}"
    match = "" if spec is None or spec.icd_hash == fields["icd_hash"] else f" (this host's: 0x{spec.icd_hash:08X})"
    return (
        f"{kind} protocol={fields['protocol_version']} "
        f"firmware={fields['fw_major']}.{fields['fw_minor']}.{fields['fw_patch']} "
        f"serial=0x{fields['serial_number']:08X} deadman_ms={fields['deadman_ms']} "
        f"telemetry_period_ms={fields['telemetry_period_ms']} icd_hash=0x{fields['icd_hash']:08X}{match}"
    )


def _command_name(command_id: int, device: DeviceSpec | None) -> str:
    command = device.command_by_id(command_id) if device is not None else None
    return command.name if command is not None else f"0x{command_id:02X}"


def _fields_text(fields: dict[str, Any]) -> str:
    return " ".join(f"{name}={_number(value)}" for name, value in fields.items())


def _number(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _name(kind: type, value: int) -> str:
    try:
        return kind(value).name
    except ValueError:
        return f"0x{value:02X}"


def _flags(flags: int) -> str:
    if not flags:
        return "-"
    names = [str(f.name) for f in (Flags.RESPONSE, Flags.RETRY) if flags & f]
    unknown = flags & ~_KNOWN_FLAGS & 0xFF
    if unknown:
        names.append(f"0x{unknown:02X}")
    return "|".join(names)


def _hex(data: bytes) -> str:
    return data.hex(" ") if data else "(empty)"


def _time_of_day(epoch_s: float) -> str:
    stamp = datetime.datetime.fromtimestamp(epoch_s, tz=datetime.UTC)
    return stamp.strftime("%H:%M:%S.%f")[:-3]


def _address(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an address such as 0x01 or 255, got {text!r}") from None
    if not 0 <= value <= 0xFF:
        raise argparse.ArgumentTypeError(f"expected an address in 0x00..0xFF, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number of seconds, got {text!r}")
    return value
