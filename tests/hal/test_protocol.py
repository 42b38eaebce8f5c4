"""hal.protocol: the test vectors of docs/icd.md in both directions, round trips, hostile input and a
corrupted stream."""

from __future__ import annotations

import random
import struct
import zlib

import pytest
from cobs import cobs as reference_cobs
from hypothesis import given, settings
from hypothesis import strategies as st

from hal import errors
from hal.cobs_codec import cobs_decode, cobs_encode
from hal.icd import (
    ACK_LAYOUT,
    DEVICES,
    EVENT_LAYOUT,
    HEARTBEAT_REPLY_LAYOUT,
    HEARTBEAT_REQUEST_LAYOUT,
    IDENTIFY_LAYOUT,
    NACK_LAYOUT,
    Layout,
)
from hal.icd_doc import DOC_PATH, read_block
from hal.protocol import (
    MAX_ENCODED,
    MAX_PAYLOAD,
    PROTOCOL_VERSION,
    Flags,
    Frame,
    FrameDecoder,
    MsgType,
    decode_frame,
    encode_frame,
    pack_frame,
)

PARSER = settings(max_examples=20000, deadline=None)

DOCUMENT = DOC_PATH.read_text(encoding="utf-8")
FRAME_VECTORS = read_block(DOCUMENT, "icd-vectors")
COBS_VECTORS = read_block(DOCUMENT, "cobs-vectors")
VALID = [v for v in FRAME_VECTORS if v["valid"]]
INVALID = [v for v in FRAME_VECTORS if not v["valid"]]
LAYOUTS: dict[str, Layout] = {
    "ACK": ACK_LAYOUT,
    "NACK": NACK_LAYOUT,
    "EVENT": EVENT_LAYOUT,
    "IDENTIFY": IDENTIFY_LAYOUT,
    "IDENTIFY_REQUEST": Layout(()),
    "HEARTBEAT_REQUEST": HEARTBEAT_REQUEST_LAYOUT,
    "HEARTBEAT_REPLY": HEARTBEAT_REPLY_LAYOUT,
}
STAT_OF_ERROR = {
    "CrcError": "crc_errors",
    "CobsError": "cobs_errors",
    "VersionError": "version_errors",
    "FramingError": "framing_errors",
}


def frame_of(vector: dict) -> Frame:
    return Frame(
        vector["address"],
        MsgType[vector["msg_type"]],
        vector["seq"],
        bytes.fromhex(vector["payload"]),
        vector["flags"],
        vector["version"],
    )


def by_name(vectors: list[dict]) -> list:
    return [pytest.param(v, id=v["name"]) for v in vectors]


# ------------------------------------------------------------------------------------ doc vectors
def test_the_document_covers_every_required_case() -> None:
    names = {v["name"] for v in FRAME_VECTORS}
    assert len(names) == len(FRAME_VECTORS), "vector names must be unique"
    kinds = {(v["msg_type"], v["flags"] & Flags.RESPONSE) for v in VALID}
    assert {("COMMAND", 0), ("ACK", 1), ("NACK", 1), ("TELEMETRY", 0), ("EVENT", 0)} <= kinds
    assert {("IDENTIFY", 0), ("IDENTIFY", 1), ("HEARTBEAT", 0), ("HEARTBEAT", 1)} <= kinds
    commands = [v for v in VALID if v["msg_type"] == "COMMAND" and "decoded" in v]
    assert any(not v["decoded"]["args"] for v in commands), "a command without arguments"
    assert any(isinstance(a, float) for v in commands for a in v["decoded"]["args"].values()), "float args"
    assert any(v["flags"] & Flags.RETRY for v in VALID), "a resend"
    assert any(0 in bytes.fromhex(v["payload"]) for v in VALID), "a payload holding 0x00"
    assert any(len(bytes.fromhex(v["payload"])) == MAX_PAYLOAD for v in VALID), "the largest payload"
    assert any(len(bytes.fromhex(v["wire"])) == MAX_ENCODED for v in VALID), "the longest frame on the wire"
    assert {v["error"] for v in INVALID} == set(STAT_OF_ERROR)
    assert any(len(bytes.fromhex(c["raw"])) == 254 and 0 not in bytes.fromhex(c["raw"]) for c in COBS_VECTORS)


