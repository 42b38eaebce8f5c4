"""Far ends of a pty for the serial benchmarks, each run as its own process on the pty master fd.

``python -m bench.peers echo --fd FD --request-bytes N --reply-bytes M``
    The raw limit: read N bytes, write M bytes back, repeat. Nothing but ``os.read``/``os.write``.
``python -m bench.peers device --fd FD``
    A minimal device: decode frames with :class:`hal.protocol.FrameDecoder`, answer every COMMAND with an
    ACK (``Flags.RESPONSE``, the request's seq and address; a NACK ``BAD_LENGTH`` if the payload is empty).

Both print ``ready`` on stdout once running and exit when the host side of the pty closes (the master
then reads EIO) or at end of file.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from hal.icd import ACK_LAYOUT, NACK_LAYOUT
from hal.protocol import AckResult, Flags, Frame, FrameDecoder, MsgType, NackCode, encode_frame

_LOGGER = logging.getLogger(__name__)

_READ_SIZE = 4096
#: Filler byte of the echo reply (any non-zero value; the host only counts bytes).
_FILL = 0x55


def _read(fd: int, size: int) -> bytes:
    """Up to ``size`` bytes from ``fd``; b"" once the host side has hung up (EIO on a pty master)."""
    try:
        return os.read(fd, size)
    except OSError as exc:
        _LOGGER.debug("pty master read ended: %s", exc)
        return b""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def run_echo(fd: int, request_bytes: int, reply_bytes: int) -> int:
    """Serve bare round trips until hang-up: read ``request_bytes``, write ``reply_bytes``. Returns the
    number of round trips served."""
    reply = bytes([_FILL]) * reply_bytes
    served = 0
    while True:
        got = 0
        while got < request_bytes:
            chunk = _read(fd, request_bytes - got)
            if not chunk:
                return served
            got += len(chunk)
        _write_all(fd, reply)
        served += 1


def answer(frame: Frame) -> bytes | None:
    """The encoded reply of the minimal device to ``frame``: ACK (or NACK) for a COMMAND, else None."""
    if frame.msg_type != MsgType.COMMAND:
        return None
    if frame.payload:
        msg_type, payload = MsgType.ACK, ACK_LAYOUT.pack(frame.payload[0], AckResult.DONE)
    else:
        msg_type, payload = MsgType.NACK, NACK_LAYOUT.pack(0, NackCode.BAD_LENGTH, 0)
    return encode_frame(Frame(frame.address, msg_type, frame.seq, payload, Flags.RESPONSE))


def run_device(fd: int) -> int:
    """Answer COMMAND frames until hang-up. Returns the number of replies written."""
    decoder = FrameDecoder()
    served = 0
    while True:
        data = _read(fd, _READ_SIZE)
        if not data:
            return served
        for frame in decoder.feed(data):
            reply = answer(frame)
            if reply is not None:
                _write_all(fd, reply)
                served += 1


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive byte count")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run one far end; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__.splitlines()[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    echo = modes.add_parser("echo", help="bare byte-count echo (the raw limit)")
    echo.add_argument("--fd", type=int, required=True, help="pty master file descriptor")
    echo.add_argument("--request-bytes", type=_positive, required=True, help="bytes read per round trip")
    echo.add_argument("--reply-bytes", type=_positive, required=True, help="bytes written per round trip")
    device = modes.add_parser("device", help="minimal device answering COMMAND frames with ACK")
    device.add_argument("--fd", type=int, required=True, help="pty master file descriptor")
    args = parser.parse_args(argv)
    try:
        os.fstat(args.fd)
    except OSError as exc:
        parser.error(f"--fd {args.fd} is not an open file descriptor: {exc}")
    print("ready", flush=True)
    served = run_echo(args.fd, args.request_bytes, args.reply_bytes) if args.mode == "echo" else run_device(args.fd)
    _LOGGER.debug("%s far end served %d round trips", args.mode, served)
    return 0


if __name__ == "__main__":
    sys.exit(main())
