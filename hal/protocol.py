"""The serial frame format of ``docs/icd.md`` in code: header, CRC-32, COBS and the stream decoder.

Wire layout of one frame (all integers little-endian)::

    COBS( header[8] | payload[0..240] | crc32[4] ) 0x00

    header: version u8 | address u8 | msg_type u8 | flags u8 | seq u16 | length u16

The CRC-32 is the IEEE 802.3 polynomial (``zlib.crc32``) over header and payload. The largest frame is
252 bytes before COBS and 254 bytes on the wire including the delimiter, so a microcontroller can receive
into a 256-byte buffer.
"""

from __future__ import annotations

import enum
import struct
import zlib
from collections.abc import Callable
from typing import NamedTuple

from hal.cobs_codec import cobs_decode, cobs_encode
from hal.errors import CobsError, CrcError, FrameError, FramingError, VersionError

PROTOCOL_VERSION = 1
HOST_ADDRESS = 0x00
HEADER = struct.Struct("<BBBBHH")
CRC = struct.Struct("<I")
MAX_PAYLOAD = 240
MAX_FRAME = HEADER.size + MAX_PAYLOAD + CRC.size  # 252 bytes before COBS
MAX_ENCODED = MAX_FRAME + MAX_FRAME // 254 + 1 + 1  # COBS overhead and the 0x00 delimiter: 254
MIN_FRAME = HEADER.size + CRC.size
DELIMITER = b"\x00"
SEQ_MODULO = 1 << 16


class MsgType(enum.IntEnum):
    """Message types (header byte 2)."""

    COMMAND = 0x01
    ACK = 0x02
    NACK = 0x03
    TELEMETRY = 0x04
    EVENT = 0x05
    IDENTIFY = 0x06
    HEARTBEAT = 0x07


class Flags(enum.IntFlag):
    """Header flag bits (header byte 3)."""

    NONE = 0x00
    #: Set by the device on a frame that answers a host request; the seq is the request's.
    RESPONSE = 0x01
    #: Set by the host when it resends a request with the same seq; the device must not act twice.
    RETRY = 0x02


class NackCode(enum.IntEnum):
    """Why a device refused a command (NACK payload byte 1)."""

    BAD_LENGTH = 0x01
    UNKNOWN_COMMAND = 0x02
    OUT_OF_RANGE = 0x03
    BUSY = 0x04
    INTERLOCK = 0x05
    DEVICE_FAULT = 0x06
    BAD_STATE = 0x07
    UNSUPPORTED_VERSION = 0x08
    BAD_TYPE = 0x09


def nack_code_name(code: int) -> str:
    """The name of NACK code ``code`` (``UNKNOWN_<code>`` for one this host does not know)."""
    try:
        return NackCode(code).name
    except ValueError:
        return f"UNKNOWN_{code}"


class AckResult(enum.IntEnum):
    """ACK result codes (ACK payload byte 1)."""

    #: The command has been carried out.
    DONE = 0x00
    #: The command started a motion that continues; a COMMAND_COMPLETE event reports its end.
    STARTED = 0x01


class Frame(NamedTuple):
    """One decoded frame."""

    address: int
    msg_type: int
    seq: int
    payload: bytes = b""
    flags: int = 0
    version: int = PROTOCOL_VERSION


def pack_frame(frame: Frame) -> bytes:
    """Header + payload + CRC-32, before COBS. Raises :class:`FramingError` for an oversized payload."""
    payload = frame.payload
    if len(payload) > MAX_PAYLOAD:
        raise FramingError(f"payload of {len(payload)} bytes exceeds the maximum of {MAX_PAYLOAD}")
    body = (
        HEADER.pack(frame.version, frame.address, frame.msg_type, frame.flags, frame.seq % SEQ_MODULO, len(payload))
        + payload
    )
    return body + CRC.pack(zlib.crc32(body))


def encode_frame(frame: Frame) -> bytes:
    """The bytes to write on the wire: COBS-encoded frame followed by the 0x00 delimiter."""
    return cobs_encode(pack_frame(frame)) + DELIMITER


def encode_fields(address: int, msg_type: int, seq: int, payload: bytes, flags: int = 0) -> bytes:
    """:func:`encode_frame` of ``Frame(address, msg_type, seq, payload, flags)`` (this protocol version),
    without building the :class:`Frame`: what a sender on the per-frame path uses."""
    if len(payload) > MAX_PAYLOAD:
        raise FramingError(f"payload of {len(payload)} bytes exceeds the maximum of {MAX_PAYLOAD}")
    body = _pack_header(PROTOCOL_VERSION, address, msg_type, flags, seq % SEQ_MODULO, len(payload)) + payload
    return cobs_encode(body + _pack_crc(zlib.crc32(body))) + DELIMITER