@pytest.mark.parametrize("vector", by_name(VALID))
def test_valid_vector_encodes_to_the_document_bytes(vector: dict) -> None:
    frame = frame_of(vector)
    raw = bytes.fromhex(vector["raw"])
    assert pack_frame(frame) == raw
    assert encode_frame(frame) == bytes.fromhex(vector["wire"])
    assert zlib.crc32(raw[:-4]) == int(vector["crc32"], 16) == struct.unpack("<I", raw[-4:])[0]


@pytest.mark.parametrize("vector", by_name(VALID))
def test_valid_vector_decodes_to_the_document_fields(vector: dict) -> None:
    wire = bytes.fromhex(vector["wire"])
    assert wire[-1] == 0 and 0 not in wire[:-1]
    assert decode_frame(wire[:-1]) == frame_of(vector)
    decoder = FrameDecoder()
    assert decoder.feed(wire) == [frame_of(vector)]
    assert decoder.feed(b"\x00" + wire + wire) == [frame_of(vector)] * 2


@pytest.mark.parametrize("vector", by_name(VALID))
def test_valid_vector_matches_an_independent_encoder(vector: dict) -> None:
    """The document agrees with struct + zlib + the reference cobs package, not only with hal."""
    payload = bytes.fromhex(vector["payload"])
    header = struct.pack(
        "<BBBBHH",
        vector["version"],
        vector["address"],
        int(MsgType[vector["msg_type"]]),
        vector["flags"],
        vector["seq"],
        len(payload),
    )
    raw = header + payload + struct.pack("<I", zlib.crc32(header + payload))
    assert raw == bytes.fromhex(vector["raw"])
    assert reference_cobs.encode(raw) + b"\x00" == bytes.fromhex(vector["wire"])


@pytest.mark.parametrize("vector", by_name([v for v in VALID if "decoded" in v]))
def test_valid_vector_payload_means_what_the_document_says(vector: dict) -> None:
    decoded = vector["decoded"]
    payload = bytes.fromhex(vector["payload"])
    if "command" in decoded:
        command = DEVICES[decoded["device"]].command(decoded["command"])
        assert command.pack(decoded["args"]) == payload
        out_of_range = command.check(decoded["args"])
        assert (out_of_range is not None) == ("out_of_range" in vector["name"])
    elif "telemetry" in decoded:
        layout = DEVICES[decoded["device"]].telemetry_layout
        assert list(decoded["telemetry"]) == list(layout.names)
        assert layout.pack(*decoded["telemetry"].values()) == payload
    else:
        layout = LAYOUTS[decoded["layout"]]
        assert list(decoded["fields"]) == list(layout.names)
        assert layout.pack(*decoded["fields"].values()) == payload


@pytest.mark.parametrize("vector", by_name(INVALID))
def test_invalid_vector_raises_the_named_error(vector: dict) -> None:
    wire = bytes.fromhex(vector["wire"])
    expected = getattr(errors, vector["error"])
    with pytest.raises(errors.FrameError) as caught:
        decode_frame(wire[:-1])
    assert type(caught.value) is expected
    decoder = FrameDecoder()
    assert decoder.feed(wire) == []
    expected_counters = dict.fromkeys(decoder.stats.as_dict(), 0)
    expected_counters.update({"bytes_in": len(wire), STAT_OF_ERROR[vector["error"]]: 1})
    assert decoder.stats.as_dict() == expected_counters
    if "raw" in vector:
        assert cobs_encode(bytes.fromhex(vector["raw"])) + b"\x00" == wire


@pytest.mark.parametrize("vector", by_name(COBS_VECTORS))
def test_cobs_vector(vector: dict) -> None:
    raw, encoded = bytes.fromhex(vector["raw"]), bytes.fromhex(vector["encoded"])
    assert cobs_encode(raw) == encoded == reference_cobs.encode(raw)
    assert cobs_decode(encoded) == raw


# ------------------------------------------------------------------------------------- properties
def _frame(blob: bytes) -> Frame:
    """A frame from at least 5 bytes: address, msg_type, flags, seq (u16), then the payload."""
    address, msg_type, flags, seq = struct.unpack_from("<BBBH", blob)
    return Frame(address, msg_type, seq, blob[5:], flags, PROTOCOL_VERSION)


