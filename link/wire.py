"""The link's wire format: every message flight and ground exchange, and its msgpack codec.

A message travels as ONE ZeroMQ frame (the ROUTER adds the peer's routing id in front on flight's side);
flight may put several messages back to back in one frame (a *batch*, :func:`decode_batch`).
The frame is a msgpack array ``[kind, field, field, ...]``: ``kind`` is a :class:`Kind` code and the
fields follow in the order of the message's dataclass fields. :func:`encode` turns a message into its
frames, :func:`decode` turns frames back into a typed message and raises :class:`MalformedMessage` —
and nothing else — for anything that is not exactly a message of this schema, naming what was wrong
and what was expected. ``docs/link.md`` lists every message with its fields; the records inside them (events,
command statuses, the dictionary) are defined by :mod:`link.schema`.

Units: times ``t`` are seconds (clock epoch seconds on flight, clock monotonic seconds where noted),
sizes bytes.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any

import msgpack

from link.errors import EncodeError, MalformedMessage
from link.schema import EVENT_FIELDS, SCALAR_TYPES, SEVERITIES, STAGES, STATUS_FIELDS

__all__ = [
    "MAX_INT",
    "MAX_MESSAGE_BYTES",
    "MAX_UPLINK_BYTES",
    "PROTOCOL_VERSION",
    "Ack",
    "Command",
    "DictionaryMessage",
    "EventPacket",
    "Heartbeat",
    "Hello",
    "Kind",
    "Message",
    "Reject",
    "StatusPacket",
    "TelemetryPacket",
    "Welcome",
    "decode",
    "decode_batch",
    "encode",
]

#: Version of this schema; a hello with another version is rejected with reason ``version``.
PROTOCOL_VERSION = 1
#: Largest frame accepted or produced, bytes. Bigger messages are malformed (flight splits telemetry).
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
#: Largest batch frame (several messages back to back, flight → ground), bytes.
MAX_BATCH_BYTES = 2 * MAX_MESSAGE_BYTES
#: Deepest nesting of maps and arrays accepted inside a free-form value (event data, the dictionary).
MAX_DEPTH = 32
#: Longest string field (names, ids, reasons), characters.
MAX_NAME_CHARS = 256
#: Largest integer any field or value may hold (counters, sequence numbers, windows): below 2^63, so every
#: integer fits the signed 64-bit columns of flight's store and spool.
MAX_INT = 2**63 - 1
#: Largest frame ground may send flight (hello, command, ack, heartbeat), bytes; bigger ones are malformed.
MAX_UPLINK_BYTES = 64 * 1024
#: Most arguments a command may carry, and the longest string argument, characters.
MAX_ARGS = 32
MAX_ARG_CHARS = 1024
#: Most elements any one array or map in a message may hold (telemetry samples, event data, the dictionary).
MAX_ITEMS = 1_000_000

_SCALARS = SCALAR_TYPES


class Kind(enum.IntEnum):
    """Message kind codes (first element of every frame)."""

    HELLO = 1
    WELCOME = 2
    DICTIONARY = 3
    TELEMETRY = 4
    EVENT = 5
    COMMAND = 6
    STATUS = 7
    ACK = 8
    HEARTBEAT = 9
    REJECT = 10


# ------------------------------------------------------------------------------------------- messages
@dataclass(frozen=True, slots=True)
class Hello:
    """Ground → flight: open (or re-open) a session. ``resume_after``: the last packet seq ground holds
    (flight sends from the next one); ``status_after``: the same for the command-status stream;
    ``window``: how many packets + statuses flight may have unacknowledged; ``want_dictionary``;
    ``archive``: this client archives what it acknowledges, so its acks may prune flight's spool."""

    version: int
    resume_after: int
    status_after: int
    window: int
    want_dictionary: bool
    archive: bool


@dataclass(frozen=True, slots=True)
class Welcome:
    """Flight → ground, answer to a hello: the client's name and role, the last command counter accepted
    from it, flight's name and boot id, flight's one-way light time and heartbeat period (s), and where
    flight resumes each stream: the next packet sent is ``resume_seq + 1``, the next status
    ``resume_sseq + 1`` (above what the hello asked for when older ones were already acknowledged and pruned)."""

    version: int
    client: str
    role: str
    last_counter: int
    flight: str
    boot_id: str
    light_time_s: float
    heartbeat_s: float
    resume_seq: int
    resume_sseq: int


