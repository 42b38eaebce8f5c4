"""The link's wire codec: every message round-trips, and hostile bytes raise only MalformedMessage."""

from __future__ import annotations

import random

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from link import wire
from link.errors import EncodeError, MalformedMessage

EXAMPLES: list[wire.Message] = [
    wire.Hello(wire.PROTOCOL_VERSION, 10, 3, 500, True, False),
    wire.Welcome(1, "operator", "operator", 7, "rover-1", "abc123", 1.3, 1.0, 1, 99),
    wire.DictionaryMessage({"commands": [{"name": "x", "args": []}], "telemetry": [], "diagram": "stateDiagram-v2"}),
    wire.TelemetryPacket(5, 12.5, [("drill.rpm", 12.0, 120.0), ("mission.state", 12.0, "idle"), ("a.b", 12, True)]),
    wire.TelemetryPacket(6, 13.0, []),
    wire.EventPacket(
        8,
        {"seq": 3, "t": 1.5, "severity": "warning", "source": "s", "name": "n", "message": "m", "data": {"k": [1, 2]}},
    ),
    wire.Command("op-1", 4, "drill.spin", {"rpm": 120.0, "dir": "cw", "n": 2, "force": False}),
    wire.StatusPacket(
        2,
        {
            "id": "op-1",
            "name": "drill.spin",
            "stage": "progress",
            "source": "operator",
            "t": 4.0,
            "reason": "",
            "message": "",
            "progress": 0.5,
        },
    ),
    wire.Ack(10, 2, 1000),
    wire.Heartbeat(10.5, 9.5, 42),
    wire.Reject("replay", "counter 3 is not above 7", "op-1", 3),
]


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips(message: wire.Message) -> None:
    frames = wire.encode(message)
    assert len(frames) == 1 and isinstance(frames[0], bytes)
    assert wire.decode(frames) == message
    assert wire.decode([memoryview(frames[0])]) == message


def test_telemetry_columns_match_the_message_encoder() -> None:
    packet = EXAMPLES[3]
    assert isinstance(packet, wire.TelemetryPacket)
    names, times, values = (list(c) for c in zip(*packet.samples, strict=True))
    assert wire.encode_telemetry(packet.seq, packet.t, names, times, values) == wire.encode(packet)[0]


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        ([], "exactly 1 payload frame"),
        ([b"a", b"b"], "exactly 1 payload frame"),
        ([b""], "empty frame"),
        ([b"\xc1"], "msgpack"),
        ([msgpack.packb({"a": 1})], "non-empty msgpack array"),
        ([msgpack.packb([99])], "message kind"),
        ([msgpack.packb([8, 1, 2])], "expected 3 fields, got 2"),
        ([msgpack.packb([8, -1, 2, 3])], "ack.seq: expected an integer 0..2"),
        ([msgpack.packb([8, 1, 2, 0])], "ack.window: expected an integer 1..2"),
        ([msgpack.packb([6, "id", 1, "x", {"a": [1]}])], "command.args.a"),
        ([msgpack.packb([6, "", 1, "x", {}])], "command.id"),
        ([msgpack.packb([4, 1, 1.0, ["a"], [1.0], []])], "one length"),
        ([msgpack.packb([4, 1, 1.0, [1], [1.0], [2]])], "channel name"),
        ([msgpack.packb([4, 1, 1.0, ["a"], [1.0], [None]])], "every value"),
        ([msgpack.packb([5, 1, {"seq": 1}])], "expected field"),
        ([msgpack.packb([9, float("nan"), 0.0, 0])], "NaN"),
        ([b"\x91" * 40 + b"\x01"], "message kind"),
        ([b"\x91" * 3000 + b"\x01"], "msgpack"),
    ],
)
def test_malformed_messages_name_the_problem(frames: list[bytes], expected: str) -> None:
    with pytest.raises(MalformedMessage, match=expected):
        wire.decode(frames)


def test_oversized_frames_are_malformed_and_not_encoded() -> None:
    big = b"\x00" * (wire.MAX_MESSAGE_BYTES + 1)
    with pytest.raises(MalformedMessage, match="over the"):
        wire.decode([big])
    with pytest.raises(EncodeError, match="over the"):
        wire.encode(wire.Reject("x", "y" * wire.MAX_MESSAGE_BYTES, "", 0))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([6, "id", 2**63, "x", {}], r"command.counter: expected an integer 1..2\^63-1"),
        ([6, "id", 2**64 - 1, "x", {}], r"command.counter: expected an integer 1..2\^63-1"),
        ([8, 2**63, 0, 1], r"ack.seq: expected an integer 0..2\^63-1"),
        ([1, 1, 0, 0, 2**63, False, False], r"hello.window"),
        ([6, "id", 1, "x", {"n": 2**63}], "command.args.n: expected an integer that fits 64 signed bits"),
        ([6, "id", 1, "x", {f"a{i}": 1 for i in range(wire.MAX_ARGS + 1)}], "at most 32 arguments"),
        ([6, "id", 1, "x", {"s": "y" * (wire.MAX_ARG_CHARS + 1)}], "command.args.s: expected at most 1024"),
        ([4, 1, 1.0, ["a"], [1.0], [2**63]], "fit 64 signed bits"),
        ([3, {"x": [2**64 - 1]}], "dictionary.x: expected an integer that fits 64 signed bits"),
        ([6, "x" * 300, 1, "x", {}], "command.id: expected a string of at most 256 characters, got str of 300"),
    ],
)
def test_out_of_bounds_values_are_malformed_with_the_reason(body: list[object], expected: str) -> None:
    with pytest.raises(MalformedMessage, match=expected):
        wire.decode([msgpack.packb(body)])