def _damaged(blob: bytes) -> bytes:
    """A frame's wire bytes (delimiter excluded) with one flip, drop, insert or truncation: the first three
    bytes of ``blob`` choose the kind, the position and the value; the rest is the frame."""
    wire = bytearray(encode_frame(_frame(blob[3:]))[:-1])
    kind, where, value = blob[0] % 4, blob[1] * len(wire) // 256, blob[2]
    if kind == 0:
        wire[where] ^= value or 0xFF
    elif kind == 1:
        del wire[where]
    elif kind == 2:
        wire.insert(where, value)
    else:
        del wire[where:]
    return bytes(wire)


# Each frame is one bytes draw that is then cut into fields: hypothesis spends its time per draw, and
# 20,000 examples of six separate values cost far more than one bytes value covering the same space.
frames = st.binary(min_size=5, max_size=5 + MAX_PAYLOAD).map(_frame)
damaged_wires = st.binary(min_size=8, max_size=8 + MAX_PAYLOAD).map(_damaged)


@PARSER
@given(frames)
def test_frame_round_trip(frame: Frame) -> None:
    wire = encode_frame(frame)
    assert wire[-1] == 0 and 0 not in wire[:-1]
    assert len(wire) <= MAX_ENCODED
    assert decode_frame(wire[:-1]) == frame
    assert FrameDecoder().feed(wire) == [frame]


def _junk_or_damaged(blob: bytes) -> bytes:
    """Arbitrary bytes (``blob[1:]``, when ``blob[0]`` is even) or a damaged frame: one draw for both."""
    return blob[1:] if blob[0] % 2 == 0 or len(blob) < 9 else _damaged(blob[1:])


hostile = st.binary(min_size=1, max_size=301).map(_junk_or_damaged)


@PARSER
@given(hostile)
def test_decode_frame_raises_only_frame_error(data: bytes) -> None:
    try:
        frame = decode_frame(data)
    except errors.FrameError:
        return
    assert encode_frame(frame)[:-1] == data  # anything accepted re-encodes to exactly the input


def _feed_case(blob: bytes) -> tuple[bytes, Frame, int]:
    """Cut one bytes draw into (hostile bytes, a good frame, shape): ``blob[0:2]`` is the shape,
    ``blob[2]`` the good frame's payload length (capped by what is left), then the frame's five header
    bytes and its payload, and the rest is the hostile part."""
    shape = int.from_bytes(blob[:2], "little") % 600
    rest = blob[3:]
    size = 5 + min(blob[2], MAX_PAYLOAD, len(rest) - 5)
    return _junk_or_damaged(rest[size:] or b"\x00"), _frame(rest[:size]), shape


@PARSER
@given(st.binary(min_size=8, max_size=560).map(_feed_case))
def test_decoder_feed_never_raises(case: tuple[bytes, Frame, int]) -> None:
    """Hostile bytes and a good frame, either way round, joined by delimiters and fed in chunks of
    1..300 bytes (the shape picks both)."""
    bad, frame, shape = case
    chunk = shape // 2 + 1
    good = encode_frame(frame)[:-1]
    stream = (bad + b"\x00" + good if shape % 2 else good + b"\x00" + bad) + b"\x00"
    decoder = FrameDecoder()
    got = []
    for start in range(0, len(stream), chunk):
        got += decoder.feed(stream[start : start + chunk])
    assert all(isinstance(f, Frame) for f in got)
    assert frame in got  # whatever surrounds it, a delimited good frame survives
    assert decoder.stats.frames_ok == len(got)
    assert decoder.stats.bytes_in == len(stream)


def test_oversize_payload_is_refused_on_encode() -> None:
    with pytest.raises(errors.FramingError, match="241 bytes exceeds the maximum of 240"):
        encode_frame(Frame(1, MsgType.TELEMETRY, 1, bytes(241)))


# ---------------------------------------------------------------------------------- corruption
def _realistic_payload(rng: random.Random) -> bytes:
    kind = rng.random()
    if kind < 0.35:
        size = rng.choice((1, 2, 3, 5, 6, 9))  # commands
    elif kind < 0.55:
        size = rng.choice((2, 3, 4))  # ACK, NACK, ACK with a reply
    elif kind < 0.85:
        size = rng.choice([d.telemetry_layout.size for d in DEVICES.values()])
    elif kind < 0.97:
        size = rng.choice((8, 14))  # events, identify
    else:
        size = rng.randint(100, MAX_PAYLOAD)
    # Telemetry-like content: many zero bytes (small integers, 0.0 floats) among random ones.
    return bytes(0 if rng.random() < 0.3 else rng.randrange(256) for _ in range(size))