@dataclass(frozen=True, slots=True)
class DictionaryMessage:
    """Flight → ground: the flight dictionary (commands, telemetry, parameters, events, diagram, flight)."""

    dictionary: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TelemetryPacket:
    """Flight → ground: samples ``(channel, t epoch s, value)`` taken since the previous packet."""

    seq: int
    t: float
    samples: list[tuple[str, float, Any]]


@dataclass(frozen=True, slots=True)
class EventPacket:
    """Flight → ground: one event (``Event.as_dict()``), in the packet sequence shared with telemetry."""

    seq: int
    event: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Command:
    """Ground → flight: run command ``name`` with ``args``. ``id`` is unique for ever; ``counter`` must be
    greater than every counter flight accepted from this client before."""

    id: str
    counter: int
    name: str
    args: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StatusPacket:
    """Flight → ground: one command verification report (``CommandStatus.as_dict()``), ``sseq`` in the
    command-status stream."""

    sseq: int
    status: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Ack:
    """Ground → flight: every packet up to ``seq`` and every status up to ``sseq`` is held (cumulative);
    ``window``: packets + statuses flight may have outstanding beyond them (credit)."""

    seq: int
    sseq: int
    window: int


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Both ways. ``t``: sender's clock monotonic s; ``echo``: the ``t`` of the peer's last heartbeat
    (0 if none) for round-trip time; ``spool_depth``: unacknowledged packets + statuses (flight; 0 from ground)."""

    t: float
    echo: float
    spool_depth: int


@dataclass(frozen=True, slots=True)
class Reject:
    """Flight → ground: a message was refused. ``reason`` is ``forbidden``, ``replay``, ``malformed``,
    ``version`` or ``hello_required``; ``command_id``/``counter`` name the refused command ('' / 0 if none)."""

    reason: str
    message: str
    command_id: str
    counter: int


Message = (
    Hello
    | Welcome
    | DictionaryMessage
    | TelemetryPacket
    | EventPacket
    | Command
    | StatusPacket
    | Ack
    | Heartbeat
    | Reject
)

_KIND_OF: dict[type, Kind] = {
    Hello: Kind.HELLO,
    Welcome: Kind.WELCOME,
    DictionaryMessage: Kind.DICTIONARY,
    TelemetryPacket: Kind.TELEMETRY,
    EventPacket: Kind.EVENT,
    Command: Kind.COMMAND,
    StatusPacket: Kind.STATUS,
    Ack: Kind.ACK,
    Heartbeat: Kind.HEARTBEAT,
    Reject: Kind.REJECT,
}


#: Per message type, a function returning its field values in order (the frame's fields after ``kind``).
def _field_getter(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    names = [f.name for f in fields(cls)]
    if len(names) == 1:
        name = names[0]
        return lambda message: (getattr(message, name),)
    return attrgetter(*names)


_FIELDS_OF = {cls: _field_getter(cls) for cls in _KIND_OF}
_WHAT = {kind: f"{kind.name.lower()} message" for kind in Kind}


# --------------------------------------------------------------------------------------------- encode
def encode(message: Message) -> list[bytes]:
    """The frames of ``message`` (one frame). Raises :class:`EncodeError` for values msgpack cannot carry
    or a frame over :data:`MAX_MESSAGE_BYTES`."""
    kind = _KIND_OF.get(type(message))
    if kind is None:
        raise EncodeError(f"expected a link message ({', '.join(k.__name__ for k in _KIND_OF)}), got {message!r}")
    if kind is Kind.TELEMETRY:
        assert isinstance(message, TelemetryPacket)
        samples = message.samples
        body: list[Any] = [
            kind,
            message.seq,
            message.t,
            [s[0] for s in samples],
            [s[1] for s in samples],
            [s[2] for s in samples],
        ]
    else:
        body = [kind, *_FIELDS_OF[type(message)](message)]
    return [pack(body, _WHAT[kind])]


def pack(body: Any, what: str) -> bytes:
    """msgpack ``body``; non-msgpack values (enums, paths) become their ``str``. Raises EncodeError."""
    try:
        data = msgpack.packb(body, use_bin_type=True, default=str)
    except (TypeError, ValueError, OverflowError) as exc:
        raise EncodeError(f"{what}: cannot encode with msgpack: {exc}") from exc
    if len(data) > MAX_MESSAGE_BYTES:
        raise EncodeError(f"{what}: {len(data)} bytes, over the {MAX_MESSAGE_BYTES}-byte limit")
    return data


def encode_telemetry(seq: int, t: float, names: list[str], times: list[float], values: list[Any]) -> bytes:
    """One telemetry packet frame straight from its columns (the flight hot path)."""
    return pack([Kind.TELEMETRY, seq, t, names, times, values], "telemetry message")


# --------------------------------------------------------------------------------------------- decode
def decode(frames: Sequence[bytes | memoryview | Any], max_bytes: int = MAX_MESSAGE_BYTES) -> Message:
    """The message carried by ``frames`` (the payload frames, routing id removed), at most ``max_bytes``
    long (flight passes :data:`MAX_UPLINK_BYTES` for what ground sends).

    Raises :class:`MalformedMessage` — naming what was wrong and what was expected — for anything that
    is not exactly one frame holding a message of this schema, or that holds an integer, length, size or
    nesting depth out of bounds; never anything else.
    """
    try:
        return _decode(frames, max_bytes)
    except MalformedMessage:
        raise
    except Exception as exc:  # the declared error only, whatever the bytes were
        raise MalformedMessage(f"undecodable message: {type(exc).__name__}: {exc}") from exc


def _decode(frames: Sequence[Any], max_bytes: int) -> Message:
    if not isinstance(frames, (list, tuple)) or len(frames) != 1:
        count = len(frames) if isinstance(frames, (list, tuple)) else type(frames).__name__
        raise MalformedMessage(f"expected exactly 1 payload frame, got {count}")
    frame = frames[0]
    if not isinstance(frame, (bytes, bytearray, memoryview)):
        frame = getattr(frame, "bytes", frame)
    if not isinstance(frame, (bytes, bytearray, memoryview)):
        raise MalformedMessage(f"expected a bytes frame, got {type(frame).__name__}")
    size = len(frame)
    if size > max_bytes:
        raise MalformedMessage(f"message of {size} bytes is over the {max_bytes}-byte limit")
    if size == 0:
        raise MalformedMessage("expected a msgpack array, got an empty frame")
    try:
        body = msgpack.unpackb(frame, raw=False, strict_map_key=True, use_list=True, **_LIMITS)
    except Exception as exc:
        raise MalformedMessage(f"expected msgpack data: {type(exc).__name__}: {exc}") from exc
    return _message(body)


def decode_batch(frame: bytes | memoryview | Any) -> list[Message]:
    """The messages of one batch frame (flight → ground: several messages back to back in one frame).

    Raises :class:`MalformedMessage` — and nothing else — if the frame is over :data:`MAX_BATCH_BYTES` or any
    part of it is not a message of this schema (the whole frame is then dropped).
    """
    try:
        if not isinstance(frame, (bytes, bytearray, memoryview)):
            frame = getattr(frame, "bytes", frame)
        if not isinstance(frame, (bytes, bytearray, memoryview)) or not len(frame):
            raise MalformedMessage(f"expected a non-empty bytes frame, got {_describe(frame)}")
        if len(frame) > MAX_BATCH_BYTES:
            raise MalformedMessage(f"batch of {len(frame)} bytes is over the {MAX_BATCH_BYTES}-byte limit")
        unpacker = msgpack.Unpacker(
            raw=False, strict_map_key=True, use_list=True, max_buffer_size=MAX_BATCH_BYTES, **_LIMITS
        )
        unpacker.feed(frame)
        messages = []
        end = 0
        for body in unpacker:
            messages.append(_message(body))
            end = unpacker.tell()  # after a whole message (tell() also counts a truncated tail)
        if end != len(frame):
            raise MalformedMessage(f"batch truncated: {len(frame) - end} bytes after the last whole message")
        return messages
    except MalformedMessage:
        raise
    except Exception as exc:  # the declared error only, whatever the bytes were
        raise MalformedMessage(f"undecodable batch: {type(exc).__name__}: {exc}") from exc


#: msgpack's own bounds, checked while it parses (before any Python object of that size exists).
_LIMITS = {
    "max_str_len": MAX_MESSAGE_BYTES,
    "max_bin_len": 0,
    "max_ext_len": 0,
    "max_array_len": MAX_ITEMS,
    "max_map_len": MAX_ITEMS,
}


def _message(body: Any) -> Message:
    if type(body) is not list or not body:
        raise MalformedMessage(f"expected a non-empty msgpack array [kind, ...], got {_describe(body)}")
    code = body[0]
    if type(code) is not int or code not in _DECODERS:
        raise MalformedMessage(f"expected a message kind among {sorted(int(k) for k in Kind)}, got {_describe(code)}")
    decoder, arity = _DECODERS[code]
    if len(body) != arity + 1:
        raise MalformedMessage(f"{Kind(code).name.lower()} message: expected {arity} fields, got {len(body) - 1}")
    return decoder(body)


def _describe(value: Any) -> str:
    """A short description of ``value`` (type and a 60-character start), bounded in time however big it is."""
    if isinstance(value, (list, dict)):
        return f"{type(value).__name__} of {len(value)} items"
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        text = repr(value[:61])
        return f"{type(value).__name__} of {len(value)} {text[:60]}{'...' if len(value) > 60 else ''}"
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def _int(value: Any, what: str, lo: int = 0) -> int:
    if type(value) is not int or not lo <= value <= MAX_INT:
        raise MalformedMessage(f"{what}: expected an integer {lo}..2^63-1, got {_describe(value)}")
    return value


def _float(value: Any, what: str) -> float:
    if type(value) is float:
        if math.isnan(value):
            raise MalformedMessage(f"{what}: expected a number, got NaN")
        return value
    if type(value) is int:
        return float(value)
    raise MalformedMessage(f"{what}: expected a number, got {_describe(value)}")


def _str(value: Any, what: str, limit: int = MAX_NAME_CHARS) -> str:
    if type(value) is not str or len(value) > limit:
        raise MalformedMessage(f"{what}: expected a string of at most {limit} characters, got {_describe(value)}")
    return value


def _bool(value: Any, what: str) -> bool:
    if type(value) is not bool:
        raise MalformedMessage(f"{what}: expected true or false, got {_describe(value)}")
    return value


def _value(value: Any, what: str, depth: int = 0) -> Any:
    """A free-form value: scalars, nil, arrays and string-keyed maps, at most MAX_DEPTH deep."""
    kind = type(value)
    if kind is int and not -MAX_INT - 1 <= value <= MAX_INT:
        raise MalformedMessage(f"{what}: expected an integer that fits 64 signed bits, got {_describe(value)}")
    if value is None or kind in _SCALARS:
        return value
    if depth >= MAX_DEPTH:
        raise MalformedMessage(f"{what}: nested deeper than {MAX_DEPTH} levels")
    if kind is list:
        for item in value:
            _value(item, what, depth + 1)
        return value
    if kind is dict:
        for key, item in value.items():
            _value(item, f"{what}.{key}", depth + 1)
        return value
    raise MalformedMessage(f"{what}: expected nil, bool, int, float, str, array or map, got {_describe(value)}")


def _map(value: Any, what: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise MalformedMessage(f"{what}: expected a map, got {_describe(value)}")
    _value(value, what)
    return value


def _hello(body: list[Any]) -> Hello:
    return Hello(
        _int(body[1], "hello.version"),
        _int(body[2], "hello.resume_after"),
        _int(body[3], "hello.status_after"),
        _int(body[4], "hello.window", lo=1),
        _bool(body[5], "hello.want_dictionary"),
        _bool(body[6], "hello.archive"),
    )


def _welcome(body: list[Any]) -> Welcome:
    return Welcome(
        _int(body[1], "welcome.version"),
        _str(body[2], "welcome.client"),
        _str(body[3], "welcome.role"),
        _int(body[4], "welcome.last_counter"),
        _str(body[5], "welcome.flight"),
        _str(body[6], "welcome.boot_id"),
        _float(body[7], "welcome.light_time_s"),
        _float(body[8], "welcome.heartbeat_s"),
        _int(body[9], "welcome.resume_seq"),
        _int(body[10], "welcome.resume_sseq"),
    )


def _dictionary(body: list[Any]) -> DictionaryMessage:
    return DictionaryMessage(_map(body[1], "dictionary"))


_SAMPLE_TYPES = frozenset(_SCALARS)
_TIME_TYPES = frozenset((float, int))


def _telemetry(body: list[Any]) -> TelemetryPacket:
    seq = _int(body[1], "telemetry.seq", lo=1)
    t = _float(body[2], "telemetry.t")
    names, times, values = body[3], body[4], body[5]
    if type(names) is not list or type(times) is not list or type(values) is not list:
        raise MalformedMessage("telemetry: expected three arrays (channels, times, values)")
    if not len(names) == len(times) == len(values):
        raise MalformedMessage(
            f"telemetry: expected arrays of one length, got {len(names)} channels, {len(times)} times, "
            f"{len(values)} values"
        )
    if names and set(map(type, names)) != {str}:
        raise MalformedMessage("telemetry: expected every channel name to be a string")
    if times and not set(map(type, times)) <= _TIME_TYPES:
        raise MalformedMessage("telemetry: expected every sample time to be a number")
    if values:
        types = set(map(type, values))
        if not types <= _SAMPLE_TYPES:
            raise MalformedMessage("telemetry: expected every value to be a bool, int, float or str")
        if int in types and any(type(v) is int and not -MAX_INT - 1 <= v <= MAX_INT for v in values):
            raise MalformedMessage("telemetry: expected every integer value to fit 64 signed bits")
    return TelemetryPacket(seq, t, list(zip(names, times, values, strict=True)))


def _event(body: list[Any]) -> EventPacket:
    seq = _int(body[1], "event.seq", lo=1)
    event = _map(body[2], "event")
    _check_fields(event, EVENT_FIELDS, "event")
    if event["severity"] not in SEVERITIES:
        raise MalformedMessage(f"event.severity: expected one of {list(SEVERITIES)}, got {event['severity']!r}")
    return EventPacket(seq, event)


def _check_fields(record: dict[str, Any], spec: Mapping[str, type | None], what: str) -> None:
    for name, kind in spec.items():
        if name not in record:
            raise MalformedMessage(f"{what}: expected field {name!r}; fields are {sorted(spec)}")
        value = record[name]
        if kind is float:
            _float(value, f"{what}.{name}")
        elif kind is None:
            if value is not None:
                _float(value, f"{what}.{name}")
        elif type(value) is not kind:
            raise MalformedMessage(f"{what}.{name}: expected {kind.__name__}, got {_describe(value)}")


def _command(body: list[Any]) -> Command:
    command_id = _str(body[1], "command.id")
    if not command_id:
        raise MalformedMessage("command.id: expected a non-empty string")
    counter = _int(body[2], "command.counter", lo=1)
    name = _str(body[3], "command.name")
    args = body[4]
    if type(args) is not dict:
        raise MalformedMessage(f"command.args: expected a map of argument name to value, got {_describe(args)}")
    if len(args) > MAX_ARGS:
        raise MalformedMessage(f"command.args: expected at most {MAX_ARGS} arguments, got {len(args)}")
    for key, value in args.items():
        _str(key, "command.args key")
        kind = type(value)
        if kind not in _SAMPLE_TYPES:
            raise MalformedMessage(f"command.args.{key}: expected a bool, int, float or str, got {_describe(value)}")
        if kind is str and len(value) > MAX_ARG_CHARS:
            raise MalformedMessage(f"command.args.{key}: expected at most {MAX_ARG_CHARS} characters, got {len(value)}")
        if kind is int and not -MAX_INT - 1 <= value <= MAX_INT:
            raise MalformedMessage(f"command.args.{key}: expected an integer that fits 64 signed bits, got {value}")
    return Command(command_id, counter, name, args)


def _status(body: list[Any]) -> StatusPacket:
    sseq = _int(body[1], "status.sseq", lo=1)
    status = _map(body[2], "status")
    _check_fields(status, STATUS_FIELDS, "status")
    if status["stage"] not in STAGES:
        raise MalformedMessage(f"status.stage: expected one of {list(STAGES)}, got {status['stage']!r}")
    return StatusPacket(sseq, status)


def _ack(body: list[Any]) -> Ack:
    return Ack(_int(body[1], "ack.seq"), _int(body[2], "ack.sseq"), _int(body[3], "ack.window", lo=1))


def _heartbeat(body: list[Any]) -> Heartbeat:
    return Heartbeat(
        _float(body[1], "heartbeat.t"), _float(body[2], "heartbeat.echo"), _int(body[3], "heartbeat.spool_depth")
    )


def _reject(body: list[Any]) -> Reject:
    return Reject(
        _str(body[1], "reject.reason"),
        _str(body[2], "reject.message", limit=4096),
        _str(body[3], "reject.command_id"),
        _int(body[4], "reject.counter"),
    )


_DECODERS: dict[int, tuple[Callable[[list[Any]], Message], int]] = {
    Kind.HELLO: (_hello, 6),
    Kind.WELCOME: (_welcome, 10),
    Kind.DICTIONARY: (_dictionary, 1),
    Kind.TELEMETRY: (_telemetry, 5),
    Kind.EVENT: (_event, 2),
    Kind.COMMAND: (_command, 4),
    Kind.STATUS: (_status, 2),
    Kind.ACK: (_ack, 3),
    Kind.HEARTBEAT: (_heartbeat, 3),
    Kind.REJECT: (_reject, 4),
}