def test_uplink_frames_are_bounded_and_huge_values_are_described_by_size() -> None:
    huge = msgpack.packb([6, "id", 1, "x", list(range(200_000))])
    with pytest.raises(MalformedMessage, match="over the 65536-byte limit"):
        wire.decode([huge], wire.MAX_UPLINK_BYTES)
    with pytest.raises(MalformedMessage, match="got list of 200000 items") as caught:
        wire.decode([huge])
    assert len(str(caught.value)) < 200
    with pytest.raises(MalformedMessage, match="msgpack"):
        wire.decode([msgpack.packb([3, {"x": b"binary"}], use_bin_type=True)])


def test_deep_nesting_is_malformed() -> None:
    value: object = 1
    for _ in range(wire.MAX_DEPTH + 2):
        value = [value]
    with pytest.raises(MalformedMessage, match="deeper"):
        wire.decode([msgpack.packb([3, {"x": value}])])


def test_a_batch_is_messages_back_to_back_and_a_bad_part_spoils_it() -> None:
    frame = b"".join(wire.encode(m)[0] for m in EXAMPLES)
    assert wire.decode_batch(frame) == EXAMPLES
    with pytest.raises(MalformedMessage, match="truncated"):
        wire.decode_batch(frame[:-1])
    with pytest.raises(MalformedMessage, match="message kind"):
        wire.decode_batch(frame + msgpack.packb([99]))
    with pytest.raises(MalformedMessage, match="non-empty"):
        wire.decode_batch(b"")


def test_non_messages_cannot_be_encoded() -> None:
    with pytest.raises(EncodeError, match="expected a link message"):
        wire.encode("hello")  # type: ignore[arg-type]


# -------------------------------------------------------------------------------- hostile input
_KEYS = ["seq", "t", "severity", "source", "name", "message", "data", "id", "stage", "reason", "progress", "x"]


def _field(rng: random.Random, depth: int = 0) -> object:
    """A plausible or near-miss field value."""
    pick = rng.randrange(14 if depth < 3 else 9)
    return [
        lambda: rng.randrange(0, 1000),
        lambda: rng.randrange(-(2**63), 2**64),
        lambda: rng.uniform(-1e9, 1e9),
        lambda: rng.choice([float("nan"), float("inf"), -0.0]),
        lambda: rng.choice(["", "info", "failed", "operator", "x" * rng.randrange(300)]),
        lambda: rng.random() < 0.5,
        lambda: None,
        lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(4))),
        lambda: rng.choice(_KEYS),
        lambda: [_field(rng, depth + 1) for _ in range(rng.randrange(4))],
        lambda: [rng.choice(_KEYS) for _ in range(rng.randrange(4))],
        lambda: [rng.uniform(0, 10) for _ in range(rng.randrange(4))],
        lambda: {rng.choice(_KEYS): _field(rng, depth + 1) for _ in range(rng.randrange(8))},
        lambda: {k: _field(rng, depth + 1) for k in _KEYS[: rng.randrange(len(_KEYS))]},
    ][pick]()


def hostile_frames(data: bytes) -> list[bytes]:
    """The whole case from one bytes value: raw bytes, several frames, or a (mutated) near-miss message."""
    mode = data[0] % 4
    if mode == 0:
        return [data[1:]]
    if mode == 1:
        cut = len(data) // 2
        return [data[1:cut], data[cut:]][: data[1] % 3] if len(data) > 1 else []
    rng = random.Random(data)
    kind = rng.randrange(0, 12)
    arity = wire._DECODERS[kind][1] if kind in wire._DECODERS and rng.random() < 0.9 else rng.randrange(8)
    packed = msgpack.packb([kind, *(_field(rng) for _ in range(arity))], use_bin_type=True)
    if mode == 3:
        at = rng.randrange(len(packed))
        packed = packed[:at] + bytes([rng.randrange(256)]) + packed[at + 1 :]
    return [packed]


@settings(max_examples=20000, deadline=None)
@given(st.binary(min_size=2, max_size=64))
def test_decoder_raises_only_its_declared_error(data: bytes) -> None:
    frames = hostile_frames(data)
    try:
        batch = wire.decode_batch(b"".join(frames))
        assert all(type(m) in wire._KIND_OF for m in batch)
    except MalformedMessage as exc:
        assert str(exc)
    try:
        message = wire.decode(frames)
    except MalformedMessage as exc:
        assert str(exc)
        return
    # whatever decodes is a schema message that encodes back to a frame decoding to the same message
    assert type(message) in wire._KIND_OF
    again = wire.decode(wire.encode(message))
    assert again == message or "nan" in repr(message)  # NaN != NaN inside free-form values