_pack_header = HEADER.pack
_pack_crc = CRC.pack


def unpack_frame(raw: bytes) -> Frame:
    """Parse a COBS-decoded frame; raises a :class:`FrameError` subclass naming what was wrong."""
    size = len(raw)
    if size < MIN_FRAME or size > MAX_FRAME:
        raise FramingError(f"frame of {size} bytes; expected {MIN_FRAME}..{MAX_FRAME}")
    (crc,) = CRC.unpack_from(raw, size - 4)
    if zlib.crc32(raw[:-4]) != crc:
        raise CrcError(f"CRC-32 mismatch in a {size}-byte frame")
    version, address, msg_type, flags, seq, length = HEADER.unpack_from(raw)
    if length != size - MIN_FRAME:
        raise FramingError(f"length field says {length} payload bytes; frame holds {size - MIN_FRAME}")
    if version != PROTOCOL_VERSION:
        error = VersionError(f"protocol version {version}; this host speaks {PROTOCOL_VERSION}")
        error.frame = Frame(address, msg_type, seq, raw[HEADER.size : size - 4], flags, version)
        raise error
    return _new_frame(Frame, (address, msg_type, seq, raw[_HEADER_SIZE : size - 4], flags, version))


#: Builds a :class:`Frame` from a complete tuple without the NamedTuple's Python-level ``__new__``.
_new_frame = tuple.__new__
_HEADER_SIZE = HEADER.size


def decode_frame(encoded: bytes) -> Frame:
    """Decode one frame as it appears between delimiters on the wire (the 0x00 itself excluded)."""
    if len(encoded) > MAX_ENCODED - 1:
        raise FramingError(f"encoded frame of {len(encoded)} bytes; expected at most {MAX_ENCODED - 1}")
    return unpack_frame(cobs_decode(encoded))


class DecoderStats:
    """Counters of a :class:`FrameDecoder` (all counts since creation)."""

    __slots__ = ("bytes_in", "cobs_errors", "crc_errors", "frames_ok", "framing_errors", "version_errors")

    def __init__(self) -> None:
        self.bytes_in = 0
        self.frames_ok = 0
        self.crc_errors = 0
        self.framing_errors = 0
        self.cobs_errors = 0
        self.version_errors = 0

    def as_dict(self) -> dict[str, int]:
        """The counters by name."""
        return {name: getattr(self, name) for name in self.__slots__}


class FrameDecoder:
    """Turns a byte stream into frames.

    Bytes are buffered up to each 0x00 delimiter; each delimited segment is decoded on its own, so a
    corrupted byte costs at most the frame it falls in (resynchronisation is at the next delimiter). An
    over-long segment without a delimiter is discarded rather than buffered without bound.

    ``on_error(exc)``, if given, is called with every :class:`FrameError`; :meth:`feed` itself never
    raises on bad input.
    """

    def __init__(self, on_error: Callable[[FrameError], None] | None = None) -> None:
        self._buffer = b""
        self._discarding = False
        self.stats = DecoderStats()
        self._on_error = on_error

    def feed(self, data: bytes) -> list[Frame]:
        """Consume ``data`` and return the frames it completed, in order."""
        stats = self.stats
        stats.bytes_in += len(data)
        if self._buffer:
            data = self._buffer + data
        segments = data.split(DELIMITER)
        tail = segments.pop()
        frames: list[Frame] = []
        limit = MAX_ENCODED - 1
        for segment in segments:
            if self._discarding:
                # The rest of an over-long segment whose start was already dropped.
                self._discarding = False
                continue
            if not segment:
                continue
            if len(segment) > limit:
                self._count(FramingError(f"{len(segment)} bytes without a delimiter; expected <= {limit}"))
                continue
            try:
                frames.append(unpack_frame(cobs_decode(segment)))
            except FrameError as exc:
                self._count(exc)
        if len(tail) > limit:
            self._count(FramingError(f"more than {limit} bytes without a delimiter; discarding"))
            self._discarding = True
            tail = b""
        self._buffer = tail
        stats.frames_ok += len(frames)
        return frames

    def reset(self) -> None:
        """Drop any partial frame (after a reconnect)."""
        self._buffer = b""
        self._discarding = False

    def _count(self, exc: FrameError) -> None:
        stats = self.stats
        if isinstance(exc, CrcError):
            stats.crc_errors += 1
        elif isinstance(exc, CobsError):
            stats.cobs_errors += 1
        elif isinstance(exc, VersionError):
            stats.version_errors += 1
        else:
            stats.framing_errors += 1
        if self._on_error is not None:
            self._on_error(exc)