def test_corrupted_stream_never_yields_a_corrupted_frame() -> None:
    rng = random.Random(20240607)
    sent = [
        Frame(rng.randint(1, 7), rng.randint(1, 7), seq, _realistic_payload(rng), rng.choice((0, 1, 2)))
        for seq in range(20000)
    ]
    stream = bytearray()
    owner: list[int] = []  # owner[i]: index of the frame that byte i belongs to
    delimiter_at: set[int] = set()
    for index, frame in enumerate(sent):
        wire = encode_frame(frame)
        owner += [index] * len(wire)
        delimiter_at.add(len(stream) + len(wire) - 1)
        stream += wire
    positions = sorted(rng.sample(range(len(stream)), len(stream) // 100))  # 1 % of the bytes
    affected: set[int] = set()
    dropped: set[int] = set()
    for position in positions:
        index = owner[position]
        affected.add(index)
        if position in delimiter_at and index + 1 < len(sent):
            affected.add(index + 1)  # a lost delimiter merges a frame with the next one
        if rng.random() < 0.5:
            stream[position] ^= rng.randrange(1, 256)
        else:
            dropped.add(position)
    damaged = bytes(b for i, b in enumerate(stream) if i not in dropped)

    decoder = FrameDecoder()
    decoded: list[Frame] = []
    offset = 0
    while offset < len(damaged):
        size = rng.randint(1, 512)
        decoded += decoder.feed(damaged[offset : offset + size])
        offset += size

    intact = [frame for index, frame in enumerate(sent) if index not in affected]
    assert decoded == intact  # zero corrupted frames accepted, and nothing else lost
    lost = len(sent) - len(decoded)
    assert lost <= len(positions) + sum(1 for p in positions if p in delimiter_at)
    stats = decoder.stats
    assert stats.frames_ok == len(decoded)
    assert stats.crc_errors > 0 and stats.cobs_errors + stats.framing_errors > 0
    assert stats.bytes_in == len(damaged)


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_oversize_segment_is_discarded(chunk: int) -> None:
    frame = Frame(1, MsgType.EVENT, 9, EVENT_LAYOUT.pack(1, 0, 0, 0.0))
    data = bytes([0x42]) * 600 + b"\x00" + encode_frame(frame) + bytes([0x17]) * 300 + encode_frame(frame)
    decoder = FrameDecoder()
    got = []
    for start in range(0, len(data), chunk):
        got += decoder.feed(data[start : start + chunk])
    assert got == [frame]  # the second copy was glued to 300 junk bytes: discarded with them
    assert decoder.stats.framing_errors >= 2
    assert decoder.stats.crc_errors == decoder.stats.cobs_errors == 0


def test_decoder_stats_count_each_kind_of_error() -> None:
    seen: list[type] = []
    decoder = FrameDecoder(on_error=lambda exc: seen.append(type(exc)))
    good = encode_frame(Frame(1, MsgType.ACK, 5, b"\x03\x00", Flags.RESPONSE))
    raw = pack_frame(Frame(1, MsgType.ACK, 5, b"\x03\x00", Flags.RESPONSE))
    bad_crc = cobs_encode(raw[:-1] + bytes([raw[-1] ^ 1])) + b"\x00"
    bad_version = encode_frame(Frame(1, MsgType.ACK, 5, b"", version=3))
    bad_cobs = b"\x09\x01\x02\x00"
    too_short = cobs_encode(b"\x01\x02\x03") + b"\x00"
    got = decoder.feed(good + bad_crc + bad_version + bad_cobs + too_short + good)
    assert len(got) == 2
    assert seen == [errors.CrcError, errors.VersionError, errors.CobsError, errors.FramingError]
    assert decoder.stats.as_dict() == {
        "bytes_in": len(good) * 2 + len(bad_crc) + len(bad_version) + len(bad_cobs) + len(too_short),
        "frames_ok": 2,
        "crc_errors": 1,
        "version_errors": 1,
        "cobs_errors": 1,
        "framing_errors": 1,
    }


def test_reset_drops_a_partial_frame() -> None:
    frame = Frame(2, MsgType.EVENT, 1, EVENT_LAYOUT.pack(1, 0, 0, 0.0))
    wire = encode_frame(frame)
    decoder = FrameDecoder()
    assert decoder.feed(wire[:5]) == []
    decoder.reset()
    assert decoder.feed(wire) == [frame]
    assert decoder.stats.crc_errors + decoder.stats.framing_errors + decoder.stats.cobs_errors == 0
